"""The working grid of a scene: a north-up raster in the scene's local UTM zone.

Every step after loading works on this grid. Its origin is snapped to a multiple of the resolution
in the UTM zone's own coordinates, so that the pixel edges of any two blocks (and of two runs with
different chunk sizes) fall on exactly the same coordinates: polygons vectorized in neighbouring
blocks then share their seam vertices bit for bit, and stitching them is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import affine
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from catalog.footprint import utm_crs
from catalog.scene import Scene
from pipeline.errors import GridError

_DENSIFY_DEG = 0.02
"""Footprint edges are densified to this spacing (degrees) before projecting them."""


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, pixel size and extent."""

    epsg: int
    """EPSG code of the grid's CRS (a UTM zone for scenes georeferenced by GCPs)."""
    resolution: float
    """Pixel edge, metres."""
    x0: float
    """Easting of the grid's west edge, metres."""
    y0: float
    """Northing of the grid's north edge, metres."""
    shape: tuple[int, int]
    """``(rows, cols)``, pixels."""

    @property
    def transform(self) -> affine.Affine:
        """Pixel corner -> CRS coordinates."""
        return affine.Affine(self.resolution, 0.0, self.x0, 0.0, -self.resolution, self.y0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in CRS metres."""
        rows, cols = self.shape
        return (
            self.x0,
            self.y0 - rows * self.resolution,
            self.x0 + cols * self.resolution,
            self.y0,
        )

    @property
    def crs(self) -> pyproj.CRS:
        """The grid's CRS."""
        return pyproj.CRS.from_epsg(self.epsg)

    @property
    def pixels(self) -> int:
        """Number of pixels."""
        return self.shape[0] * self.shape[1]

    def window_transform(self, row: int, col: int) -> affine.Affine:
        """Transform of a window whose top-left pixel is ``(row, col)`` of this grid."""
        return affine.Affine(
            self.resolution,
            0.0,
            self.x0 + col * self.resolution,
            0.0,
            -self.resolution,
            self.y0 - row * self.resolution,
        )

    def __dask_tokenize__(self) -> tuple[object, ...]:
        return ("slickwatch.Grid", self.epsg, self.resolution, self.x0, self.y0, self.shape)


def _project(geom: BaseGeometry, crs: pyproj.CRS) -> BaseGeometry:
    to_crs = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    dense = shapely.segmentize(geom, _DENSIFY_DEG)
    return shapely.transform(dense, lambda xy: np.column_stack(to_crs.transform(*xy.T)))


def footprint_in(scene: Scene, epsg: int) -> BaseGeometry:
    """The scene footprint projected to ``epsg`` (edges densified first)."""
    return _project(scene.footprint, pyproj.CRS.from_epsg(epsg))


_SNAP = 1e-6
"""Pixels of float error tolerated when snapping grid edges to pixel lines."""


def _raster_extent(scene: Scene) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the union of a projected scene's north-up rasters, in their
    CRS; ``None`` when not every raster's transform and shape are known (GCP scenes, STAC items
    without ``proj:transform``/``proj:shape``)."""
    if scene.georeferencing != "affine" or not scene.assets:
        return None
    bounds = []
    for asset in scene.assets:
        t, shape = asset.transform, asset.shape
        if t is None or shape is None or t.b != 0 or t.d != 0:
            return None
        xs = (t.c, t.c + shape[1] * t.a)
        ys = (t.f, t.f + shape[0] * t.e)
        bounds.append((min(xs), min(ys), max(xs), max(ys)))
    return (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )


def _anchor(scene: Scene, resolution: float) -> tuple[float, float]:
    """A point the grid's pixel corners go through: the rasters' own corner when they are
    projected (so that a working grid at their resolution needs no resampling), else 0, 0."""
    if scene.georeferencing != "affine":
        return 0.0, 0.0
    for asset in scene.assets:
        t = asset.transform
        if t is not None and t.b == 0 and t.d == 0:
            return float(t.c) % resolution, float(t.f) % resolution
    return 0.0, 0.0


def scene_grid(scene: Scene, *, resolution: float = 80.0, max_pixels: int = 2**31) -> Grid:
    """The working grid of a scene.

    The CRS is the scene's own when its rasters are already projected (a simulated or
    terrain-corrected scene: no reprojection, only resampling), else the UTM zone of the footprint's
    centroid. The grid covers the footprint (within the rasters' extent when they are projected),
    its edges snapped outward to multiples of ``resolution`` from the rasters' own corner
    (projected rasters) or from 0 (UTM): at the rasters' own pixel size the grid is theirs, and
    the load reads them without GDAL's warper.

    Args:
        scene: the scene.
        resolution: pixel edge in metres.
        max_pixels: refuse grids larger than this (a typo in ``resolution``, say).

    Raises:
        GridError: bad resolution, a geographic scene CRS, or a grid too large.
    """
    if not (math.isfinite(resolution) and resolution > 0):
        raise GridError(f"The resolution must be a positive number of metres, got {resolution}.")
    epsg = scene.epsg
    if epsg is not None and not pyproj.CRS.from_epsg(epsg).is_projected:
        raise GridError(
            f"Scene {scene.scene_id} is in EPSG:{epsg}, a geographic CRS: the pipeline needs "
            "projected rasters (metres) or raw GRD files with ground control points."
        )
    if epsg is None:
        epsg = int(utm_crs(scene.footprint).to_epsg())
    west, south, east, north = footprint_in(scene, epsg).bounds
    extent = _raster_extent(scene)
    if extent is not None:  # nothing to see beyond the rasters: no grid there either
        west, south = max(west, extent[0]), max(south, extent[1])
        east, north = min(east, extent[2]), min(north, extent[3])
    ax, ay = _anchor(scene, resolution)
    # snapped outward, up to a millionth of a pixel of float error (a footprint or raster edge on
    # a pixel line stays on it: the grid of a raster at the working resolution is its own)
    x0 = ax + math.floor((west - ax) / resolution + _SNAP) * resolution
    y0 = ay + math.ceil((north - ay) / resolution - _SNAP) * resolution
    cols = math.ceil((east - x0) / resolution - _SNAP)
    rows = math.ceil((y0 - south) / resolution - _SNAP)
    if rows * cols > max_pixels:
        raise GridError(
            f"Scene {scene.scene_id} at {resolution} m makes a {rows} x {cols} grid: is the "
            "resolution right? (Sentinel-1 IW scenes are about 250 km wide.)"
        )
    return Grid(epsg=epsg, resolution=float(resolution), x0=x0, y0=y0, shape=(rows, cols))


def shelf_pack(
    sizes: list[tuple[int, int]], *, max_cols: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """Offsets ``[n, 2]`` (row, col) that lay rectangles of ``(rows, cols)`` side by side on one
    canvas, in shelves (rows of rectangles) of at most ``max_cols`` columns (a wider rectangle
    gets a shelf of its own), and the canvas's shape. Rectangles never overlap."""
    offsets = np.zeros((len(sizes), 2), dtype=np.int64)
    top = left = shelf = width = 0
    for i, (rows, cols) in enumerate(sizes):
        if left and left + cols > max_cols:
            top, left, shelf = top + shelf, 0, 0
        offsets[i] = (top, left)
        left += cols
        shelf = max(shelf, rows)
        width = max(width, left)
    return offsets, (top + shelf, width)
