"""Land masks on any raster grid, for the pipeline's prepare step.

Source: ``catalog/data/land_globe_1km.tif``, a 1-bit, tiled, DEFLATE-compressed COG (2 MB) of the
``global-land-mask`` package's grid (GLOBE 1 km land/sea, 30 arc-seconds, public data; see
``catalog/data/README.md`` for how it was made). Why this and not the alternatives, measured on
the real Cape Hatteras scene by ``benchmarks/land_mask.py``:

- the Natural Earth low-resolution ocean polygon misplaces coastlines by kilometres and misses
  the Outer Banks barrier islands altogether: fine for relevancy, not for masking pixels;
- ``global-land-mask`` as a package loads its whole 21600 x 43200 boolean grid (0.93 GB) at
  import, in every Dask worker; as a COG the same grid is read one window at a time (a scene needs
  a few hundred kB);
- ``roaring-landmask`` (GSHHG full resolution, tens of metres) gives the best coastlines but is a
  100 MB wheel that holds 1.1 GB resident and takes about 8 s to load per process.

The 1 km grid puts a coastline up to ~0.5 km off, so the pipeline buffers the mask (``buffer_m``)
by at least that much; slicks are not looked for within a few hundred metres of the coast anyway.
The mask is resampled bilinearly from the 0/1 grid and thresholded at 0.5, which places the coast
between 1 km cells rather than along their staircase.
"""

from __future__ import annotations

import math
from pathlib import Path

import affine
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.windows import Window
from scipy import ndimage

from catalog.errors import LandMaskError

LAND_MASK_PATH = Path(__file__).parent / "data" / "land_globe_1km.tif"
"""The shipped 1 km land mask COG (1 = land), EPSG:4326."""
EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius, metres (to size buffers on geographic grids)."""


def _pixel_size_m(
    crs: CRS, transform: affine.Affine, shape: tuple[int, int]
) -> tuple[float, float]:
    """(row, col) pixel sizes in metres; for geographic CRSs at the grid's centre latitude."""
    xres = math.hypot(transform.a, transform.d)
    yres = math.hypot(transform.b, transform.e)
    if crs.is_geographic:
        _, lat = transform @ (shape[1] / 2, shape[0] / 2)
        metres_per_degree = math.pi * EARTH_RADIUS_M / 180.0
        return yres * metres_per_degree, xres * metres_per_degree * max(
            math.cos(math.radians(lat)), 1e-6
        )
    factor = crs.linear_units_factor[1]
    return yres * factor, xres * factor


_STRIP_ROWS = 256
_LATTICE_PX = 16
"""Spacing (destination pixels) of the lattice whose lon/lat PROJ computes for a north-up grid;
pixels interpolate between its nodes (bilinear: well under a metre off over 16 pixels of any
UTM grid, against a 1 km mask) instead of sending every pixel through PROJ, which took 70% of
the mask's time."""


def _read_wrapped(src: rasterio.DatasetReader, rows: tuple[int, int], cols: tuple[int, int]):
    """Rows ``[r0, r1)`` and columns ``[c0, c1)`` of band 1; columns wrap round the globe."""
    width = src.width
    parts, c = [], cols[0]
    while c < cols[1]:
        start = c % width
        stop = min(width, start + (cols[1] - c))
        parts.append(src.read(1, window=Window(start, rows[0], stop - start, rows[1] - rows[0])))
        c += stop - start
    return np.concatenate(parts, axis=1).astype(np.float32)


class _Lattice:
    """Lon/lat of a north-up grid's pixels, interpolated between nodes PROJ computes.

    The nodes sit at multiples of ``_LATTICE_PX`` pixels in absolute projected coordinates, not
    relative to the window, so a pixel gets the same lon/lat whichever Dask block asks for it.
    The bilinear step is written out because it is separable on a rectilinear grid (one weight
    per column and one per row); scipy's ``RegularGridInterpolator`` and ``map_coordinates`` take
    a coordinate pair per pixel, twice the arrays of a strip for the same result.
    """

    def __init__(self, xs: np.ndarray, ys: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> None:
        self.xs, self.ys, self.lon, self.lat = xs, ys, lon, lat

    @classmethod
    def build(cls, to_lonlat: Transformer, transform: affine.Affine, shape: tuple[int, int]):  # noqa: ANN206
        def nodes(first: float, step: float, count: int) -> np.ndarray:
            spacing = abs(step) * _LATTICE_PX
            ends = (first + 0.5 * step, first + (count - 0.5) * step)
            lo = math.floor(min(ends) / spacing) - 1
            hi = math.ceil(max(ends) / spacing) + 1
            return np.arange(lo, hi + 1, dtype=np.float64) * spacing

        xs = nodes(transform.c, transform.a, shape[1])
        ys = nodes(transform.f, transform.e, shape[0])
        gx, gy = np.meshgrid(xs, ys)
        lon, lat = to_lonlat.transform(gx, gy)
        if np.ptp(lon) > 180.0:  # across the anti-meridian: continuous longitudes
            lon = np.where(lon < 0.0, lon + 360.0, lon)
        return cls(xs, ys, lon, lat)

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lon/lat at the grid of ``x`` (columns) by ``y`` (rows) projected coordinates."""

        def weights(nodes: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            f = (at - nodes[0]) / (nodes[1] - nodes[0])
            i = np.clip(np.floor(f).astype(np.int64), 0, nodes.size - 2)
            return i, (f - i)

        ix, wx = weights(self.xs, x)
        iy, wy = weights(self.ys, y)
        wy = wy[:, None]

        def interpolate(v: np.ndarray) -> np.ndarray:
            top, bottom = v[iy], v[iy + 1]
            top = top[:, ix] * (1 - wx) + top[:, ix + 1] * wx
            bottom = bottom[:, ix] * (1 - wx) + bottom[:, ix + 1] * wx
            return top * (1 - wy) + bottom * wy

        return interpolate(self.lon), interpolate(self.lat)


def _any_land(src: rasterio.DatasetReader, inverse: affine.Affine, lattice: _Lattice) -> bool:
    """Whether the source has a land cell under the lattice, with the margin the strips read.

    Interpolated lon/lat stay within the range of the lattice's nodes, which reach past the grid
    on every side, so this window holds every cell the strips would read: at sea (most blocks of
    most scenes) one small read answers, and each pixel need not be placed."""
    sc, sr = inverse @ (lattice.lon, lattice.lat)
    sc, sr = sc - 0.5, np.clip(sr - 0.5, 0.0, src.height - 1.0)
    rows = (max(0, int(np.floor(sr.min())) - 1), min(src.height, int(np.floor(sr.max())) + 3))
    cols = (int(np.floor(sc.min())) - 1, int(np.floor(sc.max())) + 3)
    return bool(_read_wrapped(src, rows, cols).any())


def _sample(
    src: rasterio.DatasetReader, crs: CRS, transform: affine.Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Bilinear land fraction (0..1) of the source at the centre of every destination pixel.

    Written out rather than with ``rasterio.warp.reproject``: GDAL's warper gives results that
    depend on the destination window (on the real scene 15 to 1200 pixels change with a 1 to
    200 px margin, even with nearest resampling and an exact transformer), so masks of adjacent
    Dask blocks would disagree at their seams. Here each pixel's value depends on its own
    coordinates only. The source must be a global grid in longitude/latitude (as the shipped
    COG is); strips of rows keep memory flat.
    """
    if not CRS.from_user_input(src.crs).is_geographic:
        raise LandMaskError(f"The land mask {src.name} must be in longitude/latitude.")
    to_lonlat = Transformer.from_crs(crs, src.crs, always_xy=True)
    inverse = ~src.transform
    out = np.empty(shape, dtype=np.float32)
    cols = np.arange(shape[1], dtype=np.float64) + 0.5
    lattice = _Lattice.build(to_lonlat, transform, shape) if transform.is_rectilinear else None
    if lattice is not None and not _any_land(src, inverse, lattice):
        out[:] = 0.0  # what the strips below would compute from an all-sea window, at sea
        return out
    for r0 in range(0, shape[0], _STRIP_ROWS):
        r1 = min(shape[0], r0 + _STRIP_ROWS)
        rows = np.arange(r0, r1, dtype=np.float64) + 0.5
        if lattice is not None:
            lon, lat = lattice.lonlat(
                transform.c + cols * transform.a, transform.f + rows * transform.e
            )
        else:
            grid_c, grid_r = np.meshgrid(cols, rows)
            lon, lat = to_lonlat.transform(*(transform @ (grid_c, grid_r)))
        if np.ptp(lon) > 180.0:  # the strip crosses the anti-meridian: make longitudes continuous
            lon = np.where(lon < 0.0, lon + 360.0, lon)
        # fractional source indices of the pixel centres (cell centres are at index + 0.5)
        sc, sr = inverse @ (lon, lat)
        sc, sr = sc - 0.5, np.clip(sr - 0.5, 0.0, src.height - 1.0)
        c_lo, c_hi = int(np.floor(sc.min())) - 1, int(np.floor(sc.max())) + 3
        s_lo = max(0, int(np.floor(sr.min())) - 1)
        s_hi = min(src.height, int(np.floor(sr.max())) + 3)
        window = _read_wrapped(src, (s_lo, s_hi), (c_lo, c_hi))
        out[r0:r1] = ndimage.map_coordinates(
            window, [sr - s_lo, sc - c_lo], order=1, mode="nearest"
        )
    return out


def land_mask(
    crs: CRS | str | int,
    transform: affine.Affine,
    shape: tuple[int, int],
    *,
    buffer_m: float = 0.0,
    source: str | Path | None = None,
) -> np.ndarray:
    """Boolean land mask (True = land) on a raster grid.

    Args:
        crs: the grid's CRS (a rasterio CRS, ``"EPSG:32618"`` or an EPSG code).
        transform: the grid's affine transform (pixel corner -> CRS coordinates).
        shape: ``(rows, cols)`` of the grid.
        buffer_m: grow land by this many metres (0 keeps the coastline as it is). Land just
            outside the grid is taken into account, so masks of adjacent blocks agree.
        source: a land mask raster (1 = land) to use instead of the shipped 1 km COG.

    Returns:
        ``np.ndarray`` of bool, shape ``shape``.

    Raises:
        LandMaskError: bad grid or buffer, or the source cannot be read.
    """
    rows, cols = (int(shape[0]), int(shape[1]))
    if rows <= 0 or cols <= 0:
        raise LandMaskError(f"A land mask needs a grid of positive shape, got {shape}.")
    if buffer_m < 0 or not math.isfinite(buffer_m):
        raise LandMaskError(f"buffer_m must be a finite number of metres >= 0, got {buffer_m}.")
    try:
        dst_crs = CRS.from_user_input(crs)
    except Exception as exc:
        raise LandMaskError(f"{crs!r} is not a CRS rasterio understands: {exc}") from None
    transform = affine.Affine(*tuple(transform)[:6])
    if transform.is_degenerate:
        raise LandMaskError(f"The transform {tuple(transform)[:6]} is degenerate.")

    pad_y = pad_x = 0
    if buffer_m > 0:
        ysize, xsize = _pixel_size_m(dst_crs, transform, (rows, cols))
        pad_y, pad_x = math.ceil(buffer_m / ysize), math.ceil(buffer_m / xsize)
    padded_transform = transform @ affine.Affine.translation(-pad_x, -pad_y)
    padded_shape = (rows + 2 * pad_y, cols + 2 * pad_x)
    path = Path(source) if source is not None else LAND_MASK_PATH
    try:
        with rasterio.open(path) as src:
            padded = _sample(src, dst_crs, padded_transform, padded_shape)
    except RasterioError as exc:
        raise LandMaskError(f"Cannot read the land mask {path}: {exc}") from None
    land = padded >= 0.5
    if buffer_m > 0 and land.any():
        ysize, xsize = _pixel_size_m(dst_crs, transform, (rows, cols))
        distance = ndimage.distance_transform_edt(~land, sampling=(ysize, xsize))
        land = distance <= buffer_m
    return land[pad_y : pad_y + rows, pad_x : pad_x + cols]
