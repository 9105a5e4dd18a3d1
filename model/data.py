"""Training data: chips from simulated scenes, cached on disk, augmented on the fly.

Each chip is one small scene from ``catalog.simulate`` rendered at a random source pixel size
(40-250 m by default, log-uniform) and resampled to the working resolution (80 m), the way a real
product reaches the pipeline at 80 m from whatever it was. Slick counts are drawn per chip so that
most chips hold oil of several classes and about one in six holds none (a hard negative: only
look-alikes, ships and clutter); look-alikes are drawn in every chip of every split. Land and
nodata become NaN exactly as the pipeline's prepare step makes them.

Chips are cached under ``<data_dir>/model-chips/<split>-<key>/<seed>.npz`` so reruns skip the
simulator; the key hashes the recipe and the simulator's source, so a changed simulator makes new
chips. Splits use disjoint seed ranges (train, validation, test).

Augmentation (training only): flips and right-angle rotations, a random crop centred on oil half
the time (class balancing), a calibration gain (±dB), an incidence-like linear trend, a contrast
(wind) scale about the chip mean, extra speckle, and a random nodata half-plane.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from affine import Affine
from torch.utils.data import DataLoader, Dataset

from model.card import write_atomic
from model.errors import TrainingDataError

logger = logging.getLogger(__name__)

SPLIT_SEED_BASE = {"train": 1_000_000, "val": 2_000_000, "test": 3_000_000}
"""First simulator seed of each split; splits never share a seed."""

IGNORE = 255
"""Label of pixels that do not count in the loss (nodata, land)."""

CACHE_VERSION = 2
"""Bump when the way chips are made changes, so stale caches are not reused."""


@dataclass(frozen=True)
class ChipRecipe:
    """How the chips of one split are drawn; its hash names the cache folder."""

    size: int = 256
    """Chip edge at the working resolution (pixels)."""
    resolution_m: float = 80.0
    """Working resolution (metres)."""
    source_pixel_m: tuple[float, float] = (40.0, 250.0)
    """Range of simulated pixel sizes (metres), drawn log-uniform, resampled to ``resolution_m``."""
    negative_share: float = 0.17
    """Share of chips asked for no slick at all (hard negatives)."""
    max_per_class: int = 2
    """Most slicks of one class asked for in a chip."""

    def key(self) -> str:
        """Short hash of the recipe, the cache version and the simulator's source code."""
        text = json.dumps(
            {**asdict(self), "v": CACHE_VERSION, "simulator": simulator_fingerprint()},
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def simulator_fingerprint() -> str:
    """SHA-256 of the simulator's source files: a changed simulator makes new chips."""
    import catalog.simulate

    digest = hashlib.sha256()
    for path in sorted(Path(catalog.simulate.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Chip:
    """One simulated chip at the working resolution."""

    vv_db: np.ndarray
    """VV sigma0 in dB, float32, NaN on land and nodata."""
    vh_db: np.ndarray
    """VH sigma0 in dB, float32, NaN on land and nodata."""
    classes: np.ndarray
    """uint8: 0 background, 1 INFRA, 2 NATURAL, 3 VESSEL."""
    lookalike: np.ndarray
    """bool: look-alike dark features."""
    seed: int
    """Simulator seed."""
    source_pixel_m: float
    """Pixel size it was simulated at (metres)."""

    @property
    def valid(self) -> np.ndarray:
        """bool: sea with data."""
        return np.isfinite(self.vv_db)


def _resample(
    values: np.ndarray, *, src_px: float, dst_px: float, shape: tuple[int, int], kind: str
) -> np.ndarray:
    """Resample a north-up raster between pixel sizes with rasterio (GDAL's warper).

    ``kind``: ``"sigma0"`` (average when shrinking, bilinear when enlarging; NaN is nodata) or
    ``"fraction"`` (a 0/1 or 0..1 mask, same rules, giving the covered fraction).
    """
    from rasterio.crs import CRS
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    crs = CRS.from_epsg(32631)  # any projected CRS: source and destination share it
    src = values.astype(np.float32)
    dst = np.full(shape, np.nan, dtype=np.float32)
    method = Resampling.average if src_px < dst_px else Resampling.bilinear
    reproject(
        src,
        dst,
        src_transform=Affine(src_px, 0, 0, 0, -src_px, 0),
        src_crs=crs,
        dst_transform=Affine(dst_px, 0, 0, 0, -dst_px, 0),
        dst_crs=crs,
        resampling=method,
        src_nodata=np.nan if kind == "sigma0" else None,
        dst_nodata=np.nan,
    )
    return dst


def draw_slicks(rng: np.random.Generator, recipe: ChipRecipe) -> dict[str, int]:
    """Slick counts for one chip: none at all for ``negative_share`` of chips, else at least one."""
    if rng.random() < recipe.negative_share:
        return {"VESSEL": 0, "INFRA": 0, "NATURAL": 0}
    while True:
        counts = {
            c: int(rng.integers(0, recipe.max_per_class + 1))
            for c in ("VESSEL", "INFRA", "NATURAL")
        }
        if sum(counts.values()):
            return counts


def make_chip(seed: int, recipe: ChipRecipe) -> Chip:
    """Simulate one chip and bring it to the working resolution."""
    try:
        from catalog.simulate import SimulationConfig, simulate
        from catalog.simulate.render import LABEL_CONTRAST_DB
    except ImportError as exc:  # pragma: no cover - the simulator ships with catalog
        raise TrainingDataError(
            f"the simulator (catalog.simulate) cannot be imported: {exc}. Install slickwatch fully."
        ) from exc
    rng = np.random.default_rng([seed, 7])
    lo, hi = recipe.source_pixel_m
    src_px = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    # simulate a few pixels more than needed so the resampled chip has no empty edge
    n_src = math.ceil(recipe.size * recipe.resolution_m / src_px) + 2
    scene = simulate(
        SimulationConfig(
            seed=seed,
            shape=(n_src, n_src),
            pixel_size=src_px,
            geometry="utm",
            slicks=draw_slicks(rng, recipe),
            lookalikes=True,
        )
    )
    shape = (recipe.size, recipe.size)
    dst_px = recipe.resolution_m
    usable = scene.valid & ~scene.land

    def sigma0(band: np.ndarray) -> np.ndarray:
        return _resample(
            np.where(usable, band, np.nan), src_px=src_px, dst_px=dst_px, shape=shape, kind="sigma0"
        )

    def fraction(mask: np.ndarray) -> np.ndarray:
        return _resample(
            mask.astype(np.float32), src_px=src_px, dst_px=dst_px, shape=shape, kind="fraction"
        )

    valid = fraction(usable) >= 0.5
    vv = np.where(valid, sigma0(scene.vv), np.nan)
    vh = np.where(valid, sigma0(scene.vh), np.nan)
    # the simulator's labelling rule applied at the working resolution: a working pixel is oil
    # when the slicks in it darken it by LABEL_CONTRAST_DB or more (the mean of the power the
    # source pixels keep), so a slick narrower than a working pixel is labelled only where it
    # still shows at 80 m; the class darkening most of the pixel wins
    kept = fraction(scene.oil_power)
    with np.errstate(divide="ignore", invalid="ignore"):
        visible = -10 * np.log10(kept) >= LABEL_CONTRAST_DB
    shares = np.stack([fraction(scene.oil_class == c) for c in (1, 2, 3)])
    classes = np.where(visible & valid, shares.argmax(axis=0) + 1, 0).astype(np.uint8)
    lookalike = (fraction(scene.lookalike) >= 0.5) & valid & (classes == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        vv_db = np.where(vv > 0, 10 * np.log10(vv), np.nan).astype(np.float32)
        vh_db = np.where(vh > 0, 10 * np.log10(vh), np.nan).astype(np.float32)
    return Chip(vv_db, vh_db, classes, lookalike, seed, src_px)


def _save_chip(chip: Chip, path: Path) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        vv_db=chip.vv_db.astype(np.float16),
        vh_db=chip.vh_db.astype(np.float16),
        classes=chip.classes,
        lookalike=chip.lookalike,
        meta=np.array([chip.seed, chip.source_pixel_m], dtype=np.float64),
    )
    write_atomic(path, buffer.getvalue())


def _load_chip(path: Path) -> Chip:
    try:
        with np.load(path) as data:
            return Chip(
                data["vv_db"].astype(np.float32),
                data["vh_db"].astype(np.float32),
                data["classes"],
                data["lookalike"],
                int(data["meta"][0]),
                float(data["meta"][1]),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise TrainingDataError(
            f"cached chip {path} is unreadable ({exc}): delete it to remake it."
        ) from exc


def _make_and_save(args: tuple[int, ChipRecipe, str]) -> str:
    seed, recipe, path = args
    _save_chip(make_chip(seed, recipe), Path(path))
    return path


def split_seeds(split: str, count: int) -> list[int]:
    """Simulator seeds of a split."""
    if split not in SPLIT_SEED_BASE:
        raise TrainingDataError(f"split {split!r} unknown: use one of {sorted(SPLIT_SEED_BASE)}.")
    return [SPLIT_SEED_BASE[split] + i for i in range(count)]


def load_split(
    data_dir: str | Path,
    split: str,
    count: int,
    recipe: ChipRecipe,
    *,
    workers: int = 1,
    progress: bool = False,
) -> list[Chip]:
    """The chips of a split, simulated on first use and cached on disk afterwards."""
    folder = Path(data_dir) / "model-chips" / f"{split}-{recipe.key()}"
    folder.mkdir(parents=True, exist_ok=True)
    recipe_file = folder / "recipe.json"
    if not recipe_file.exists():
        write_atomic(recipe_file, json.dumps(asdict(recipe), indent=2).encode())
    seeds = split_seeds(split, count)
    paths = {s: folder / f"{s}.npz" for s in seeds}
    todo = [(s, recipe, str(p)) for s, p in paths.items() if not p.exists()]
    if todo:
        logger.info("simulating %d %s chips into %s", len(todo), split, folder)
        _run_all(todo, workers=workers, progress=progress, label=f"simulating {split} chips")
    return [_load_chip(paths[s]) for s in seeds]


def _run_all(todo: list, *, workers: int, progress: bool, label: str) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc=label, disable=not progress)
    try:
        if workers <= 1:
            for item in todo:
                _make_and_save(item)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(_make_and_save, todo, chunksize=4):
                    bar.update()
    finally:
        bar.close()


@dataclass(frozen=True)
class Augment:
    """Random changes to a training chip, in dB before normalization."""

    crop: int = 192
    """Edge of the training crop (pixels)."""
    oil_centred: float = 0.5
    """Share of crops centred on a random oil pixel when the chip has oil."""
    gain_db: float = 4.0
    """Calibration gain drawn in ±gain_db."""
    trend_db: float = 2.0
    """Linear trend across the crop drawn in ±trend_db (incidence, antenna pattern)."""
    contrast: tuple[float, float] = (0.75, 1.3)
    """Scale of deviations from the crop mean (wind: stronger wind, stronger contrast)."""
    speckle_p: float = 0.4
    """Probability of extra multiplicative speckle."""
    speckle_looks: tuple[float, float] = (4.0, 40.0)
    """Equivalent number of looks of that speckle."""
    nodata_p: float = 0.1
    """Probability of a random nodata half-plane (swath edge)."""


class ChipDataset(Dataset):
    """Chips as ``(x [layers, h, w] float32 normalized, y [h, w] int64)`` with NaN -> 0 and
    ignored labels where there is no data."""

    def __init__(
        self,
        chips: Sequence[Chip],
        *,
        layers: Sequence[str],
        normalization: dict[str, tuple[float, float]],
        augment: Augment | None = None,
        seed: int = 0,
        epoch_size: int | None = None,
    ) -> None:
        self.chips = list(chips)
        self.layers = list(layers)
        self.normalization = normalization
        self.augment = augment
        self.seed = seed
        self.epoch_size = epoch_size or len(self.chips)
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Vary the augmentation draws between epochs (deterministically)."""
        self._epoch = epoch

    def __len__(self) -> int:
        return self.epoch_size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        chip = self.chips[index % len(self.chips)]
        planes = [chip.vv_db if layer.startswith("VV") else chip.vh_db for layer in self.layers]
        for layer in self.layers:
            if not layer.endswith("_DB"):
                raise TrainingDataError(f"training supports dB layers only, not {layer!r}.")
        x = np.stack(planes).astype(np.float32)
        y = chip.classes.astype(np.int64)
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self._epoch, index])
            x, y = _augment(x, y, rng, self.augment)
        nodata = ~np.isfinite(x).all(axis=0)
        for i, layer in enumerate(self.layers):
            mean, std = self.normalization[layer]
            x[i] = (x[i] - mean) / std
        x = np.where(np.isfinite(x), x, 0.0).astype(np.float32)
        y = np.where(nodata, IGNORE, y)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def _augment(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, aug: Augment
) -> tuple[np.ndarray, np.ndarray]:
    h, w = y.shape
    c = min(aug.crop, h, w)
    oil = np.argwhere(y > 0)
    if len(oil) and rng.random() < aug.oil_centred:
        cy, cx = oil[rng.integers(len(oil))]
        r0 = int(np.clip(cy - c // 2 + rng.integers(-c // 4, c // 4 + 1), 0, h - c))
        c0 = int(np.clip(cx - c // 2 + rng.integers(-c // 4, c // 4 + 1), 0, w - c))
    else:
        r0, c0 = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
    x = x[:, r0 : r0 + c, c0 : c0 + c].copy()
    y = y[r0 : r0 + c, c0 : c0 + c].copy()
    k = int(rng.integers(4))
    x, y = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k)
    if rng.random() < 0.5:
        x, y = x[:, :, ::-1], y[:, ::-1]
    x = x.copy()
    mean = np.nanmean(x, axis=(1, 2), keepdims=True) if np.isfinite(x).any() else 0.0
    x = mean + (x - mean) * rng.uniform(*aug.contrast)
    x += rng.uniform(-aug.gain_db, aug.gain_db)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:c, 0:c] / c - 0.5
    x += rng.uniform(-aug.trend_db, aug.trend_db) * (np.cos(angle) * xx + np.sin(angle) * yy)
    if rng.random() < aug.speckle_p:
        looks = rng.uniform(*aug.speckle_looks)
        x += 10 * np.log10(rng.gamma(looks, 1 / looks, size=x.shape))
    if rng.random() < aug.nodata_p:
        a = rng.uniform(0, 2 * np.pi)
        cut = (np.cos(a) * xx + np.sin(a) * yy) > rng.uniform(0.1, 0.45)
        x[:, cut] = np.nan
    return x.astype(np.float32), np.ascontiguousarray(y)


def layer_statistics(
    chips: Sequence[Chip], layers: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Mean and std (dB) of each layer over the valid pixels of the chips."""
    stats = {}
    for layer in layers:
        values = np.concatenate(
            [(c.vv_db if layer.startswith("VV") else c.vh_db)[c.valid] for c in chips]
        )
        stats[layer] = (float(values.mean()), float(values.std()))
    return stats


def class_frequencies(chips: Sequence[Chip], n_classes: int = 4) -> np.ndarray:
    """Share of valid pixels in each class."""
    counts = np.zeros(n_classes, dtype=np.float64)
    for c in chips:
        counts += np.bincount(c.classes[c.valid], minlength=n_classes)[:n_classes]
    return counts / max(counts.sum(), 1.0)


class SlickDataModule(L.LightningDataModule):
    """Train, validation and test chips from the simulator, for Lightning.

    Args:
        data_dir: folder for the chip cache (``<data_dir>/model-chips``).
        layers: input layers (dB layers).
        train_chips, val_chips, test_chips: chips per split.
        recipe: how training and validation chips are drawn.
        test_recipe: how test chips are drawn (default: ``recipe``).
        augment: training augmentation.
        batch_size: chips per batch.
        seed: seed of the augmentation and the shuffling.
        workers: processes simulating chips (1: in process).
        normalization: per-layer (mean, std) in dB; ``None``: measured on the training chips.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        layers: Sequence[str] = ("VV_DB",),
        train_chips: int = 1000,
        val_chips: int = 96,
        test_chips: int = 192,
        recipe: ChipRecipe | None = None,
        test_recipe: ChipRecipe | None = None,
        augment: Augment | None = None,
        batch_size: int = 16,
        seed: int = 0,
        workers: int = 1,
        normalization: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.layers = tuple(layers)
        self.train_chips, self.val_chips, self.test_chips = train_chips, val_chips, test_chips
        self.recipe = recipe or ChipRecipe()
        self.test_recipe = test_recipe
        self.augment = augment or Augment()
        self.batch_size = batch_size
        self.seed = seed
        self.workers = workers
        self.normalization = normalization
        self.train_set: ChipDataset | None = None
        self._train: list[Chip] | None = None
        self._val: list[Chip] | None = None
        self._test: list[Chip] | None = None

    def prepare_data(self) -> None:
        """Simulate and cache every chip that is not cached yet."""
        self.chips("train")
        self.chips("val")

    def chips(self, split: str) -> list[Chip]:
        """The chips of one split (loaded once)."""
        attr = f"_{split}"
        if getattr(self, attr, None) is None:
            count = {"train": self.train_chips, "val": self.val_chips, "test": self.test_chips}[
                split
            ]
            recipe = (self.test_recipe or self.recipe) if split == "test" else self.recipe
            setattr(
                self,
                attr,
                load_split(
                    self.data_dir, split, count, recipe, workers=self.workers, progress=True
                ),
            )
        return getattr(self, attr)

    def setup(self, stage: str | None = None) -> None:
        if self.normalization is None:
            self.normalization = layer_statistics(self.chips("train"), self.layers)

    def _dataset(self, split: str, augment: Augment | None) -> ChipDataset:
        self.setup()
        assert self.normalization is not None
        return ChipDataset(
            self.chips(split),
            layers=self.layers,
            normalization=self.normalization,
            augment=augment,
            seed=self.seed,
        )

    def train_dataloader(self) -> DataLoader:
        dataset = self.train_set = self._dataset("train", self.augment)
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=True,
            generator=generator,
            num_workers=0,
            drop_last=True,
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self._dataset("val", None), batch_size=self.batch_size, num_workers=0)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self._dataset("test", None), batch_size=self.batch_size, num_workers=0)


def default_workers() -> int:
    """Processes for simulating chips: the machine's cores."""
    return max(1, os.cpu_count() or 1)
