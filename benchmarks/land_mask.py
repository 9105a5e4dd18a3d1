"""Compare land-mask sources on the real Cape Hatteras scene: coastline agreement, time, memory.

    .venv/bin/python benchmarks/land_mask.py [--resolution 200]

Each source runs in its own process (so peak memory is its own) on the scene's UTM grid:

- ``natural-earth``: the low-resolution ocean polygon that relevancy uses, rasterized;
- ``globe-1km-cog``: ``catalog.land.land_mask``, the shipped 1 km COG read through GDAL's warper;
- ``global-land-mask``: the same 1 km grid through the PyPI package (loads it whole), if installed;
- ``gshhg``: GSHHG full resolution through ``roaring-landmask``, if installed (the reference).

Printed per source: land fraction, disagreement with GSHHG (pixels, and pixels farther than 1 km
from GSHHG's coast), median VV backscatter (dB) over its land and sea, time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REAL = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "real"
    / "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA.vv.tif"
)
SOURCES = ("natural-earth", "globe-1km-cog", "global-land-mask", "gshhg")
PACKAGES = {"global-land-mask": "global-land-mask", "gshhg": "roaring-landmask"}
"""Optional packages (not dependencies of slickwatch) that two of the sources need."""


def _grid(resolution: float):
    import rasterio
    from rasterio.warp import calculate_default_transform

    from catalog.footprint import utm_crs
    from catalog.scene import resolve_scene

    scene = resolve_scene(REAL)
    crs = rasterio.crs.CRS.from_user_input(utm_crs(scene.footprint).to_wkt())
    with rasterio.open(REAL) as src:
        gcps, gcp_crs = src.gcps
        transform, width, height = calculate_default_transform(
            gcp_crs, crs, src.width, src.height, gcps=gcps, resolution=resolution
        )
    return crs, transform, (height, width)


def _vv_db(crs, transform, shape) -> np.ndarray:
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    from catalog.scene import S1_GRD_CALIBRATION_CONSTANT

    out = np.zeros(shape, np.float32)
    with rasterio.open(REAL) as src:
        gcps, gcp_crs = src.gcps
        reproject(
            rasterio.band(src, 1),
            out,
            gcps=gcps,
            src_crs=gcp_crs,
            dst_transform=transform,
            dst_crs=crs,
            resampling=Resampling.average,
            src_nodata=0,
            dst_nodata=0,
        )
    with np.errstate(divide="ignore"):
        return np.where(out > 0, 10 * np.log10(out**2 / S1_GRD_CALIBRATION_CONSTANT**2), np.nan)


def _lonlat(crs, transform, shape) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    return Transformer.from_crs(crs.to_wkt(), "EPSG:4326", always_xy=True).transform(xs, ys)


def _mask(source: str, crs, transform, shape) -> np.ndarray:
    if source == "globe-1km-cog":
        from catalog.land import land_mask

        return land_mask(crs, transform, shape)
    if source == "natural-earth":
        import geopandas as gpd
        import shapely
        from rasterio.features import rasterize

        from catalog.relevancy import ocean_polygon

        lon, lat = _lonlat(crs, transform, shape)
        bounds = (lon.min() - 1, lat.min() - 1, lon.max() + 1, lat.max() + 1)
        sea = gpd.GeoSeries([ocean_polygon().intersection(shapely.box(*bounds))], crs=4326)
        sea = sea.to_crs(crs.to_wkt())
        return ~rasterize(sea, out_shape=shape, transform=transform).astype(bool)
    lon, lat = _lonlat(crs, transform, shape)
    if source == "global-land-mask":
        from global_land_mask import globe

        return globe.is_land(lat, lon)
    if source == "gshhg":
        from roaring_landmask import RoaringLandmask

        mask = RoaringLandmask.new()
        return np.asarray(mask.contains_many(lon.ravel(), lat.ravel())).reshape(shape)
    raise ValueError(source)


def run_one(source: str, resolution: float, out: Path) -> None:
    """Child process: compute one source's mask, save it, print time and peak memory."""
    crs, transform, shape = _grid(resolution)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    mask = _mask(source, crs, transform, shape)
    seconds = time.perf_counter() - t0
    np.save(out, mask)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "added_mb": (peak - base) / 1024})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=200.0, help="grid spacing, metres")
    parser.add_argument("--only", choices=SOURCES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        run_one(args.only, args.resolution, args.out)
        return

    import tempfile

    from scipy import ndimage

    crs, transform, shape = _grid(args.resolution)
    db = _vv_db(crs, transform, shape)
    results: dict[str, dict] = {}
    masks: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in SOURCES:
            out = Path(tmp) / f"{source}.npy"
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--only",
                    source,
                    "--out",
                    str(out),
                    "--resolution",
                    str(args.resolution),
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                print(f"{source}: not measured ({last}); `pip install {PACKAGES.get(source, '')}`")
                continue
            results[source] = json.loads(proc.stdout.strip().splitlines()[-1])
            masks[source] = np.load(out)
    valid = np.isfinite(db)
    ref = masks.get("gshhg")
    print(
        f"grid: EPSG:{crs.to_epsg()}, {shape[0]} x {shape[1]} px at {args.resolution:g} m; "
        f"{valid.sum()} px with data"
    )
    header = (
        f"{'source':<18}{'land %':>8}{'≠GSHHG %':>10}{'>1km %':>8}{'land dB':>9}"
        f"{'sea dB':>8}{'time s':>8}{'peak MB':>9}"
    )
    print(header)
    far = None
    if ref is not None:
        # pixels farther than 1 km from GSHHG's coastline
        step = args.resolution
        to_land = ndimage.distance_transform_edt(~ref, sampling=step)
        to_sea = ndimage.distance_transform_edt(ref, sampling=step)
        far = np.maximum(to_land, to_sea) > 1000
    for source, mask in masks.items():
        r = results[source]
        land = mask & valid
        sea = ~mask & valid
        diff = (mask != ref) & valid if ref is not None else None
        print(
            f"{source:<18}{100 * land.sum() / valid.sum():>8.2f}"
            f"{(100 * diff.sum() / valid.sum()) if diff is not None else float('nan'):>10.2f}"
            f"{(100 * (diff & far).sum() / valid.sum()) if diff is not None else np.nan:>8.2f}"
            f"{np.nanmedian(db[land]) if land.any() else float('nan'):>9.1f}"
            f"{np.nanmedian(db[sea]) if sea.any() else float('nan'):>8.1f}"
            f"{r['seconds']:>8.2f}{r['peak_mb']:>9.0f}"
        )


if __name__ == "__main__":
    main()
