"""Scenes on disk: COG layout, GCPs and CRS, labels aligned with the image, STAC item links."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

from catalog.scene import resolve_scene
from catalog.simulate import SimulationConfig, simulate, write_scene
from catalog.simulate.backscatter import CALIBRATION_CONSTANT, dn_to_sigma0
from catalog.simulate.errors import OutputExists

CONFIG = {"shape": (700, 900), "slicks": {"VESSEL": 2, "INFRA": 1, "NATURAL": 1}, "land": False}


def _assets(item: pystac.Item) -> dict[str, Path]:
    return {k: Path(a.get_absolute_href()) for k, a in item.assets.items()}


@pytest.fixture(scope="module")
def grd_item(tmp_path_factory: pytest.TempPathFactory) -> pystac.Item:
    out = tmp_path_factory.mktemp("grd")
    return write_scene(SimulationConfig(seed=21, geometry="grd", **CONFIG), out, window_size=256)


def test_grd_scene_is_dn_cogs_with_gcps(grd_item: pystac.Item) -> None:
    files = _assets(grd_item)
    assert set(files) == {"vv", "vh", "classes", "lookalikes", "polygons"}
    for key in ("vv", "vh", "classes", "lookalikes"):
        with rasterio.open(files[key]) as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert ds.block_shapes[0] == (512, 512)
            assert ds.overviews(1), f"{key} has no overviews"
            assert ds.crs is None
            gcps, gcp_crs = ds.gcps
            assert len(gcps) == 231 and gcp_crs.to_epsg() == 4326
            assert ds.shape == (700, 900)
    with rasterio.open(files["vv"]) as ds:
        assert ds.dtypes[0] == "uint16" and ds.nodata == 0
        dn = ds.read(1)
    sigma0 = dn_to_sigma0(dn[dn > 0])
    db = 10 * np.log10(np.median(sigma0))
    assert -30 < db < -5, f"median VV {db:.1f} dB is not sea clutter"
    vv_asset = grd_item.assets["vv"].extra_fields
    assert vv_asset["slickwatch:calibration_constant"] == CALIBRATION_CONSTANT


def test_written_pixels_equal_in_memory_simulation(grd_item: pystac.Item) -> None:
    scene = simulate(SimulationConfig(seed=21, geometry="grd", **CONFIG))
    files = _assets(grd_item)
    with rasterio.open(files["vv"]) as ds:
        dn = ds.read(1)
    with rasterio.open(files["classes"]) as ds:
        classes = ds.read(1)
    expected = np.sqrt(np.nan_to_num(scene.vv)) * CALIBRATION_CONSTANT
    valid = ~np.isnan(scene.vv)
    assert np.abs(dn[valid] - expected[valid]).max() <= 0.5 + 1e-3
    assert (dn[~valid] == 0).all()
    assert (classes[valid] == scene.classes[valid]).mean() > 0.9999
    assert (classes[~valid] == 255).all()


def test_labels_sit_on_dark_pixels_inside_their_polygons(grd_item: pystac.Item) -> None:
    files = _assets(grd_item)
    with rasterio.open(files["vv"]) as ds:
        vv = dn_to_sigma0(ds.read(1))
    with rasterio.open(files["classes"]) as ds:
        classes = ds.read(1)
    oil = (classes > 0) & (classes < 255)
    assert oil.sum() > 100
    sea = (classes == 0) & np.isfinite(vv)
    # slick pixels are darker than the sea (median over the scene), by at least 1 dB
    assert 10 * np.log10(np.median(vv[sea]) / np.median(vv[oil])) > 1.0
    doc = json.loads(files["polygons"].read_text())
    kinds = {f["properties"]["class"] for f in doc["features"]}
    assert kinds == {"VESSEL", "INFRA", "NATURAL"}
    for f in doc["features"]:
        assert -180 <= f["properties"]["source_lon"] <= 180
        assert f["properties"]["class_id"] in (1, 2, 3)


def test_utm_scene_is_sigma0_in_utm_and_resolves(tmp_path: Path) -> None:
    item = write_scene(SimulationConfig(seed=22, geometry="utm", **CONFIG), tmp_path)
    files = _assets(item)
    with rasterio.open(files["vv"]) as ds:
        assert ds.dtypes[0] == "float32"
        assert ds.crs.to_epsg() // 100 in (326, 327)
        assert ds.transform.a == 80.0 and ds.transform.e == -80.0
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    assert item.properties["proj:epsg"] == ds.crs.to_epsg()
    scene = resolve_scene(item.get_self_href())
    assert scene.simulated and scene.georeferencing == "affine"
    assert scene.assets[0].kind == "sigma0"
    assert set(scene.labels) == {"classes", "lookalikes", "polygons"}
    # the footprint covers the raster's data area
    assert scene.footprint.area > 0.1


def test_same_config_same_files_and_no_overwrite(tmp_path: Path) -> None:
    cfg = SimulationConfig(seed=23, shape=(300, 300), geometry="grd")
    a = write_scene(cfg, tmp_path / "a")
    b = write_scene(cfg, tmp_path / "b", window_size=128, workers=2)  # two processes, same files
    assert a.id == b.id
    for key in ("vv", "vh", "classes"):
        with rasterio.open(_assets(a)[key]) as x, rasterio.open(_assets(b)[key]) as y:
            np.testing.assert_array_equal(x.read(1), y.read(1))
    with pytest.raises(OutputExists, match="overwrite"):
        write_scene(cfg, tmp_path / "a")
    leftovers = [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]
    assert leftovers == []
