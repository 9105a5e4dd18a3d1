"""Write a simulated scene to disk window by window: COGs, label COGs, GeoJSON, a STAC item.

Memory stays flat with the scene size: the plan is small, each window is rendered and written to
tiled GeoTIFFs, and GDAL's COG driver then copies each one into a Cloud Optimized GeoTIFF with
overviews (streaming, with a bounded block cache). Everything is written into a hidden temporary
folder beside the destination and renamed into place at the end, so an interrupted run leaves no
half-written scene.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np
import pystac
import rasterio
import rasterio.shutil
import shapely
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from catalog.simulate.backscatter import CALIBRATION_CONSTANT, sigma0_to_dn
from catalog.simulate.config import SimulationConfig
from catalog.simulate.errors import OutputExists
from catalog.simulate.geometry import transformer
from catalog.simulate.plan import ScenePlan, build_plan
from catalog.simulate.render import render_window
from catalog.simulate.simulation import slick_table
from catalog.stac import make_s1_item

logger = logging.getLogger(__name__)

GROUND_SPEED_M_S = 6800.0
"""Speed of the sub-satellite point (m/s): turns along-track length into sensing time."""
_REFERENCE_ORBIT = (35353, "2020-11-21T22:57:59+00:00")
"""A real S1A absolute orbit and its time (the Cape Hatteras scene), to number simulated orbits."""
_ORBIT_MINUTES = 12 * 24 * 60 / 175
"""Sentinel-1 orbit period: 175 orbits in the 12-day repeat cycle."""
LABEL_NODATA = 255
"""Nodata of the label COGs (outside the product's data area)."""


def scene_id_for(plan: ScenePlan) -> str:
    """A Sentinel-1 product id for the simulated scene: times from the plan, orbit from the time,
    datatake and unique id from the seed (so two seeds never share an id)."""
    from datetime import datetime

    cfg = plan.config
    along = (
        cfg.shape[0] * cfg.pixel_size if cfg.geometry == "grd" else max(cfg.shape) * cfg.pixel_size
    )
    start = plan.time.replace(microsecond=0)
    stop = start + timedelta(seconds=max(1, round(along / GROUND_SPEED_M_S)))
    ref_orbit, ref_time = _REFERENCE_ORBIT
    minutes = (start - datetime.fromisoformat(ref_time)).total_seconds() / 60
    orbit = max(1, ref_orbit + round(minutes / _ORBIT_MINUTES))
    digest = hashlib.sha256(repr(cfg.__dask_tokenize__()).encode()).hexdigest().upper()
    return (
        f"{cfg.mission}_IW_GRDH_1SDV_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_"
        f"{orbit:06d}_{digest[:6]}_{digest[6:10]}"
    )


def footprint_lonlat(plan: ScenePlan) -> shapely.Geometry:
    """The data area of the raster as a polygon in EPSG:4326."""
    area = plan.raster.frame_box().intersection(plan.swath.valid_polygon())
    area = shapely.segmentize(shapely.simplify(area, plan.raster.pixel_size), 5000.0)
    to_lonlat = transformer(plan.raster.epsg, 4326)

    def convert(xy: np.ndarray) -> np.ndarray:
        e, n = plan.swath.frame_to_world(xy[:, 1], xy[:, 0])
        return np.stack(to_lonlat.transform(e, n), axis=1)

    return shapely.transform(area, convert)


def _profile(plan: ScenePlan, dtype: str, nodata: float) -> dict:
    rows, cols = plan.config.shape
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": dtype,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "ZSTD",
        "zstd_level": 1,
        "BIGTIFF": "IF_SAFER",
    }
    if plan.raster.kind == "utm":
        profile["crs"] = CRS.from_epsg(plan.raster.epsg)
        profile["transform"] = plan.raster.to_world
    return profile


def _to_cog(src: Path, dst: Path, *, resampling: str, predictor: bool) -> None:
    """Copy a tiled GeoTIFF into a COG (DEFLATE level 1, 512 px blocks, overviews) at ``dst``."""
    rasterio.shutil.copy(
        src,
        dst,
        driver="COG",
        COMPRESS="DEFLATE",
        LEVEL=1,  # a fifth faster than the default 6, and no larger on speckled data
        PREDICTOR="YES" if predictor else "NO",
        BLOCKSIZE=512,
        OVERVIEW_RESAMPLING=resampling,
        NUM_THREADS="ALL_CPUS",
        BIGTIFF="IF_SAFER",
    )


def _encode(
    plan: ScenePlan, window: tuple[int, int, int, int]
) -> tuple[tuple[int, int, int, int], dict[str, np.ndarray], np.ndarray]:
    """Render a window and encode its layers as they are written (DN or sigma0, labels with
    nodata): 6 bytes a pixel to pass between processes rather than 16."""
    win = render_window(plan, window)
    outside = ~win.valid
    if plan.raster.kind == "grd":
        vv, vh = sigma0_to_dn(win.vv), sigma0_to_dn(win.vh)
    else:
        vv, vh = win.vv, win.vh
    layers = {
        "vv": vv,
        "vh": vh,
        "classes": np.where(outside, LABEL_NODATA, win.classes).astype(np.uint8),
        "lookalikes": np.where(outside, LABEL_NODATA, win.lookalike).astype(np.uint8),
    }
    return window, layers, win.slick_pixels


_WORKER_PLAN: ScenePlan | None = None
"""The plan of a rendering worker process (set once by :func:`_init_worker`)."""


def _init_worker(plan: ScenePlan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _encode_in_worker(window: tuple[int, int, int, int]):
    assert _WORKER_PLAN is not None
    return _encode(_WORKER_PLAN, window)


def _rendered(
    plan: ScenePlan, windows: list[tuple[int, int, int, int]], *, workers: int
) -> Iterator[tuple[tuple[int, int, int, int], dict[str, np.ndarray], np.ndarray]]:
    """Rendered, encoded windows in order; with ``workers > 1`` from a pool of processes, at most
    two windows per worker in flight so memory stays flat."""
    if workers <= 1 or len(windows) < 2:
        for window in windows:
            yield _encode(plan, window)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(plan,)
    ) as pool:
        pending: deque = deque()
        todo = iter(windows)
        for window in todo:
            pending.append(pool.submit(_encode_in_worker, window))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().result()
            window = next(todo, None)
            if window is not None:
                pending.append(pool.submit(_encode_in_worker, window))
            yield result


def write_scene(
    config: SimulationConfig,
    out_dir: str | Path,
    *,
    window_size: int = 1024,
    overwrite: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pystac.Item:
    """Simulate ``config`` and write it under ``out_dir/<scene id>/``.

    Files: ``<id>.vv.tif`` and ``<id>.vh.tif`` (COG; ``"grd"``: uint16 DN with GCPs, nodata 0,
    ``sigma0 = DN**2 / K**2`` with K = :data:`CALIBRATION_CONSTANT`; ``"utm"``: float32 linear
    sigma0 in UTM, nodata NaN), ``<id>.classes.tif`` (uint8: 0 background, 1 INFRA, 2 NATURAL,
    3 VESSEL; 255 outside the data), ``<id>.lookalikes.tif`` (uint8 0/1; 255 outside),
    ``<id>.slicks.geojson`` (one feature per slick) and ``<id>.json`` (the STAC item linking them).

    Args:
        config: the scene.
        out_dir: parent folder (created if missing).
        window_size: pixels per side of the windows rendered at a time (memory ~150 B/px).
        overwrite: replace an existing scene of the same id.
        workers: processes rendering windows side by side (1: render here). The files are the
            same whatever the count; each worker holds the plan (tens of MB for a full scene)
            and a few windows.
        progress: called with ``(windows done, windows in all)``.

    Returns:
        The STAC item (self href at ``out_dir/<id>/<id>.json``).

    Raises:
        OutputExists: the scene folder exists and ``overwrite`` is false.
    """
    started = time.perf_counter()
    plan = build_plan(config)
    scene_id = scene_id_for(plan)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / scene_id
    if final.exists() and not overwrite:
        raise OutputExists(f"{final} exists: pass overwrite=True (--overwrite) to replace it.")
    tmp = Path(tempfile.mkdtemp(prefix=f".{scene_id}.", dir=out_dir))
    try:
        item = _write(
            plan,
            scene_id,
            tmp,
            final,
            window_size=window_size,
            workers=workers,
            progress=progress,
        )
        tmp.chmod(0o755)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info(
        "wrote %s (%dx%d px) in %.1f s", final, *config.shape, time.perf_counter() - started
    )
    return item


def _write(
    plan: ScenePlan,
    scene_id: str,
    tmp: Path,
    final: Path,
    *,
    window_size: int,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> pystac.Item:
    cfg = plan.config
    rows, cols = cfg.shape
    grd = plan.raster.kind == "grd"
    gcps = (plan.raster.gcps(), CRS.from_epsg(4326)) if grd else None
    layers = {
        "vv": _profile(plan, "uint16" if grd else "float32", 0 if grd else float("nan")),
        "vh": _profile(plan, "uint16" if grd else "float32", 0 if grd else float("nan")),
        "classes": _profile(plan, "uint8", LABEL_NODATA),
        "lookalikes": _profile(plan, "uint8", LABEL_NODATA),
    }
    staging = {key: tmp / f"{key}.staging.tif" for key in layers}
    windows = [
        (r, c, min(window_size, rows - r), min(window_size, cols - c))
        for r in range(0, rows, window_size)
        for c in range(0, cols, window_size)
    ]
    labelled = np.zeros(len(plan.slicks), dtype=np.int64)
    with rasterio.Env(GDAL_CACHEMAX=256):
        with warnings.catch_warnings():  # GRD staging files get their GCPs right after opening
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            datasets = {k: rasterio.open(staging[k], "w", **p) for k, p in layers.items()}
        try:
            if gcps is not None:
                for ds in datasets.values():
                    ds.gcps = gcps
            for k, (window, layers_out, slick_pixels) in enumerate(
                _rendered(plan, windows, workers=workers)
            ):
                r, c, h, w = window
                labelled += slick_pixels
                target = Window(c, r, w, h)
                for key, values in layers_out.items():
                    datasets[key].write(values, 1, window=target)
                if progress is not None:
                    progress(k + 1, len(windows))
        finally:
            for ds in datasets.values():
                ds.close()
        names = {
            "vv": f"{scene_id}.vv.tif",
            "vh": f"{scene_id}.vh.tif",
            "classes": f"{scene_id}.classes.tif",
            "lookalikes": f"{scene_id}.lookalikes.tif",
        }
        for key, src in staging.items():
            label = key in ("classes", "lookalikes")
            _to_cog(
                src,
                tmp / names[key],
                resampling="NEAREST" if label else "AVERAGE",
                predictor=not label,
            )
            src.unlink()

    polygons = slick_table(plan, labelled)
    source = polygons.pop("source")
    polygons["source_lon"] = [p.x for p in source]
    polygons["source_lat"] = [p.y for p in source]
    geojson = f"{scene_id}.slicks.geojson"
    (tmp / geojson).write_text(polygons.to_json(drop_id=True))

    properties = {
        "sat:orbit_state": plan.swath.pass_direction.lower(),
        "slickwatch:seed": cfg.seed,
        "slickwatch:pixel_size": cfg.pixel_size,
        "slickwatch:geometry": cfg.geometry,
        "slickwatch:wind_speed": round(plan.wind.mean_speed, 2),
        "slickwatch:wind_direction": round(plan.wind.mean_direction % 360, 1),
        "slickwatch:slicks": {
            n: int((polygons["class"] == n).sum()) for n in ("VESSEL", "INFRA", "NATURAL")
        },
    }
    item = make_s1_item(
        scene_id,
        footprint=footprint_lonlat(plan),
        assets={"vv": str(final / names["vv"]), "vh": str(final / names["vh"])},
        kind="dn" if grd else "sigma0",
        epsg=None if grd else plan.raster.epsg,
        shape=(rows, cols),
        transform=None if grd else plan.raster.to_world,
        calibration_constant=CALIBRATION_CONSTANT if grd else None,
        label_assets={
            "classes": str(final / names["classes"]),
            "lookalikes": str(final / names["lookalikes"]),
            "polygons": str(final / geojson),
        },
        properties=properties,
        simulated=True,
    )
    item.set_self_href(str(final / f"{scene_id}.json"))
    item.make_asset_hrefs_relative()
    (tmp / f"{scene_id}.json").write_text(
        json.dumps(item.to_dict(include_self_link=False), indent=2)
    )
    return item
