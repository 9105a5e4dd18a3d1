"""Train a model end to end: chips, Lightning fit, thresholds, test metrics, export.

``train(TrainConfig(...))`` is what ``slickwatch model train`` runs. It is seeded (Lightning's
``seed_everything`` and deterministic algorithms), so the same config on the same machine gives
the same weights; stopping early with ``max_minutes`` trades that for a bounded duration.
Checkpoints go to ``<data_dir>/model-runs/<name>-<version>/checkpoints`` (``last.ckpt`` to resume,
the best by validation oil IoU to export); the model folder gets only the exported files.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.card import ModelCard, Thresholds
from model.data import Augment, ChipRecipe, SlickDataModule, class_frequencies
from model.evaluate import predict_chips, score_test_sets, tune_thresholds
from model.export import export_model
from model.lightning import SlickSegmenter, class_weights
from model.network import NetworkConfig
from model.predictor import Predictor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run."""

    data_dir: Path
    """Folder of the chip cache and the run's checkpoints."""
    out_dir: Path
    """Model folder to write (weights, TorchScript, ``card.json``)."""
    name: str = "slickwatch-unet"
    """Model name."""
    version: str = "1"
    """Model version."""
    seed: int = 0
    """Seed of initialization, shuffling and augmentation."""
    layers: tuple[str, ...] = ("VV_DB",)
    """Input layers."""
    widths: tuple[int, ...] = (16, 32, 64)
    """Channels per U-Net level (the finest at half resolution, see ``stem``)."""
    stem: int = 2
    """Space-to-depth factor before the U-Net (1: none)."""
    refine: int = 0
    """Channels of the full-resolution refinement (0: none)."""
    local_contrast_px: int = 0
    """Radius of the local-contrast input channel (pixels; 0: none)."""
    train_chips: int = 1000
    """Training chips (256 px at 80 m, i.e. 20 km squares)."""
    val_chips: int = 96
    """Validation chips (checkpoint choice and thresholds)."""
    test_chips: int = 192
    """Test chips, per test set."""
    recipe: ChipRecipe = field(default_factory=ChipRecipe)
    """How training and validation chips are drawn."""
    batch_size: int = 8
    """Chips per step."""
    crop: int = 160
    """Training crop edge (pixels)."""
    oil_centred: float = 0.7
    """Share of training crops centred on oil (when the chip has oil)."""
    max_steps: int = 4000
    """Optimizer steps."""
    max_minutes: float | None = None
    """Stop training after this long (wall clock) even if steps remain."""
    lr: float = 5e-3
    """Peak learning rate."""
    workers: int = 2
    """Processes simulating chips."""
    threads: int = 1
    """Torch threads for training. One: on this shared 2-core machine a step took 0.31 CPU-s
    (0.58 s wall) with one thread and 1.74 CPU-s (2.8 s wall) with two, whose OpenMP threads
    spin against the other processes; use more on a machine of your own."""
    resume: bool = False
    """Continue from the run's ``last.ckpt``."""

    @property
    def run_dir(self) -> Path:
        """Folder of this run's checkpoints and logs."""
        return Path(self.data_dir) / "model-runs" / f"{self.name}-{self.version}"


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _command() -> str:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]]
    return shlex.join(argv)


def train(config: TrainConfig, *, progress: bool = True) -> ModelCard:
    """Train, pick thresholds on validation chips, score the test sets, export; return the card."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    started = time.time()
    torch.set_num_threads(config.threads)
    L.seed_everything(config.seed, workers=True)
    dm = SlickDataModule(
        config.data_dir,
        layers=config.layers,
        train_chips=config.train_chips,
        val_chips=config.val_chips,
        test_chips=config.test_chips,
        recipe=config.recipe,
        augment=Augment(crop=config.crop, oil_centred=config.oil_centred),
        batch_size=config.batch_size,
        seed=config.seed,
        workers=config.workers,
    )
    dm.prepare_data()
    dm.setup()
    data_seconds = time.time() - started
    freq = class_frequencies(dm.chips("train"))
    network = NetworkConfig(
        in_layers=len(config.layers),
        widths=config.widths,
        stem=config.stem,
        refine=config.refine,
        local_contrast_px=config.local_contrast_px,
    )
    module = SlickSegmenter(
        network=network.as_dict(), class_weights=class_weights(freq), lr=config.lr
    )
    run_dir = config.run_dir
    if not config.resume:
        # a fresh run must not resume from, or pick the "best" of, an earlier run's checkpoints
        for stale in sorted((run_dir / "checkpoints").glob("*.ckpt")):
            logger.info("removing %s of an earlier run (use --resume to continue it)", stale)
            stale.unlink()
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best-{step}-{val_oil_iou:.4f}",
        monitor="val_oil_iou",
        mode="max",
        save_last=True,
    )
    steps_per_epoch = max(config.train_chips // config.batch_size, 1)
    trainer = L.Trainer(
        accelerator="cpu" if not torch.cuda.is_available() else "auto",
        devices=1,
        max_steps=config.max_steps,
        max_epochs=-1,
        max_time={"minutes": config.max_minutes} if config.max_minutes else None,
        deterministic=True,
        default_root_dir=run_dir,
        callbacks=[checkpoint],
        logger=CSVLogger(run_dir, name="logs"),
        enable_progress_bar=progress,
        log_every_n_steps=min(10, steps_per_epoch),
        num_sanity_val_steps=0,
        enable_model_summary=progress,
    )
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    fit_started, cpu_started = time.time(), _cpu_seconds()
    trainer.fit(
        module, datamodule=dm, ckpt_path=str(ckpt) if config.resume and ckpt.exists() else None
    )
    fit_seconds, fit_cpu = time.time() - fit_started, _cpu_seconds() - cpu_started
    best_path = checkpoint.best_model_path or checkpoint.last_model_path
    if best_path:
        state = torch.load(best_path, map_location="cpu", weights_only=False)["state_dict"]
        module.load_state_dict(state)
    net = module.net.cpu().eval()
    assert dm.normalization is not None

    lo, hi = config.recipe.source_pixel_m
    training: dict[str, Any] = {
        "command": _command(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "data": (
            f"{config.train_chips} training and {config.val_chips} validation chips of "
            f"{config.recipe.size} px at {config.recipe.resolution_m:g} m from catalog.simulate, "
            f"simulated at {lo:g}-{hi:g} m (log-uniform) and resampled; look-alikes in every chip, "
            f"{config.recipe.negative_share:.0%} chips without oil"
        ),
        "class_frequencies": [round(float(f), 6) for f in freq],
        "steps": int(trainer.global_step),
        "best_checkpoint": Path(best_path).name if best_path else None,
        "best_val_oil_iou": float(checkpoint.best_model_score)
        if checkpoint.best_model_score is not None
        else None,
        "minutes_simulating": round(data_seconds / 60, 1),
        "minutes_training": round(fit_seconds / 60, 1),
        "cpu_minutes_training": round(fit_cpu / 60, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} training thread(s)",
    }
    card = export_model(
        net,
        config.out_dir,
        name=config.name,
        version=config.version,
        layers=list(config.layers),
        normalization=dm.normalization,
        thresholds=Thresholds(seed=0.7, grow=0.4, min_area_px=8),
        training=training,
    )
    return finish_card(card, dm, progress=progress)


def finish_card(card: ModelCard, dm: SlickDataModule, *, progress: bool = True) -> ModelCard:
    """Tune the card's thresholds on the validation chips and score both test sets on it."""
    from model.export import load_network

    predictor = Predictor(card, load_network(card))
    val = dm.chips("val")
    thresholds, val_scores = tune_thresholds(
        predict_chips(predictor, val, progress=progress), val, class_names=card.classes
    )
    card.thresholds = thresholds
    predictor = Predictor(card, predictor.module)
    card.metrics = {
        "validation": val_scores,
        **score_test_sets(
            predictor, dm.data_dir, count=dm.test_chips, workers=dm.workers, progress=progress
        ),
    }
    card.save(card.location or Path("."))
    return card
