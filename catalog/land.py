"""Land masks on any raster grid, for the pipeline's prepare step.

Source: ``catalog/data/land_globe_1km.tif``, a 1-bit, tiled, DEFLATE-compressed COG (2 MB) of the
``global-land-mask`` package's grid (GLOBE 1 km land/sea, 30 arc-seconds, public data; see
``catalog/data/README.md`` for how it was made). Why this and not the alternatives, measured on
the real Cape Hatteras scene by ``benchmarks/land_mask.py``:

- the Natural Earth low-resolution ocean polygon misplaces coastlines by kilometres and misses
  the Outer Banks barrier islands altogether: fine for relevancy, not for masking pixels;
- ``global-land-mask`` as a package loads its whole 21600 x 43200 boolean grid (0.93 GB) at
  import, in every Dask worker; as a COG the same grid is read one window at a time (a scene needs
  a few hundred kB) through GDAL's warper;
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
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.warp import reproject
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
        _, lat = transform * (shape[1] / 2, shape[0] / 2)
        metres_per_degree = math.pi * EARTH_RADIUS_M / 180.0
        return yres * metres_per_degree, xres * metres_per_degree * max(
            math.cos(math.radians(lat)), 1e-6
        )
    factor = crs.linear_units_factor[1]
    return yres * factor, xres * factor


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
    padded_transform = transform * affine.Affine.translation(-pad_x, -pad_y)
    padded = np.zeros((rows + 2 * pad_y, cols + 2 * pad_x), dtype=np.float32)

    path = Path(source) if source is not None else LAND_MASK_PATH
    try:
        with rasterio.open(path) as src:
            reproject(
                source=rasterio.band(src, 1),
                destination=padded,
                dst_transform=padded_transform,
                dst_crs=dst_crs,
                dst_nodata=0,
                resampling=Resampling.bilinear,
            )
    except RasterioError as exc:
        raise LandMaskError(f"Cannot read the land mask {path}: {exc}") from None
    land = padded >= 0.5
    if buffer_m > 0 and land.any():
        ysize, xsize = _pixel_size_m(dst_crs, transform, (rows, cols))
        distance = ndimage.distance_transform_edt(~land, sampling=(ysize, xsize))
        land = distance <= buffer_m
    return land[pad_y : pad_y + rows, pad_x : pad_x + cols]
