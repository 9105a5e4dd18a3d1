"""Steps 2-5 as one chain of tasks per block: read its haloed window, prepare, infer, vectorize.

Why not ``dask.array.overlap`` over the loaded scene: there, a block's halo comes from its
neighbours' blocks, so a block cannot be inferred before all eight neighbours are loaded and
prepared, and a worker holds a band of whole blocks (two rows of the scene, growing with its
width) waiting for their neighbours. Here every block reads its own haloed window from the files
(the halo is ~5 % more pixels read) and its chain needs nothing from another block: a worker
holds the blocks it is working on, whatever the scene's size. The vectorize step's one pixel of
neighbour it gets from the inference itself, which is exact one pixel into the halo
(:func:`pipeline.infer.infer_window`).

Task names start with the step (``load-``, ``prepare-``, ``infer-``, ``vectorize_block-``), which
is how :data:`pipeline.detect.STEP_OF_PREFIX` adds up the seconds per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
from dask.delayed import Delayed

from pipeline.errors import GridError
from pipeline.grid import Grid
from pipeline.infer import GPU_RESOURCE, InferSpec, infer_window
from pipeline.load import SceneRasters
from pipeline.prepare import prepare_block
from pipeline.vectorize import Thresholds, vectorize_block


@dataclass(frozen=True)
class Block:
    """Where one block lies in the working grid, and the halo it is read with."""

    row: int
    """Block row."""
    col: int
    """Block column."""
    rows: tuple[int, int]
    """First and past-the-last grid row of the block's own pixels."""
    cols: tuple[int, int]
    """First and past-the-last grid column of the block's own pixels."""
    halo: tuple[int, int, int, int]
    """Pixels read beyond the block on its ``(top, bottom, left, right)``: the halo, or 0 at the
    scene's edges."""

    @property
    def window(self) -> tuple[slice, slice]:
        """The haloed window, as grid slices."""
        top, bottom, left, right = self.halo
        return (
            slice(self.rows[0] - top, self.rows[1] + bottom),
            slice(self.cols[0] - left, self.cols[1] + right),
        )

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Which sides have a neighbour (1) or are the scene's edge (0)."""
        return tuple(int(h > 0) for h in self.halo)  # type: ignore[return-value]


def blocks(chunks: tuple[tuple[int, ...], tuple[int, ...]], *, halo: int) -> list[Block]:
    """The blocks of a grid chunked as ``chunks``, row by row, each with ``halo`` on its inner
    sides.

    Raises:
        GridError: a block is smaller than the halo (a neighbour's halo would reach past it).
    """
    ychunks, xchunks = chunks
    if (len(ychunks) > 1 or len(xchunks) > 1) and min(*ychunks, *xchunks) < halo:
        raise GridError(
            f"Blocks of {min(*ychunks, *xchunks)} px are smaller than the halo of {halo} px: "
            "use larger chunks."
        )
    ys, xs = np.cumsum((0, *ychunks)), np.cumsum((0, *xchunks))
    ny, nx = len(ychunks), len(xchunks)
    return [
        Block(
            row=i,
            col=j,
            rows=(int(ys[i]), int(ys[i + 1])),
            cols=(int(xs[j]), int(xs[j + 1])),
            halo=(
                halo if i > 0 else 0,
                halo if i < ny - 1 else 0,
                halo if j > 0 else 0,
                halo if j < nx - 1 else 0,
            ),
        )
        for i in range(ny)
        for j in range(nx)
    ]


def _load(rasters: SceneRasters, block: Block) -> np.ndarray:
    return rasters.read(*block.window)


def _prepare(raw: np.ndarray, block: Block, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    origin = (block.window[0].start, block.window[1].start)
    return prepare_block(raw, origin=origin, **kwargs)


def _infer(
    prepared: tuple[np.ndarray, np.ndarray], block: Block, *, spec: InferSpec
) -> tuple[np.ndarray, np.ndarray]:
    layers, context = prepared
    return infer_window(layers, context, spec=spec, halo=block.halo, ring=1)


def _vectorize(inferred: tuple[np.ndarray, np.ndarray], block: Block, **kwargs: Any) -> Any:
    probs, context = inferred
    return vectorize_block(
        probs,
        context,
        row=block.row,
        col=block.col,
        origin=(block.rows[0], block.cols[0]),
        pads=block.pads,
        **kwargs,
    )


def block_results(
    rasters: SceneRasters,
    *,
    scene: Any,
    card: Any,
    grid: Grid,
    chunks: tuple[tuple[int, ...], tuple[int, ...]],
    spec: InferSpec,
    land_buffer_m: float,
    thresholds: Thresholds,
    polarizations: tuple[str, ...],
    gpu: bool = False,
) -> list[Delayed]:
    """One delayed :class:`pipeline.vectorize.BlockResult` per block, row by row.

    Args:
        rasters: the scene's bands (:func:`pipeline.load.scene_rasters`).
        scene: the scene (its assets calibrate DN to sigma0).
        card: the model card.
        grid: the working grid.
        chunks: block sizes along y and x.
        spec: model and halo.
        land_buffer_m: grow land by this many metres before masking it.
        thresholds: hysteresis codes.
        polarizations: the bands of ``rasters``, in order.
        gpu: annotate the inference tasks with ``resources={"GPU": 1}`` (only when the cluster
            has workers with that resource, or the tasks would wait for ever). Compute under
            :func:`pipeline.infer.no_fusion` for the annotation to reach the scheduler.
    """
    token = dask.base.tokenize(
        rasters, scene, card.model_dump(), grid, chunks, spec, land_buffer_m, thresholds
    )
    load = dask.delayed(_load, pure=True)
    prepare = dask.delayed(_prepare, pure=True)
    infer = dask.delayed(_infer, pure=True)
    vectorize = dask.delayed(_vectorize, pure=True)
    annotation = {"resources": {GPU_RESOURCE: 1}} if gpu else {}
    results = []
    for block in blocks(chunks, halo=spec.halo):
        name = f"{token}-{block.row}-{block.col}"
        raw = load(rasters, block, dask_key_name=f"load-{name}")
        prepared = prepare(
            raw,
            block,
            scene=scene,
            polarizations=polarizations,
            card=card,
            grid=grid,
            land_buffer_m=land_buffer_m,
            dask_key_name=f"prepare-{name}",
        )
        with dask.annotate(**annotation):
            inferred = infer(prepared, block, spec=spec, dask_key_name=f"infer-{name}")
        results.append(
            vectorize(
                inferred,
                block,
                grid=grid,
                thresholds=thresholds,
                dask_key_name=f"vectorize_block-{name}",
            )
        )
    return results
