"""Land masks on raster grids: the real scene, buffers across block seams, odd grids, bad input."""

from __future__ import annotations

from pathlib import Path

import affine
import numpy as np
import pyproj
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject

from catalog.errors import LandMaskError
from catalog.footprint import utm_crs
from catalog.land import land_mask
from catalog.scene import resolve_scene


@pytest.fixture(scope="module")
def real_grid(real_vv: Path):  # noqa: ANN201
    """The real scene on its UTM grid at 200 m: (crs, transform, shape, VV dB)."""
    scene = resolve_scene(real_vv)
    crs = CRS.from_user_input(utm_crs(scene.footprint).to_wkt())
    with rasterio.open(real_vv) as src:
        gcps, gcp_crs = src.gcps
        transform, width, height = calculate_default_transform(
            gcp_crs, crs, src.width, src.height, gcps=gcps, resolution=200
        )
        dn = np.zeros((height, width), np.float32)
        reproject(
            rasterio.band(src, 1),
            dn,
            gcps=gcps,
            src_crs=gcp_crs,
            dst_transform=transform,
            dst_crs=crs,
            resampling=Resampling.average,
            src_nodata=0,
            dst_nodata=0,
        )
    sigma0 = scene.asset("VV").sigma0(dn)
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10 * np.log10(sigma0)
    return crs, transform, (height, width), db


def _pixel(crs: CRS, transform: affine.Affine, lon: float, lat: float) -> tuple[int, int]:
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True).transform(
        lon, lat
    )
    col, row = ~transform @ (x, y)
    return int(row), int(col)


def test_the_real_scene_land_is_bright_and_the_sea_dark(real_grid) -> None:  # noqa: ANN001
    crs, transform, shape, db = real_grid
    land = land_mask(crs, transform, shape)
    assert land.shape == shape and land.dtype == bool
    valid = np.isfinite(db)
    fraction = land[valid].mean()
    assert 0.03 < fraction < 0.08  # the mainland corner and the Outer Banks
    # land is far brighter than the sea in this night-time November scene
    assert np.median(db[land & valid]) - np.median(db[~land & valid]) > 8.0
    # places: open sea, Pamlico Sound (sea behind the barrier islands), the mainland
    assert not land[_pixel(crs, transform, -74.5, 35.5)]
    assert not land[_pixel(crs, transform, -75.9, 35.3)]
    assert land[_pixel(crs, transform, -76.1, 36.3)]


def test_a_buffer_grows_land_by_that_distance(real_grid) -> None:  # noqa: ANN001
    from scipy import ndimage

    crs, transform, shape, _ = real_grid
    land = land_mask(crs, transform, shape)
    grown = land_mask(crs, transform, shape, buffer_m=2000)
    assert (grown | ~land).all()  # buffering never removes land
    # measure distances on a grid 20 px larger on each side: land just outside counts too
    pad = 20
    outer = land_mask(
        crs,
        transform @ affine.Affine.translation(-pad, -pad),
        (shape[0] + 2 * pad, shape[1] + 2 * pad),
    )
    distance_px = ndimage.distance_transform_edt(~outer)[pad:-pad, pad:-pad]
    new = grown & ~land
    assert new.sum() > 1000
    # every new land pixel lies within 2 km (10 px at 200 m) of land, and all such pixels are land
    assert distance_px[new].max() <= 10.0 + 1e-9
    assert grown[distance_px <= 10.0].all()


def test_blocks_masked_one_by_one_match_the_whole_grid(real_grid) -> None:  # noqa: ANN001
    crs, transform, shape, _ = real_grid
    whole = land_mask(crs, transform, shape, buffer_m=1500)
    rows, cols = shape
    r0, c0 = rows // 2, cols // 3  # a seam that crosses the coast
    for r_slice, c_slice in [
        (slice(0, r0), slice(0, c0)),
        (slice(r0, rows), slice(0, c0)),
        (slice(0, r0), slice(c0, cols)),
        (slice(r0, rows), slice(c0, cols)),
    ]:
        block_transform = transform @ affine.Affine.translation(c_slice.start, r_slice.start)
        block_shape = (r_slice.stop - r_slice.start, c_slice.stop - c_slice.start)
        block = land_mask(crs, block_transform, block_shape, buffer_m=1500)
        np.testing.assert_array_equal(block, whole[r_slice, c_slice])


def test_a_geographic_grid_agrees_with_the_utm_grid(real_grid) -> None:  # noqa: ANN001
    crs, transform, shape, _ = real_grid
    utm = land_mask(crs, transform, shape)
    geo_transform = affine.Affine(0.002, 0.0, -76.3, 0.0, -0.002, 36.9)
    geo = land_mask("EPSG:4326", geo_transform, (1150, 1650))
    # compare at every 4th UTM pixel centre, looked up in the geographic grid
    rows, cols = np.mgrid[0 : shape[0] : 4, 0 : shape[1] : 4]
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    lon, lat = pyproj.Transformer.from_crs(crs.to_wkt(), 4326, always_xy=True).transform(xs, ys)
    gc, gr = ~geo_transform @ (lon, lat)
    inside = (gr >= 0) & (gr < 1150) & (gc >= 0) & (gc < 1650)
    looked_up = geo[gr[inside].astype(int), gc[inside].astype(int)]
    assert inside.mean() > 0.8 and utm[rows, cols][inside].sum() > 500
    assert (looked_up == utm[rows, cols][inside]).mean() > 0.995


def test_a_grid_across_the_anti_meridian(tmp_path: Path) -> None:
    # UTM zone 1S west of its central meridian reaches across 180° near Fiji's Taveuni island.
    crs = CRS.from_epsg(32701)
    x0, y0 = pyproj.Transformer.from_crs(4326, 32701, always_xy=True).transform(179.6, -16.4)
    transform = affine.Affine(500.0, 0.0, x0, 0.0, -500.0, y0)
    mask = land_mask(crs, transform, (200, 200))
    lon_lat = pyproj.Transformer.from_crs(32701, 4326, always_xy=True)
    taveuni = lon_lat.transform(*(transform @ (0, 0)))
    assert 179.5 < taveuni[0] <= 180.0  # the grid starts west of 180°
    east = lon_lat.transform(*(transform @ (200, 200)))
    assert -180.0 <= east[0] < -179.0  # and ends east of it
    assert 0.005 < mask.mean() < 0.3  # islands in the sea: neither empty nor all land
    row, col = _pixel(crs, transform, -179.95, -16.85)  # Taveuni's interior
    assert mask[row, col]
    row, col = _pixel(crs, transform, -179.6, -17.1)  # open sea south-east of it
    assert not mask[row, col]


def test_bad_grids_are_refused_with_the_reason() -> None:
    good = affine.Affine(100.0, 0.0, 500000.0, 0.0, -100.0, 4000000.0)
    with pytest.raises(LandMaskError, match="positive shape"):
        land_mask("EPSG:32618", good, (0, 10))
    with pytest.raises(LandMaskError, match="buffer_m"):
        land_mask("EPSG:32618", good, (10, 10), buffer_m=-5)
    with pytest.raises(LandMaskError, match="not a CRS"):
        land_mask("EPSG:99999999", good, (10, 10))
    with pytest.raises(LandMaskError, match="degenerate"):
        land_mask("EPSG:32618", affine.Affine(0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (10, 10))
    with pytest.raises(LandMaskError, match="Cannot read the land mask"):
        land_mask("EPSG:32618", good, (10, 10), source="/nonexistent/land.tif")
