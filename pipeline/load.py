"""Load: a scene's measurement rasters as one lazy ``(band, y, x)`` array on the working grid.

Two readers, one result (float32, NaN nodata, the asset's own units: DN or linear sigma0):

- projected rasters (a CRS and an affine transform, e.g. simulated or terrain-corrected scenes)
  go through stackstac, which opens each file once per worker and warps with GDAL;
- raw GRD measurement files, georeferenced by ground control points, go through
  :class:`GcpRaster`, a lazily opened, picklable array that warps with the GCP polynomial.

Downsampling keeps the mean of the backscattered power: DN are resampled by their root mean square
(``sigma0 = DN²/K²``, so the RMS of DN gives the mean sigma0 after calibration), sigma0 by the mean;
upsampling is bilinear (:func:`resampling_for`).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import warnings
from dataclasses import dataclass, replace
from typing import Any

import dask.array as da
import numpy as np
import pyproj
import rasterio
import shapely
import xarray as xr
from dask.base import tokenize
from rasterio.control import GroundControlPoint
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.warp import reproject
from stackstac.rio_reader import AutoParallelRioReader

from catalog.scene import Asset, Scene
from pipeline.errors import RasterReadError
from pipeline.grid import Grid

logger = logging.getLogger(__name__)

# Warping a raw GRD file: rasterio warns that the file has no geotransform although the warp
# uses its GCPs, once per tile. (catch_warnings() is not thread-safe, so filter by module.)
warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module="rasterio.warp")

WARP_TILE = 512
"""Edge (pixels) of the global tiles GCP-georeferenced rasters are warped in.

GDAL approximates the GCP transformer linearly along each row segment it warps (to 1/8 pixel), so
the values of a pixel depend slightly on which window it was warped in. Warping fixed tiles of the
working grid, and cropping them to each chunk, makes every pixel's value independent of the chunk
size (measured on the real scene: up to 22 DN apart otherwise).
"""


def resampling_for(asset: Asset, *, source_m: float | None, resolution: float) -> Resampling:
    """How to bring an asset to the working resolution.

    Downsampling (source pixels smaller than the working ones, e.g. 10 m GRD to 80 m) keeps the
    mean power: RMS of DN (``sigma0 = DN²/K²``), mean of sigma0. Upsampling (e.g. the 200 m real
    test scene to 80 m) interpolates bilinearly, as the model's own real-scene check does; an
    area kernel would only repeat each source pixel in blocks.
    """
    if source_m is not None and source_m > resolution * 1.25:
        return Resampling.bilinear
    return Resampling.rms if asset.kind == "dn" else Resampling.average


def gcp_pixel_size_m(gcps: list[GroundControlPoint]) -> float | None:
    """Mean ground size (metres) of a pixel of a raster georeferenced by GCPs in EPSG:4326."""
    if len(gcps) < 2:
        return None
    geod = pyproj.Geod(ellps="WGS84")
    ratios = []
    by_row: dict[float, list[GroundControlPoint]] = {}
    for g in gcps:
        by_row.setdefault(round(g.row, 3), []).append(g)
    for row in by_row.values():
        if len(row) >= 2:
            a, b = min(row, key=lambda g: g.col), max(row, key=lambda g: g.col)
            if b.col > a.col:
                ratios.append(geod.inv(a.x, a.y, b.x, b.y)[2] / (b.col - a.col))
    first, last = min(gcps, key=lambda g: g.row), max(gcps, key=lambda g: g.row)
    if last.row > first.row:
        near = min(gcps, key=lambda g: (abs(g.col - first.col), -g.row))
        if near.row > first.row:
            ratios.append(geod.inv(first.x, first.y, near.x, near.y)[2] / (near.row - first.row))
    return float(np.mean(ratios)) if ratios else None


def check_asset(asset: Asset, *, scene_id: str) -> tuple[list[GroundControlPoint], Any]:
    """Open an asset's header on the client: it exists, has one band and is georeferenced.

    Returns:
        The asset's GCPs and their CRS (empty list and ``None`` for projected rasters).

    Raises:
        RasterReadError: missing or unreadable file, several bands, or no georeferencing.
    """
    try:
        with warnings.catch_warnings():  # "not georeferenced" is checked for below, with a remedy
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(asset.href) as ds:
                count, crs, (gcps, gcp_crs) = ds.count, ds.crs, ds.gcps
    except RasterioError as exc:
        raise RasterReadError(
            f"Cannot open the {asset.polarization} raster of {scene_id} ({asset.href}): {exc}. "
            "Check the path, or download the file again."
        ) from None
    if count != 1:
        raise RasterReadError(
            f"{asset.href} has {count} bands; each polarization must be its own one-band raster."
        )
    if asset.epsg is None and not gcps:
        raise RasterReadError(
            f"{asset.href} has no georeferencing: its STAC asset gives no proj:epsg/transform "
            "and the file has neither a CRS nor ground control points. Add the proj fields to "
            "the item or use the original GRD measurement file."
        )
    if asset.epsg is not None and crs is None and asset.transform is None:
        raise RasterReadError(
            f"{asset.href} has no CRS in the file and no proj:transform in its STAC asset: "
            "add proj:transform (and proj:shape) to the item."
        )
    return list(gcps), gcp_crs


@dataclass(frozen=True)
class GcpRaster:
    """A GCP-georeferenced raster seen as a lazy float32 array on a working grid.

    Indexing warps only the :data:`WARP_TILE` tiles it needs. The file is opened the first time a
    worker thread reads from it, then kept open for that thread: pickling sends only the path,
    the GCPs and the grid, never an open dataset.
    """

    href: str
    """Path or URL of the raster."""
    gcps: tuple[GroundControlPoint, ...]
    """The ground control points (pixel -> lon/lat)."""
    gcp_crs: str
    """CRS of the GCPs (WKT or ``EPSG:4326``)."""
    grid: Grid
    """The working grid."""
    nodata: float | None
    """Nodata value of the file (0 for Sentinel-1 DN)."""
    resampling: Resampling
    """GDAL resampling."""

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(rows, cols)``."""
        return self.grid.shape

    @property
    def ndim(self) -> int:
        """Always 2."""
        return 2

    @property
    def dtype(self) -> np.dtype:
        """Always float32."""
        return np.dtype("float32")

    def __dask_tokenize__(self) -> tuple[object, ...]:
        gcps = tuple((g.row, g.col, g.x, g.y) for g in self.gcps)
        return (
            "slickwatch.GcpRaster",
            self.href,
            gcps,
            self.gcp_crs,
            self.grid,
            self.nodata,
            int(self.resampling),
        )

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        r0, r1, _ = rows
        c0, c1, _ = cols
        out = np.full((max(r1 - r0, 0), max(c1 - c0, 0)), np.nan, dtype=np.float32)
        if out.size == 0:
            return out
        t = WARP_TILE
        for tr in range(r0 // t * t, r1, t):
            for tc in range(c0 // t * t, c1, t):
                tile = self._tile(tr, tc)
                ys, ye = max(r0, tr), min(r1, tr + tile.shape[0])
                xs, xe = max(c0, tc), min(c1, tc + tile.shape[1])
                part = tile[ys - tr : ye - tr, xs - tc : xe - tc]
                out[ys - r0 : ye - r0, xs - c0 : xe - c0] = part
        return out

    def _tile(self, row: int, col: int) -> np.ndarray:
        rows = min(WARP_TILE, self.shape[0] - row)
        cols = min(WARP_TILE, self.shape[1] - col)
        out = np.full((rows, cols), np.nan, dtype=np.float32)
        dataset = _open_dataset(self.href)
        failure = None
        try:
            reproject(
                rasterio.band(dataset, 1),
                out,
                gcps=list(self.gcps),
                src_crs=self.gcp_crs,
                src_nodata=self.nodata,
                dst_crs=self.grid.crs.to_wkt(),
                dst_transform=self.grid.window_transform(row, col),
                dst_nodata=np.nan,
                resampling=self.resampling,
            )
        except RasterioError as exc:
            failure = f"{exc}".rstrip(".")
        if failure is not None:  # raised outside the handler: GDAL's error is not picklable
            raise RasterReadError(
                f"Cannot read {self.href} around working pixel ({row}, {col}): {failure}. The "
                "file may be truncated or corrupt: download it again."
            )
        return out


_local = threading.local()


def _open_dataset(href: str) -> rasterio.io.DatasetReader:
    """The dataset ``href``, opened once per thread (GDAL handles are not thread-safe)."""
    cache: dict[str, rasterio.io.DatasetReader] = getattr(_local, "datasets", None) or {}
    _local.datasets = cache
    dataset = cache.get(href)
    if dataset is None:
        failure = None
        try:
            dataset = rasterio.open(href)
        except RasterioError as exc:
            failure = f"{exc}".rstrip(".")
        if failure is not None:
            raise RasterReadError(f"Cannot open {href}: {failure}")
        cache[href] = dataset
    return dataset


class _SceneReader(AutoParallelRioReader):
    """stackstac's reader whose failures say which file and what to do."""

    def read(self, window: Any, **kwargs: Any) -> np.ndarray:
        try:
            return super().read(window, **kwargs)
        except (RuntimeError, RasterioError) as exc:
            cause = f"{exc.__cause__ or exc}".rstrip(".")
        # Raised outside the handler, without the GDAL exception as context: distributed sends
        # a task's error with its context chain, and GDAL's exceptions do not unpickle.
        raise RasterReadError(
            f"Cannot read {self.url} ({window}): {cause}. The file may be truncated or "
            "corrupt: download it again."
        )


@dataclass(frozen=True)
class ProjectedRaster:
    """A projected raster (a CRS and an affine transform) seen as a float32 array on a working grid.

    Indexing reads through stackstac's reader (:class:`_SceneReader`: GDAL's warped view of the
    file on the working grid, the spec ``stackstac.stack`` builds in :func:`load_scene`), so any
    window holds what that window of :func:`load_scene`'s array holds. The reader is made once
    per worker process (:func:`_projected_reader`) and opens the file once per thread; pickling
    sends only the path and the grid.
    """

    href: str
    """Path or URL of the raster."""
    grid: Grid
    """The working grid."""
    resampling: Resampling
    """GDAL resampling."""

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(rows, cols)``."""
        return self.grid.shape

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        from rasterio.windows import Window

        (r0, r1, _), (c0, c1, _) = (k.indices(n) for k, n in zip(key, self.shape, strict=True))
        reader = _projected_reader(self.href, self.grid, self.resampling)
        return reader.read(Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0)))


@functools.lru_cache(maxsize=8)
def _projected_reader(href: str, grid: Grid, resampling: Resampling) -> _SceneReader:
    """stackstac's reader of a file on a grid, kept for the next blocks of the scene (a few
    scenes' worth: a backfill's worker moves on to other files)."""
    from stackstac.raster_spec import RasterSpec

    spec = RasterSpec(
        epsg=grid.epsg, bounds=grid.bounds, resolutions_xy=(grid.resolution, grid.resolution)
    )
    return _SceneReader(
        url=href,
        spec=spec,
        resampling=resampling,
        dtype=np.dtype("float32"),
        fill_value=np.float32(np.nan),
        scale_offset=(1, 0),
    )


@dataclass(frozen=True)
class SceneRasters:
    """A scene's bands on the working grid, read window by window: what a block's load task
    carries (small and picklable; nothing is opened until a worker reads)."""

    bands: tuple[GcpRaster | ProjectedRaster, ...]
    """One raster per polarization, in the order of the layers."""

    def read(self, rows: slice, cols: slice) -> np.ndarray:
        """``(band, h, w)`` float32 of a window of the grid, NaN where there is no data."""
        (r0, r1, _), (c0, c1, _) = (
            k.indices(n) for k, n in zip((rows, cols), self.bands[0].shape, strict=True)
        )
        out = np.empty((len(self.bands), max(r1 - r0, 0), max(c1 - c0, 0)), dtype=np.float32)
        for i, band in enumerate(self.bands):
            out[i] = band[rows, cols]
        return out


def scene_rasters(
    scene: Scene, *, grid: Grid, polarizations: tuple[str, ...] = ("VV",)
) -> SceneRasters:
    """The scene's bands as :class:`SceneRasters`, checked as :func:`load_scene` checks them.

    Raises:
        RasterReadError: an asset is missing, unreadable or not georeferenced.
    """
    located = _located(scene, polarizations)
    if scene.georeferencing != "affine":
        return SceneRasters(tuple(_gcp_rasters(located, grid=grid, scene_id=scene.scene_id)))
    bands = []
    for asset in (_fill_projected(scene, a) for a, _, _ in located):
        resampling = resampling_for(
            asset, source_m=abs(asset.transform.a), resolution=grid.resolution
        )
        bands.append(ProjectedRaster(href=asset.href, grid=grid, resampling=resampling))
    return SceneRasters(tuple(bands))


def _item_dict(scene: Scene, assets: list[Asset]) -> dict[str, Any]:
    """A minimal STAC item for stackstac, built from the Scene's assets (the source of truth)."""
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": scene.scene_id,
        "geometry": shapely.geometry.mapping(scene.footprint),
        "bbox": list(scene.footprint.bounds),
        "properties": {"datetime": scene.start.isoformat()},
        "assets": {
            a.polarization: {
                "href": a.href,
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
                "proj:epsg": a.epsg,
                **({"proj:transform": list(a.transform)[:6]} if a.transform is not None else {}),
                **({"proj:shape": list(a.shape)} if a.shape is not None else {}),
            }
            for a in assets
        },
        "links": [],
    }


def _fill_projected(scene: Scene, asset: Asset) -> Asset:
    """The asset with transform and shape from the file when the STAC item lacks them."""
    if asset.transform is not None and asset.shape is not None:
        return asset
    with rasterio.open(asset.href) as ds:
        return replace(asset, transform=ds.transform, shape=(ds.height, ds.width))


def _located(
    scene: Scene, polarizations: tuple[str, ...]
) -> list[tuple[Asset, list[GroundControlPoint], Any]]:
    """Each polarization's asset with its GCPs and their CRS, checked (:func:`check_asset`)."""
    return [
        (asset, *check_asset(asset, scene_id=scene.scene_id))
        for asset in (scene.asset(p) for p in polarizations)
    ]


def load_scene(
    scene: Scene,
    *,
    grid: Grid,
    polarizations: tuple[str, ...] = ("VV",),
    chunks: int = 2048,
) -> xr.DataArray:
    """The scene's rasters on ``grid``, lazily.

    Args:
        scene: the scene.
        grid: the working grid (:func:`pipeline.grid.scene_grid`).
        polarizations: channels to load, in this order.
        chunks: chunk edge in working pixels.

    Returns:
        ``xarray.DataArray`` float32 ``(band, y, x)``, one chunk along ``band``, ``chunks`` along
        ``y`` and ``x``; NaN where there is no data. Coordinates are pixel centres in
        ``EPSG:grid.epsg``; ``attrs`` hold ``epsg``, ``transform`` and ``resolution``.

    Raises:
        RasterReadError: an asset is missing, unreadable or not georeferenced.
    """
    located = _located(scene, polarizations)
    if scene.georeferencing == "affine":
        array = _load_projected(scene, [a for a, _, _ in located], grid=grid, chunks=chunks)
    else:
        array = _load_gcps(located, grid=grid, chunks=chunks, scene_id=scene.scene_id)
    rows, cols = grid.shape
    res = grid.resolution
    return xr.DataArray(
        array,
        dims=("band", "y", "x"),
        coords={
            "band": list(polarizations),
            "y": grid.y0 - (np.arange(rows) + 0.5) * res,
            "x": grid.x0 + (np.arange(cols) + 0.5) * res,
        },
        attrs={"epsg": grid.epsg, "transform": tuple(grid.transform)[:6], "resolution": res},
        name=scene.scene_id,
    )


def _load_projected(scene: Scene, assets: list[Asset], *, grid: Grid, chunks: int) -> da.Array:
    import stackstac

    assets = [_fill_projected(scene, a) for a in assets]
    stack = stackstac.stack(
        [_item_dict(scene, assets)],
        assets=[a.polarization for a in assets],
        epsg=grid.epsg,
        resolution=grid.resolution,
        bounds=grid.bounds,
        snap_bounds=False,
        resampling=resampling_for(
            assets[0], source_m=abs(assets[0].transform.a), resolution=grid.resolution
        ),
        chunksize=chunks,
        dtype=np.dtype("float32"),
        fill_value=np.float32(np.nan),
        rescale=False,
        properties=False,
        band_coords=False,
        reader=_SceneReader,
        errors_as_nodata=(),
    )
    if stack.shape[-2:] != grid.shape:
        raise RasterReadError(
            f"stackstac made a {stack.shape[-2:]} grid where {grid.shape} was asked for "
            f"({scene.scene_id}); report this with the scene's STAC item."
        )
    return stack.data[0].rechunk({0: -1})


def _gcp_rasters(
    located: list[tuple[Asset, list[GroundControlPoint], Any]], *, grid: Grid, scene_id: str
) -> list[GcpRaster]:
    rasters = []
    for asset, gcps, gcp_crs in located:
        if not gcps:
            raise RasterReadError(
                f"The {asset.polarization} raster of {scene_id} ({asset.href}) has no ground "
                "control points although the scene is georeferenced by GCPs."
            )
        rasters.append(
            GcpRaster(
                href=asset.href,
                gcps=tuple(gcps),
                gcp_crs=gcp_crs.to_wkt() if gcp_crs is not None else "EPSG:4326",
                grid=grid,
                nodata=asset.nodata
                if asset.nodata is not None and not math.isnan(asset.nodata)
                else None,
                resampling=resampling_for(
                    asset, source_m=gcp_pixel_size_m(gcps), resolution=grid.resolution
                ),
            )
        )
    return rasters


def _load_gcps(
    located: list[tuple[Asset, list[GroundControlPoint], Any]],
    *,
    grid: Grid,
    chunks: int,
    scene_id: str,
) -> da.Array:
    bands = []
    for (asset, _, _), source in zip(
        located, _gcp_rasters(located, grid=grid, scene_id=scene_id), strict=True
    ):
        bands.append(
            da.from_array(
                source,
                chunks=(chunks, chunks),
                name=f"load-{asset.polarization.lower()}-{tokenize(source, chunks)}",
                asarray=False,
                lock=False,
                inline_array=False,
                meta=np.empty((0, 0), dtype=np.float32),
            )
        )
    return da.stack(bands, axis=0).rechunk({0: -1})
