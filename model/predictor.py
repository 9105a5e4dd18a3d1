"""What the pipeline calls: a model loaded once per process, predicting class probabilities.

``get_predictor(card_or_path)`` loads a model the first time it is asked for and returns the same
:class:`Predictor` afterwards (cached by the SHA-256 of the model file, the device and the options),
so a Dask worker loads it once however many tasks it runs. :meth:`Predictor.predict` runs a batch
of tiles; :meth:`Predictor.predict_image` tiles an array of any size with an overlap of at least
twice the receptive field, blends the tiles with weights that are zero where a tile's output is
still affected by its edge, and so returns what one whole-image run would. NaN in, background out.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from model.card import ModelCard, sha256_file
from model.errors import InvalidInput, ModelHashMismatch

logger = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parent / "weights"
"""Folder of the shipped model (``card.json``, weights, TorchScript, ``MODEL_CARD.md``)."""

Precision = Literal["float32", "bfloat16"]

_cache: dict[tuple[str, str, bool, str], Predictor] = {}
_cache_lock = threading.Lock()
_loads = 0


def load_count() -> int:
    """How many models this process has loaded from disk (for tests and diagnostics)."""
    return _loads


def shipped_card() -> ModelCard:
    """The card of the model shipped in ``model/weights``."""
    return ModelCard.load(SHIPPED_DIR)


def get_predictor(
    path_or_card: str | Path | ModelCard | None = None,
    *,
    device: str | None = None,
    compile: bool = False,
    precision: Precision | None = None,
) -> Predictor:
    """The predictor of a model, loaded once per process.

    Args:
        path_or_card: a ``card.json``, a folder holding one, a loaded :class:`ModelCard`, or
            ``None`` for the shipped model.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; ``None`` uses CUDA when present.
        compile: run the network through ``torch.compile`` (slow first call; see the benchmark).
        precision: ``"bfloat16"`` runs under autocast, ``"float32"`` does not; ``None``: bfloat16
            autocast on CUDA (untested until run on a GPU: see the card's ``cuda`` line),
            float32 on CPU (this CPU has no bfloat16 instructions: see the benchmark).

    Raises:
        ModelFileMissing: the card or a file it names is missing.
        ModelHashMismatch: the model file differs from the hash on its card.
    """
    card = (
        path_or_card
        if isinstance(path_or_card, ModelCard)
        else ModelCard.load(path_or_card if path_or_card is not None else SHIPPED_DIR)
    )
    path, recorded = card.artifact()
    digest = _file_digest(path)
    if recorded and digest != recorded:
        raise ModelHashMismatch(
            f"{path} has SHA-256 {digest[:12]}…, its card says {recorded[:12]}…: the file changed "
            "after the card was written; restore it or rewrite the card ('slickwatch model card')."
        )
    dev = _pick_device(device)
    if precision is None:
        precision = "bfloat16" if dev.startswith("cuda") else "float32"
    key = (digest, dev, compile, precision)
    with _cache_lock:
        predictor = _cache.get(key)
        if predictor is None:
            predictor = Predictor(
                card,
                _load_module(card, path, dev),
                device=dev,
                compiled=compile,
                precision=precision,
            )
            _cache[key] = predictor
        return predictor


_digests: dict[tuple[str, int, int], str] = {}


def _file_digest(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, mtime, size) so repeated calls do not rehash."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    digest = _digests.get(key)
    if digest is None:
        digest = sha256_file(path)
        _digests[key] = digest
    return digest


def _pick_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidInput(
            f"device {device!r} asked for but CUDA is not available: use 'cpu' or None."
        )
    return device


def _load_module(card: ModelCard, path: Path, device: str, *, fold: bool = True):
    """The network (``torch.nn.Module``) of a card's weights or TorchScript file; ``fold``: batch
    norms folded into the convolutions (state-dict networks only; TorchScript loads as it is)."""
    import torch

    global _loads
    from model.network import ARCHITECTURE, NetworkConfig, SlickNet, fold_batch_norms

    if card.architecture == ARCHITECTURE and path == card.path_of(card.weights_file):
        module = SlickNet(NetworkConfig.from_dict(card.network))
        module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        if fold:
            module = fold_batch_norms(module.eval())
    else:
        with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.13, still loads
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    _loads += 1
    logger.info("loaded model %s:%s from %s on %s", card.name, card.version, path, device)
    return module.to(device).eval()


@dataclass(frozen=True)
class _Tiling:
    """Tile origins along one axis, all tiles of one size."""

    origins: tuple[int, ...]
    size: int
    padded: int


def _tiling(length: int, *, tile: int, overlap: int, multiple: int) -> _Tiling:
    """Tiles of equal size (a multiple of ``multiple``, at most ``tile``) covering ``length``.

    Consecutive tiles overlap by at least ``overlap`` pixels; origins are multiples of ``multiple``
    so the network's pooling grid is the same in every tile, and the last tile ends where a
    whole-image run's padding (to a multiple of ``multiple``) ends, so edges match it too.
    """
    padded_len = _round_up(length, multiple)
    if padded_len <= tile:
        return _Tiling((0,), padded_len, padded_len)
    n = math.ceil((padded_len - overlap) / (tile - overlap))
    size = _round_up(math.ceil((padded_len - overlap) / n) + overlap, multiple)
    stride = size - overlap
    origins = (*range(0, padded_len - size, stride), padded_len - size)
    return _Tiling(origins, size, padded_len)


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _edge_weights(size: int, *, radius: int, ramp: int, first: bool, last: bool) -> np.ndarray:
    """1-D blending weights of a tile: 0 on the ``radius`` pixels next to an inner edge, then a
    linear ramp of ``ramp`` pixels up to 1; image edges (``first``/``last``) get no taper."""
    i = np.arange(size, dtype=np.float32)
    up = np.clip((i - radius + 1) / (ramp + 1), 0.0, 1.0)
    w = np.ones(size, dtype=np.float32)
    if not first:
        w = np.minimum(w, up)
    if not last:
        w = np.minimum(w, up[::-1])
    return w


class Predictor:
    """A loaded model and its card; thread-safe for prediction (no state changes after loading)."""

    def __init__(
        self,
        card: ModelCard,
        module,  # torch.nn.Module or torch.jit.ScriptModule
        *,
        device: str = "cpu",
        compiled: bool = False,
        precision: Precision = "float32",
    ) -> None:
        import torch

        from model.network import SlickNet

        self.card = card
        """The model card (layers, normalization, classes, thresholds, tile size, ...)."""
        self.device = device
        """Torch device the model runs on."""
        self.precision: Precision = precision
        """``float32`` or ``bfloat16`` (autocast)."""
        self.module = module
        self._run = torch.compile(module, dynamic=False) if compiled else module
        self.compiled = compiled
        """Whether the network runs through ``torch.compile``."""
        # a SlickNet of our own runs as a wavefront of row strips (model.strips): the same
        # probabilities for a fifth of the memory; compiled graphs and TorchScript models
        # from elsewhere run their own forward
        self._in_strips = isinstance(module, SlickNet) and not compiled and card.outputs == "logits"
        if self._in_strips:  # weights in the maps' memory format (model.strips.CHANNELS_LAST)
            module.to(memory_format=torch.channels_last)

    @property
    def n_layers(self) -> int:
        """Input layers the model takes."""
        return len(self.card.layers)

    @property
    def n_classes(self) -> int:
        """Output classes."""
        return len(self.card.classes)

    def _autocast(self) -> contextlib.AbstractContextManager:
        import torch

        if self.precision == "bfloat16":
            return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def predict(self, x: np.ndarray, *, codes: bool = False) -> np.ndarray:
        """Class probabilities of a batch of tiles.

        Args:
            x: ``[n, layers, h, w]`` float32, the card's layers normalized; NaN anywhere in a
                pixel's layers marks it as nodata. ``h`` and ``w`` need not be multiples of the
                network's size multiple (padded inside, cropped back).
            codes: return uint8 codes ``round(255 * p)`` instead (what the pipeline keeps),
                written as the network produces them: a quarter of the float32 output's memory.

        Returns:
            ``[n, classes, h, w]`` float32 probabilities summing to 1 per pixel (uint8 codes
            with ``codes``); nodata pixels are pure background.
        """
        import torch

        from model.strips import predict_in_strips

        x = self._check(x, ndim=4)
        n, _, h, w = x.shape
        finite = np.isfinite(x)
        nodata = ~finite.all(axis=1)
        m = self.card.size_multiple
        ph, pw = _round_up(h, m), _round_up(w, m)
        batch = np.zeros((n, x.shape[1], ph, pw), dtype=np.float32)
        np.copyto(batch[:, :, :h, :w], x, where=finite)  # NaN and inf stay 0
        del finite
        with torch.inference_mode(), self._autocast():
            inputs = torch.from_numpy(batch).to(self.device)
            del batch
            if self._in_strips:
                classes = self.module.config.classes
                dtype = torch.uint8 if codes else torch.float32
                out = inputs.new_empty((n, classes, ph, pw), dtype=dtype)
                predict_in_strips(self.module, inputs, out)
            else:
                out = self._run(inputs).float()
                if self.card.outputs == "logits":
                    out = torch.softmax(out, dim=1)
                if codes:
                    out = out.mul_(255.0).round_().to(torch.uint8)
            del inputs
            probs = out[:, :, :h, :w].cpu().numpy()  # on the CPU: the tensor's own memory
        if probs.shape[1] != self.n_classes:
            raise InvalidInput(
                f"the network returned {probs.shape[1]} channels, its card lists {self.n_classes} "
                "classes: fix the card's 'classes'."
            )
        if nodata.any():  # pure background, written in place
            background = np.eye(self.n_classes, dtype=np.float32)[0] * (255 if codes else 1)
            probs.transpose(0, 2, 3, 1)[nodata] = background
        return np.ascontiguousarray(probs)

    def predict_image(
        self,
        x: np.ndarray,
        *,
        batch_size: int = 1,
        tile_size: int | None = None,
        codes: bool = False,
    ) -> np.ndarray:
        """Class probabilities of one image of any size, by blended tiles.

        Tiles are at most ``tile_size`` (default: the card's) on a side, start on the network's
        pooling grid and overlap by at least twice the receptive field plus a blending ramp; each
        tile's weight is zero within the receptive field of an inner edge, so the result equals a
        whole-image run. Tiles that are all nodata are not run.

        Args:
            x: ``[layers, H, W]`` float32 normalized layers, NaN for nodata.
            batch_size: tiles per network call.
            tile_size: largest tile edge in pixels (a multiple of the card's ``size_multiple``).
            codes: return uint8 codes ``round(255 * p)`` (see :meth:`predict`).

        Returns:
            ``[classes, H, W]`` float32 probabilities, or their uint8 codes.
        """
        x = self._check(x, ndim=3)
        _, height, width = x.shape
        m = self.card.size_multiple
        radius = self.card.receptive_field_px
        ramp = max(m, radius // 2)
        overlap = _round_up(2 * radius + ramp + 1, m)
        tile = _round_up(tile_size or self.card.tile_size, m)
        if tile <= overlap:
            raise InvalidInput(
                f"tile_size {tile} must exceed the overlap {overlap} px (twice the receptive "
                f"field of {radius} px plus a ramp): use a larger tile_size."
            )
        rows = _tiling(height, tile=tile, overlap=overlap, multiple=m)
        cols = _tiling(width, tile=tile, overlap=overlap, multiple=m)
        if len(rows.origins) == len(cols.origins) == 1:
            # one tile, weighted 1 everywhere: the network's output as it is, without the
            # blending buffers (the pipeline's blocks run this way)
            if not np.isfinite(x).all(axis=0).any():
                out = np.zeros((self.n_classes, height, width), np.uint8 if codes else np.float32)
                out[0] = 255 if codes else 1
                return out
            return self.predict(x[None], codes=codes)[0]
        padded = np.full((x.shape[0], rows.padded, cols.padded), np.nan, dtype=np.float32)
        padded[:, :height, :width] = x
        total = np.zeros((self.n_classes, rows.padded, cols.padded), dtype=np.float32)
        weight = np.zeros((rows.padded, cols.padded), dtype=np.float32)

        def weights(t: _Tiling, k: int) -> np.ndarray:
            return _edge_weights(
                t.size, radius=radius, ramp=ramp, first=k == 0, last=k == len(t.origins) - 1
            )

        tiles = [
            (r0, c0, np.outer(weights(rows, i), weights(cols, j)))
            for i, r0 in enumerate(rows.origins)
            for j, c0 in enumerate(cols.origins)
        ]
        for chunk in _chunks(tiles, batch_size):
            stack = np.stack(
                [padded[:, r0 : r0 + rows.size, c0 : c0 + cols.size] for r0, c0, _ in chunk]
            )
            valid = np.isfinite(stack).all(axis=1).any(axis=(1, 2))
            probs = iter(self.predict(stack[valid]) if valid.any() else ())
            for (r0, c0, w), ok in zip(chunk, valid, strict=True):
                window = (slice(r0, r0 + rows.size), slice(c0, c0 + cols.size))
                if ok:
                    total[(slice(None), *window)] += next(probs) * w
                else:  # all nodata: background, without running the network
                    total[(0, *window)] += w
                weight[window] += w
        out = total[:, :height, :width] / weight[:height, :width]
        if codes:
            return np.rint(np.multiply(out, 255.0, out=out), out=out).astype(np.uint8)
        return out.astype(np.float32, copy=False)

    def _check(self, x: np.ndarray, *, ndim: int) -> np.ndarray:
        shape = "[n, layers, h, w]" if ndim == 4 else "[layers, H, W]"
        x = np.asarray(x)
        if x.ndim != ndim:
            raise InvalidInput(f"expected a {ndim}-D array {shape}, got shape {x.shape}.")
        if x.shape[-3] != self.n_layers:
            raise InvalidInput(
                f"the model takes {self.n_layers} layers {self.card.layers}, the array has "
                f"{x.shape[-3]}: prepare it with model.layers.prepare_layers(vv, vh, card)."
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise InvalidInput(f"expected float32 normalized layers, got dtype {x.dtype}.")
        return x.astype(np.float32, copy=False)


def _chunks(items: list, size: int) -> Iterator[list]:
    size = max(1, int(size))
    for start in range(0, len(items), size):
        yield items[start : start + size]
