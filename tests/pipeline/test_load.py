"""Load: the working grid, both readers, and what bad files do."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio

from catalog.scene import resolve_scene
from pipeline.errors import GridError, RasterReadError
from pipeline.grid import scene_grid
from pipeline.load import WARP_TILE, load_scene, scene_rasters


def test_grid_of_the_real_scene_is_utm_and_snapped(real_vv: Path) -> None:
    scene = resolve_scene(real_vv)
    grid = scene_grid(scene, resolution=80)
    assert grid.epsg == 32618  # Cape Hatteras, 75-76 W
    assert grid.x0 % 80 == 0 and grid.y0 % 80 == 0
    # the footprint (about 250 x 200 km) fits inside, with less than a pixel to spare per edge
    west, south, east, north = grid.bounds
    assert 240_000 < east - west < 300_000 and 200_000 < north - south < 260_000
    with pytest.raises(GridError, match="positive number of metres"):
        scene_grid(scene, resolution=0)
    with pytest.raises(GridError, match="is the resolution right"):
        scene_grid(scene, resolution=0.5)


def test_gcp_load_does_not_depend_on_the_chunks(real_vv: Path) -> None:
    scene = resolve_scene(real_vv)
    grid = scene_grid(scene, resolution=200)  # the file's own pixel size, about
    whole = load_scene(scene, grid=grid, polarizations=("VV", "VH"), chunks=4096)
    assert whole.dims == ("band", "y", "x") and whole.dtype == np.float32
    assert whole.shape == (2, *grid.shape)
    assert whole.attrs["epsg"] == 32618
    values = whole.values
    odd = load_scene(scene, grid=grid, polarizations=("VV", "VH"), chunks=333).values
    np.testing.assert_array_equal(values, odd)  # bit for bit, NaN where NaN
    valid = np.isfinite(values[0])
    assert 0.6 < valid.mean() < 0.8  # the swath is a tilted quadrilateral in its UTM box
    # DN of the sea: VV a few tens, VH at the noise floor, far lower
    assert 30 < np.nanmedian(values[0]) < 120
    assert np.nanmedian(values[1]) < np.nanmedian(values[0]) / 1.5
    assert grid.shape[1] > WARP_TILE  # several warp tiles were stitched


def test_projected_load_reads_the_cog_pixels(simulate_scene) -> None:
    item = simulate_scene(3, shape=(300, 260), geometry="utm", slicks={"VESSEL": 1})
    scene = resolve_scene(item)
    asset = scene.asset("VV")
    grid = scene_grid(scene, resolution=asset.transform.a)
    loaded = load_scene(scene, grid=grid, polarizations=("VV",), chunks=128)
    with rasterio.open(asset.href) as ds:
        cog = ds.read(1)
        row, col = ds.index(grid.x0 + 1.0, grid.y0 - 1.0)  # the pixel of the grid's first corner
        x, y = ds.xy(row, col, offset="ul")
    assert math.isclose(x, grid.x0, abs_tol=1e-6) and math.isclose(y, grid.y0, abs_tol=1e-6)
    r0, c0 = int(row), int(col)
    rows, cols = grid.shape
    # at the raster's own resolution the working grid is the raster's grid, not a pixel wider
    # (stackstac then reads the file as it is, without GDAL's warper)
    assert (r0, c0, rows, cols) == (0, 0, *cog.shape)
    # the same grid as the raster's: the values are the COG's, untouched (no resampling)
    ys = slice(max(r0, 0), min(r0 + rows, cog.shape[0]))
    xs = slice(max(c0, 0), min(c0 + cols, cog.shape[1]))
    expected = cog[ys, xs]
    got = loaded.values[0][ys.start - r0 : ys.stop - r0, xs.start - c0 : xs.stop - c0]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("reader", ["projected", "gcp"])
def test_window_reads_equal_the_lazy_array(reader, simulate_scene, real_vv: Path) -> None:
    """The pipeline reads each block's haloed window on its own (pipeline.blocks): any window,
    at any offset, holds the values of that window of load_scene's array, bit for bit."""
    if reader == "gcp":
        scene = resolve_scene(real_vv)
        grid, pols = scene_grid(scene, resolution=200), ("VV", "VH")
    else:
        scene = resolve_scene(simulate_scene(5, shape=(400, 330), geometry="utm"))
        grid, pols = scene_grid(scene, resolution=80), ("VV", "VH")
    whole = load_scene(scene, grid=grid, polarizations=pols, chunks=4096).values
    rasters = scene_rasters(scene, grid=grid, polarizations=pols)
    rows, cols = grid.shape
    assert np.isfinite(whole).mean() > 0.3
    for r0, r1, c0, c1 in [(0, rows, 0, cols), (7, 200, 45, 333), (rows - 61, rows, 1, 90)]:
        window = rasters.read(slice(r0, min(r1, rows)), slice(c0, min(c1, cols)))
        np.testing.assert_array_equal(window, whole[:, r0:r1, c0:c1])


def test_truncated_cog_is_a_read_error(simulate_scene, copy_scene) -> None:
    item = copy_scene(simulate_scene(4, shape=(600, 600), geometry="utm"))
    scene = resolve_scene(item)
    vv = Path(scene.asset("VV").href)
    data = vv.read_bytes()
    vv.write_bytes(data[: len(data) // 2])  # a download cut half-way: the header is intact
    loaded = load_scene(scene, grid=scene_grid(scene, resolution=80), chunks=256)
    with pytest.raises(RasterReadError, match=r"truncated or corrupt: download it again") as err:
        loaded.compute()
    assert vv.name in str(err.value)
    rasters = scene_rasters(scene, grid=scene_grid(scene, resolution=80))
    with pytest.raises(RasterReadError, match=r"truncated or corrupt: download it again"):
        rasters.read(slice(None), slice(None))


def test_missing_georeferencing_is_a_read_error(simulate_scene, copy_scene) -> None:
    item = copy_scene(simulate_scene(4, shape=(600, 600), geometry="utm"))
    doc = json.loads(item.read_text())
    for key in ("proj:code", "proj:epsg", "proj:transform", "proj:shape"):
        doc["properties"].pop(key, None)
    for asset in doc["assets"].values():
        for key in ("proj:code", "proj:epsg", "proj:transform", "proj:shape"):
            asset.pop(key, None)
    item.write_text(json.dumps(doc))
    for pol in ("vv", "vh"):  # rasters without a CRS or GCPs: plain pictures
        path = item.parent / item.name.replace(".json", f".{pol}.tif")
        with rasterio.open(path) as ds:
            array, profile = ds.read(1), ds.profile
        profile.pop("crs"), profile.pop("transform")
        path.unlink()
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(array, 1)
    scene = resolve_scene(item)
    with pytest.raises(RasterReadError, match="has no georeferencing"):
        load_scene(scene, grid=scene_grid(scene, resolution=80), chunks=256)
