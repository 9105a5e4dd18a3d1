"""Infer: class probabilities of one block from its haloed window.

Each block is read with a halo of the network's receptive field (rounded up to the pooling grid;
:mod:`pipeline.blocks`), the model runs once on the haloed window, and the halo is cut off again:
the interior of every block is what a whole-scene run would give, so every scene pixel is
inferred once (plus the halo), never on shifted tile grids as Cerulean does. Probabilities are
stored as uint8 codes (``round(255 * p)``).

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


def block_halo(card: object) -> int:
    """Halo of a block for a model card, pixels: one more than the network's receptive field
    (so the vectorize step's ring of neighbour pixels is exact too, :func:`infer_window`),
    rounded up to the pooling grid."""
    return round_up(card.receptive_field_px + 1, card.size_multiple)


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


def infer_window(
    layers: np.ndarray,
    context: np.ndarray,
    *,
    spec: InferSpec,
    halo: tuple[int, int, int, int],
    ring: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The probability and context codes of one block, from its prepared, haloed window.

    Args:
        layers, context: :func:`pipeline.prepare.prepare_block` of the haloed window.
        spec: model and halo.
        halo: pixels of halo on the window's ``(top, bottom, left, right)`` sides (0 at the
            scene's edges).
        ring: pixels beyond the block kept on each side that has a halo (the vectorize step sees
            its neighbours' first pixels this way; exact when ``spec.halo > receptive field``).

    Returns:
        ``(probs, context)``: uint8 ``[classes, h, w]`` codes ``round(255 * p)`` and uint8
        ``[h, w]`` context codes, over the block and its ring.
    """
    rows, cols = _kept(layers.shape, halo, ring=ring)
    return _codes(layers, spec=spec, rows=rows, cols=cols), context[rows, cols].copy()


def _kept(
    shape: tuple[int, ...], halo: tuple[int, int, int, int], *, ring: int
) -> tuple[slice, slice]:
    """Rows and columns of a haloed window ``[..., h, w]`` kept after inference: the block and
    ``ring`` pixels beyond it on each side that has a halo."""
    top, bottom, left, right = (h - ring if h else 0 for h in halo)
    return slice(top, shape[-2] - bottom), slice(left, shape[-1] - right)


def _codes(layers: np.ndarray, *, spec: InferSpec, rows: slice, cols: slice) -> np.ndarray:
    """uint8 probability codes of a haloed window, cut to ``rows`` and ``cols``."""
    from model.predictor import get_predictor

    if not np.isfinite(layers).all(axis=0).any():  # nothing but land and nodata: background
        out = np.zeros((spec.n_classes, *layers[0, rows, cols].shape), dtype=np.uint8)
        out[0] = 255
        return out
    predictor = get_predictor(spec.model, device=spec.device)
    m = predictor.card.size_multiple
    # default: the whole haloed block in one tile (at least the card's tile, which the predictor
    # accepts however small the block: a tile must exceed the predictor's own overlap)
    tile = spec.tile_size or max(round_up(max(layers.shape[1:]), m), predictor.card.tile_size)
    global _input_pixels
    if tile >= max(layers.shape[1:]):  # one tile: the network sees the block, padded to the grid
        _input_pixels += round_up(layers.shape[1], m) * round_up(layers.shape[2], m)
    codes = predictor.predict_image(layers, tile_size=round_up(tile, m), codes=True)
    out = np.ascontiguousarray(codes[:, rows, cols])
    del codes
    _release_free_memory()
    return out


def infer_overlap(layers: da.Array, *, spec: InferSpec, gpu: bool = False) -> da.Array:
    """Probability codes of prepared layers held as a chunked array, by ``dask.array.map_overlap``.

    The array face of this step, for an analyst's lazy array (:func:`pipeline.prepare.prepare`
    of :func:`pipeline.load.load_scene`): each block runs with ``spec.halo`` pixels of its
    neighbours (none beyond the array's edge) and is cut back to its own pixels, so the codes do
    not depend on the chunks. The scene pipeline reads each block's haloed window itself instead
    (:mod:`pipeline.blocks`): with overlap a block waits for its eight neighbours, and the
    workers hold rows of whole blocks meanwhile.

    Args:
        layers: float32 ``[layers, y, x]`` normalized layers, NaN on land and nodata, one chunk
            along the first axis.
        spec: model and halo.
        gpu: annotate the tasks with ``resources={"GPU": 1}`` (compute under
            :func:`no_fusion`).

    Returns:
        uint8 ``[classes, y, x]`` codes ``round(255 * p)``, chunked like ``layers``.

    Raises:
        GridError: a block that does not start on the network's pooling grid (the codes would
            then depend on the chunks) or is smaller than the halo.
    """
    from model.card import ModelCard
    from pipeline.errors import GridError

    multiple = ModelCard.load(spec.model).size_multiple
    for axis, chunks in (("y", layers.chunks[1]), ("x", layers.chunks[2])):
        if any(c % multiple for c in chunks[:-1]) or (len(chunks) > 1 and min(chunks) < spec.halo):
            raise GridError(
                f"The {axis} chunks {chunks} do not fit the model: every block but the last must "
                f"be a multiple of {multiple} px and each at least the halo of {spec.halo} px. "
                f"Rechunk first, e.g. layers.rechunk({{1: 2048, 2: 2048}})."
            )
    ny, nx = len(layers.chunks[1]), len(layers.chunks[2])

    def run(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info is None:  # dask's meta probe
            return np.empty((0, 0, 0), dtype=np.uint8)
        _, i, j = block_info[0]["chunk-location"]
        halo = tuple(spec.halo * int(inner) for inner in (i > 0, i < ny - 1, j > 0, j < nx - 1))
        rows, cols = _kept(block.shape, halo, ring=0)
        return _codes(block, spec=spec, rows=rows, cols=cols)

    annotation = {"resources": {GPU_RESOURCE: 1}} if gpu else {}
    with dask.annotate(**annotation):
        return da.map_overlap(
            run,
            layers,
            depth={0: 0, 1: spec.halo, 2: spec.halo},
            boundary="none",
            trim=False,
            dtype=np.uint8,
            chunks=((spec.n_classes,), *layers.chunks[1:]),
            meta=np.empty((0, 0, 0), dtype=np.uint8),
            name="infer-" + dask.base.tokenize(layers.name, spec),
        )


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
