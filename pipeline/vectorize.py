"""Vectorize: per block, the connected slick pixels as polygons carrying additive statistics.

Hysteresis is split so that it stays exact across block seams: each block keeps every connected
component of ``P(oil) >= grow`` and counts its pixels with ``P(oil) >= seed``; after stitching,
a slick is kept when that count is positive. Every statistic is an integer sum (pixel counts, sums
of the uint8 probability codes), so stitching adds them up exactly and in any order.

Each block also returns the component labels along its four edges: two pixels that face each other
across a seam and are both slick pixels connect their components (4-connectivity), which is how
:mod:`pipeline.stitch` knows which parts to merge, without comparing floating-point geometry.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from affine import Affine
from dask.delayed import Delayed
from rasterio.errors import NotGeoreferencedWarning
from scipy import ndimage

from pipeline.grid import Grid, shelf_pack
from pipeline.prepare import LAND, NODATA, OCEAN

# When threads vectorize at once, GDAL's error state leaks between them and rasterio now and then
# warns that its temporary raster has no geotransform; the coordinates are right all the same
# (checked on 5,000 threaded runs). catch_warnings() is not thread-safe: filter by module.
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module="rasterio.features")

PRECISION_M = 0.001
"""Coordinates of polygons are snapped to this grid (metres)."""

FOUR = ndimage.generate_binary_structure(2, 1)
"""4-connectivity, the same as ``rasterio.features.shapes(connectivity=4)``."""


@dataclass(frozen=True)
class Thresholds:
    """Hysteresis on the uint8 code of P(oil) = 1 - P(background)."""

    seed: int
    """Code (0..255) a slick must reach somewhere."""
    grow: int
    """Code (0..255) of the pixels a slick extends over."""

    @classmethod
    def from_card(cls, card: object) -> Thresholds:
        """From the model card's probabilities (0..1)."""
        t = card.thresholds
        return cls(seed=int(np.ceil(t.seed * 255 - 1e-9)), grow=int(np.ceil(t.grow * 255 - 1e-9)))


@dataclass(frozen=True)
class BlockResult:
    """What one block hands to the stitch step."""

    row: int
    """Block index along y."""
    col: int
    """Block index along x."""
    parts: gpd.GeoDataFrame
    """One row per connected component: ``label``, statistics, polygon (grid CRS)."""
    edges: dict[str, np.ndarray] = field(default_factory=dict)
    """Component labels along the block's ``top``, ``bottom``, ``left`` and ``right`` edges."""
    pixels: dict[str, int] = field(default_factory=dict)
    """``ocean``, ``land`` and ``nodata`` pixel counts of the block."""


STAT_COLUMNS = (
    "px",
    "seed_px",
    "edge_px",
    "land_edge_px",
    "nodata_edge_px",
)
"""Integer statistics of a part besides the per-class probability sums ``p_<class>``."""


def part_columns(n_classes: int) -> list[str]:
    """The statistics columns of a part, in order."""
    return [*STAT_COLUMNS, *(f"p{k}" for k in range(n_classes)), "p_oil_max"]


def empty_parts(n_classes: int, epsg: int) -> gpd.GeoDataFrame:
    """A parts frame with no rows and the right columns and types."""
    return _empty_parts(n_classes, epsg).copy()


@functools.lru_cache(maxsize=8)
def _empty_parts(n_classes: int, epsg: int) -> gpd.GeoDataFrame:
    # built once per process: the CRS lookup and the type casts cost ~10 ms per frame
    columns = {"block_row": [], "block_col": [], "label": []}
    columns.update({c: [] for c in part_columns(n_classes)})
    frame = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=epsg), crs=epsg)
    return frame.astype({c: "int64" for c in columns})


def vectorize_block(
    probs: np.ndarray,
    context: np.ndarray,
    *,
    row: int,
    col: int,
    origin: tuple[int, int],
    pads: tuple[int, int, int, int],
    grid: Grid,
    thresholds: Thresholds,
) -> BlockResult:
    """Polygons and statistics of one block.

    Args:
        probs: ``[classes, h, w]`` uint8 probability codes of the block with a 1-pixel halo on
            its inner sides.
        context: ``[h, w]`` uint8 context codes (ocean, land, nodata), same halo.
        row, col: block index.
        origin: ``(row, col)`` of the block's first own pixel in the working grid.
        pads: halo present on the ``(top, bottom, left, right)`` sides (0 or 1).
        grid: the working grid.
        thresholds: hysteresis codes.
    """
    top, bottom, left, right = pads
    # A 1-pixel frame all round: outside the scene counts as nodata, never as slick.
    frame = ((1 - top, 1 - bottom), (1 - left, 1 - right))
    # P(oil) code >= grow  <=>  P(background) code <= 255 - grow: one uint8 pass, no int16 copy
    grow = np.pad(probs[0] <= 255 - thresholds.grow, frame)
    ctx = np.pad(context, frame, constant_values=NODATA)
    probs = probs[:, top : probs.shape[1] - bottom, left : probs.shape[2] - right]
    own_grow = grow[1:-1, 1:-1]
    own_ctx = ctx[1:-1, 1:-1]
    labels, n = ndimage.label(own_grow, structure=FOUR)
    counts = np.bincount(own_ctx.ravel(), minlength=max(OCEAN, LAND, NODATA) + 1)
    pixels = {"ocean": int(counts[OCEAN]), "land": int(counts[LAND]), "nodata": int(counts[NODATA])}
    n_classes = probs.shape[0]
    edges = {
        "top": labels[0].copy(),
        "bottom": labels[-1].copy(),
        "left": labels[:, 0].copy(),
        "right": labels[:, -1].copy(),
    }
    if n == 0:
        return BlockResult(row, col, empty_parts(n_classes, grid.epsg), edges, pixels)

    index = np.arange(1, n + 1)
    # statistics over the slick pixels only (a few % of a block), gathered at their positions
    inside = np.flatnonzero(own_grow)  # = where labels > 0, from a quarter of the bytes
    flat = labels.ravel()[inside]
    # their 4 neighbours, in the framed arrays (one pixel larger on every side)
    ys, xs = np.divmod(inside, labels.shape[1])
    near_edge = np.zeros(len(inside), dtype=bool)
    near_land = np.zeros(len(inside), dtype=bool)
    near_nodata = np.zeros(len(inside), dtype=bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + 1 + dy, xs + 1 + dx
        near_edge |= ~grow[ny, nx]
        c = ctx[ny, nx]
        near_land |= c == LAND
        near_nodata |= c == NODATA

    def count(mask: np.ndarray) -> np.ndarray:
        """Slick pixels per label where ``mask`` (one value per slick pixel) holds."""
        return np.bincount(flat[mask], minlength=n + 1)[1:].astype(np.int64)

    def total(values: np.ndarray) -> np.ndarray:
        sums = np.bincount(flat, weights=values[ys, xs], minlength=n + 1)
        return np.rint(sums[1:]).astype(np.int64)  # exact: integer sums well below 2**53

    p_oil_inside = 255 - probs[0][ys, xs].astype(np.int64)
    stats = {
        "px": np.bincount(flat, minlength=n + 1)[1:].astype(np.int64),
        "seed_px": count(p_oil_inside >= thresholds.seed),
        "edge_px": count(near_edge),
        "land_edge_px": count(near_edge & near_land),
        "nodata_edge_px": count(near_edge & near_nodata),
    }
    for k in range(n_classes):
        stats[f"p{k}"] = total(probs[k])
    oil_max = np.zeros(n + 1, dtype=np.int64)
    np.maximum.at(oil_max, flat, p_oil_inside)
    stats["p_oil_max"] = oil_max[1:]

    geometries = _polygons(labels, n, grid.window_transform(*origin))
    # Seam vertices of neighbouring blocks are computed from different window origins: snap them
    # to a millimetre grid so that they agree bit for bit whatever the resolution.
    geometries = shapely.set_precision(geometries, grid_size=PRECISION_M)
    frame = gpd.GeoDataFrame(
        {
            "block_row": np.full(n, row, dtype=np.int64),
            "block_col": np.full(n, col, dtype=np.int64),
            "label": index.astype(np.int64),
            **stats,
        },
        geometry=gpd.GeoSeries(geometries, crs=grid.epsg),
        crs=grid.epsg,
    )
    return BlockResult(row, col, frame, edges, pixels)


CANVAS_COLS = 2048
"""Width (pixels) of the canvas :func:`_polygons` lays slicks on; a wider slick gets a row of its
own."""


def _polygons(labels: np.ndarray, n: int, transform: Affine) -> list[shapely.Geometry]:
    """The polygon (with its holes) of each label ``1..n`` of a 4-connected labelling.

    GDAL's polygonize visits every pixel of its raster, and slicks cover a few % of a block; one
    call per slick would cost more in call overhead (~0.7 ms each). So each slick's bounding box
    (``ndimage.find_objects``) is copied, holding that slick alone, onto a canvas in shelves,
    the canvas is polygonized once in pixel units, and each ring is moved back to its block
    position and through ``transform`` as GDAL computes it (``c + a·col + b·row``: the same
    numbers as polygonizing the block itself).
    """
    boxes = ndimage.find_objects(labels, max_label=n)
    boxed = sum((b[0].stop - b[0].start) * (b[1].stop - b[1].start) for b in boxes)
    if boxed > labels.size / 4:  # slicks all over the block: polygonize it as it is
        return _pieces(labels, n, transform=transform)
    offsets, shape = shelf_pack(
        [(rows.stop - rows.start, cols.stop - cols.start) for rows, cols in boxes],
        max_cols=CANVAS_COLS,
    )
    canvas = np.zeros(shape, dtype=np.int32)
    for k, (rows, cols) in enumerate(boxes, start=1):
        r, c = offsets[k - 1]
        window = labels[rows, cols]
        target = canvas[r : r + window.shape[0], c : c + window.shape[1]]
        np.copyto(target, k, where=window == k)
    geometries = _pieces(canvas, n)
    # canvas (col, row) -> block (col, row): whole numbers, exact in floating point
    shift = np.array(
        [(b[1].start - offsets[k, 1], b[0].start - offsets[k, 0]) for k, b in enumerate(boxes)],
        dtype=np.float64,
    )
    xy, which = shapely.get_coordinates(geometries, return_index=True)
    col, row = (xy + shift[which]).T
    a, b, c, d, e, f = transform[:6]
    world = np.column_stack([c + a * col + b * row, f + d * col + e * row])
    return list(shapely.set_coordinates(np.array(geometries, dtype=object), world))


def _pieces(
    labels: np.ndarray, n: int, *, transform: Affine | None = None
) -> list[shapely.Geometry]:
    """GDAL's polygons of labels ``1..n`` (in pixel units unless ``transform``), one per label."""
    pieces: dict[int, list] = {}
    shapes = rasterio.features.shapes(
        labels, mask=labels > 0, connectivity=4, transform=transform or Affine.identity()
    )
    for geom, value in shapes:
        pieces.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    return [
        pieces[k][0] if len(pieces[k]) == 1 else shapely.union_all(pieces[k])
        for k in range(1, n + 1)
    ]


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


def vectorize_blocks(
    probs: da.Array, context: da.Array, *, grid: Grid, thresholds: Thresholds
) -> list[Delayed]:
    """One delayed :class:`BlockResult` per block of ``probs``, row by row: for probability
    codes already held as a chunked array (the scene pipeline vectorizes each block in its own
    chain instead, :mod:`pipeline.blocks`).

    Args:
        probs: ``[classes, y, x]`` uint8 probability codes on ``grid``.
        context: ``[y, x]`` uint8 context codes, chunked like ``probs``.
        grid: the working grid.
        thresholds: hysteresis codes.
    """
    ychunks, xchunks = probs.chunks[1:]
    pp, cc = with_halo(probs, 1), with_halo(context, 1)
    p_blocks = pp.to_delayed(optimize_graph=False)
    c_blocks = cc.to_delayed(optimize_graph=False)
    y_starts = np.cumsum((0, *ychunks))
    x_starts = np.cumsum((0, *xchunks))
    ny, nx = len(ychunks), len(xchunks)
    token = dask.base.tokenize(probs.name, context.name, grid, thresholds)
    task = dask.delayed(vectorize_block, pure=True)
    return [
        task(
            p_blocks[0, i, j],
            c_blocks[i, j],
            row=i,
            col=j,
            origin=(int(y_starts[i]), int(x_starts[j])),
            pads=(int(i > 0), int(i < ny - 1), int(j > 0), int(j < nx - 1)),
            grid=grid,
            thresholds=thresholds,
            dask_key_name=f"vectorize_block-{token}-{i}-{j}",
        )
        for i in range(ny)
        for j in range(nx)
    ]
