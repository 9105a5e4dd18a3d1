"""Infer: class probabilities over the whole scene, block by block, with a halo.

``dask.array.overlap`` gives each block a halo of the network's receptive field (rounded up to
the pooling grid), the model runs once on each haloed block, and the halo is cut off again: the
interior of every block is what a whole-scene run would give, so every scene pixel is inferred
once (plus the halo), never on shifted tile grids as Cerulean does. Probabilities are stored as
uint8 codes (``round(255 * p)``).

The model is loaded once per worker process: tasks carry only the model card's path and
:func:`model.predictor.get_predictor` keeps what it loaded for the life of the process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np

from pipeline.errors import GridError

logger = logging.getLogger(__name__)

GPU_RESOURCE = "GPU"
"""Name of the Dask worker resource that marks a GPU (``dask worker --resources GPU=1``)."""

NO_FUSION = {"optimization.fuse.active": False, "optimization.annotations.fuse": False}
"""Dask settings under which the ``resources`` annotation of the inference tasks survives graph
optimization: low-level fusion rebuilds the graph without annotations, and blockwise fusion of
annotated with unannotated layers would spread the GPU restriction to other steps."""


_input_pixels = 0


def input_pixels() -> int:
    """Pixels this process has passed to the network (haloed, padded tiles; for benchmarks)."""
    return _input_pixels


def reset_input_pixels() -> None:
    """Start :func:`input_pixels` from zero again (a benchmark's second run on warm workers)."""
    global _input_pixels
    _input_pixels = 0


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a multiple of ``multiple``."""
    return -(-int(value) // int(multiple)) * int(multiple)


@dataclass(frozen=True)
class InferSpec:
    """How the model runs over the blocks; travels inside the graph (small, picklable)."""

    model: str
    """Path of the model card (``card.json`` or its folder)."""
    halo: int
    """Pixels added on each inner side of a block (>= receptive field, multiple of the grid)."""
    n_classes: int
    """Output classes."""
    tile_size: int | None = None
    """Largest tile the predictor runs; ``None``: the whole haloed block in one pass (fewest
    pixels through the network; memory grows with the chunk size)."""
    device: str | None = None
    """Torch device; ``None``: CUDA when the worker has it."""

    def __dask_tokenize__(self) -> tuple[object, ...]:
        from model.card import sha256_file

        card = Path(self.model)
        card = card / "card.json" if card.is_dir() else card
        return (
            "slickwatch.InferSpec",
            sha256_file(card),
            self.halo,
            self.n_classes,
            self.tile_size,
            self.device,
        )


def _infer_block(x: np.ndarray, *, spec: InferSpec, block_info: dict | None = None) -> np.ndarray:
    from model.predictor import get_predictor

    (cy, cx) = block_info[0]["chunk-location"][1:]
    (ny, nx) = block_info[0]["num-chunks"][1:]
    top = spec.halo if cy > 0 else 0
    left = spec.halo if cx > 0 else 0
    bottom = x.shape[1] - (spec.halo if cy < ny - 1 else 0)
    right = x.shape[2] - (spec.halo if cx < nx - 1 else 0)
    height, width = bottom - top, right - left
    if not np.isfinite(x).all(axis=0).any():  # nothing but land and nodata: background
        out = np.zeros((spec.n_classes, height, width), dtype=np.uint8)
        out[0] = 255
        return out
    predictor = get_predictor(spec.model, device=spec.device)
    m = predictor.card.size_multiple
    # default: the whole haloed block in one tile (at least the card's tile, which the predictor
    # accepts however small the block: a tile must exceed the predictor's own overlap)
    tile = spec.tile_size or max(round_up(max(x.shape[1:]), m), predictor.card.tile_size)
    global _input_pixels
    if tile >= max(x.shape[1:]):  # one tile: the network sees the block, padded to the grid
        _input_pixels += round_up(x.shape[1], m) * round_up(x.shape[2], m)
    probs = predictor.predict_image(x, tile_size=round_up(tile, m))
    inner = probs[:, top:bottom, left:right]
    np.rint(np.multiply(inner, 255.0, out=inner), out=inner)  # in place: no block-sized copies
    out = inner.astype(np.uint8)
    del probs, inner
    _release_free_memory()
    return out


def _release_free_memory() -> None:
    """Give the heap's free pages back to the system after a block (glibc's ``malloc_trim``).

    The workers keep the network's feature maps on the heap (``pipeline.cluster.WORKER_ENVIRON``)
    so that the layers of one block reuse each other's memory; without this, fragments of that
    heap pile up block after block and a worker's resident memory grows with the scene. Neither
    the standard library nor Dask wraps the call (Dask's documentation shows the same ctypes
    line), and it is a no-op where the C library is not glibc.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def with_halo(array: da.Array, depth: int) -> da.Array:
    """Each block with ``depth`` pixels of its neighbours on the last two axes (none beyond the
    array's edge); a single block is returned as it is (it has no neighbours, and
    ``dask.array.overlap`` would still add idle slicing and concatenating tasks)."""
    if len(array.chunks[-2]) == len(array.chunks[-1]) == 1:
        return array
    axes = {array.ndim - 2: depth, array.ndim - 1: depth}
    return da.overlap.overlap(
        array, depth={0: 0, **axes} if array.ndim == 3 else axes, boundary="none"
    )


def infer(layers: da.Array, *, spec: InferSpec, gpu: bool = False) -> da.Array:
    """Class probability codes ``[classes, y, x]`` uint8, chunked like ``layers``.

    Args:
        layers: ``[layers, y, x]`` float32 normalized layers, NaN where there is nothing to see.
        spec: model and halo.
        gpu: annotate the inference tasks with ``resources={"GPU": 1}`` (only when the cluster
            has workers with that resource, or the tasks would wait for ever). Compute the result
            under :func:`no_fusion` for the annotation to reach the scheduler.
    """
    halo = spec.halo
    smallest = min(min(c) for c in layers.chunks[1:])
    if (len(layers.chunks[1]) > 1 or len(layers.chunks[2]) > 1) and smallest < halo:
        raise GridError(
            f"Blocks of {smallest} px are smaller than the halo of {halo} px: use larger chunks."
        )
    padded = with_halo(layers, halo)
    annotation = {"resources": {GPU_RESOURCE: 1}} if gpu else {}
    with dask.annotate(**annotation):
        return da.map_blocks(
            _infer_block,
            padded,
            spec=spec,
            chunks=((spec.n_classes,), *layers.chunks[1:]),
            dtype=np.uint8,
            name="infer-" + dask.base.tokenize(layers.name, spec),
            meta=np.empty((0, 0, 0), dtype=np.uint8),
        )


@contextlib.contextmanager
def no_fusion() -> Iterator[None]:
    """Dask configuration under which task annotations survive optimization."""
    with dask.config.set(NO_FUSION):
        yield


def model_input_pixels(chunks: tuple[tuple[int, ...], ...], *, halo: int, multiple: int) -> int:
    """Pixels the network sees when every block runs as one haloed, padded tile.

    Args:
        chunks: the ``(y, x)`` chunks of the working grid.
        halo: the halo in pixels.
        multiple: the network's size multiple (tiles are padded to it).
    """
    total = 0
    ys, xs = chunks
    for i, h in enumerate(ys):
        hh = h + (halo if i > 0 else 0) + (halo if i < len(ys) - 1 else 0)
        for j, w in enumerate(xs):
            ww = w + (halo if j > 0 else 0) + (halo if j < len(xs) - 1 else 0)
            total += round_up(hh, multiple) * round_up(ww, multiple)
    return total
