"""The Scene record from raw GRD files, STAC items and scene ids; its token; its errors."""

from __future__ import annotations

import json
import math
import pickle
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
import shapely
from dask.base import tokenize
from shapely.geometry import shape
from typer.testing import CliRunner

from catalog.errors import SceneIdError, SceneNotFoundError, SceneReadError
from catalog.footprint import utm_crs
from catalog.scene import S1_GRD_CALIBRATION_CONSTANT, resolve_scene
from catalog.stac import make_s1_item

REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


def _to_metres(geom, crs: pyproj.CRS):  # noqa: ANN001, ANN202
    """Densify in degrees (edges of lon/lat polygons are straight there), then project."""
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    return shapely.transform(
        shapely.segmentize(geom, 0.01), lambda x, y: to_utm(x, y), interleaved=False
    )


def test_the_real_scene_resolves_from_its_measurement_file(real_vv: Path, real_info: dict) -> None:
    scene = resolve_scene(real_vv)
    assert scene.scene_id == REAL_ID
    assert scene.georeferencing == "gcps" and scene.epsg is None
    assert scene.polarizations == ("VV", "VH")
    vv = scene.asset("vv")
    assert vv.href == str(real_vv)
    assert vv.kind == "dn" and vv.calibration_constant == S1_GRD_CALIBRATION_CONSTANT
    assert vv.shape == (969, 1274) and vv.nodata == 0 and vv.transform is None
    assert scene.asset("VH").href.endswith(".vh.tif")
    assert scene.start == datetime(2020, 11, 21, 22, 57, 59, tzinfo=UTC)
    assert scene.stop == datetime(2020, 11, 21, 22, 58, 28, tzinfo=UTC)
    assert scene.absolute_orbit == real_info["absoluteOrbitNumber"]
    assert not scene.simulated and scene.labels == {} and scene.item_href is None


def test_the_gcp_footprint_agrees_with_product_info_within_1_km(
    real_vv: Path, real_info: dict
) -> None:
    scene = resolve_scene(real_vv)
    published = shapely.union_all([shape(real_info["footprint"])])
    crs = utm_crs(published)
    ours_m = _to_metres(scene.footprint, crs)
    published_m = _to_metres(published, crs)
    hausdorff = shapely.hausdorff_distance(ours_m, published_m, densify=0.05)
    assert hausdorff < 1000.0, f"footprints differ by {hausdorff:.0f} m"
    # and the footprint is the scene, not a point or a sliver: ~250 km x 190 km
    assert 0.98 < ours_m.area / published_m.area < 1.02
    assert 4.0e10 < ours_m.area < 6.0e10


def test_calibrated_real_vv_and_vh_have_plausible_sea_levels(real_vv: Path) -> None:
    scene = resolve_scene(real_vv)
    with rasterio.open(scene.asset("VV").href) as ds:
        vv = scene.asset("VV").sigma0(ds.read(1))
    with rasterio.open(scene.asset("VH").href) as ds:
        vh = scene.asset("VH").sigma0(ds.read(1))
    assert np.isnan(vv[0, 0])  # nodata corner became NaN
    vv_db = 10 * np.log10(vv[np.isfinite(vv)])
    vh_db = 10 * np.log10(vh[np.isfinite(vh)])
    # Mostly sea: VV around -20 dB, VH on the IW noise floor (about -22 to -30 dB).
    assert -25.0 < np.median(vv_db) < -16.0
    assert -30.0 < np.median(vh_db) < -22.0


def test_either_polarization_file_gives_the_same_scene_and_token(real_vv: Path) -> None:
    from_vv = resolve_scene(real_vv)
    from_vh = resolve_scene(str(real_vv).replace(".vv.tif", ".vh.tif"))
    from_info = resolve_scene(real_vv.with_name(f"{REAL_ID}.productInfo.json"))
    assert from_vv == from_vh == from_info
    assert tokenize(from_vv) == tokenize(from_vh) == tokenize(from_info)
    assert hash(from_vv) == hash(from_vh)
    again = pickle.loads(pickle.dumps(from_vv))
    assert again == from_vv and tokenize(again) == tokenize(from_vv)


def test_the_token_changes_with_what_the_scene_reads(real_vv: Path, tmp_path: Path) -> None:
    scene = resolve_scene(real_vv)
    copy = tmp_path / real_vv.name
    shutil.copy(real_vv, copy)
    shutil.copy(real_vv.with_name(f"{REAL_ID}.productInfo.json"), tmp_path)
    moved = resolve_scene(copy)
    assert moved.scene_id == scene.scene_id
    assert moved.polarizations == ("VV",)  # only VV was copied
    assert tokenize(moved) != tokenize(scene)


def _product_folder(tmp_path: Path, real_vv: Path, *, sigma_lut: list[float] | None) -> Path:
    """A product folder in the layout of the Sentinel-1 open-data buckets."""
    product = tmp_path / REAL_ID
    (product / "measurement").mkdir(parents=True)
    shutil.copy(real_vv, product / "measurement" / "iw-vv.tiff")
    shutil.copy(real_vv.with_name(f"{REAL_ID}.productInfo.json"), product / "productInfo.json")
    if sigma_lut is not None:
        cal = product / "annotation" / "calibration"
        cal.mkdir(parents=True)
        vectors = "".join(
            f"<calibrationVector><line>{k}</line><pixel>0 100</pixel>"
            f"<sigmaNought>{' '.join(f'{v:e}' for v in sigma_lut)}</sigmaNought>"
            f"<betaNought>4.74e+02 4.74e+02</betaNought></calibrationVector>"
            for k in (0, 500)
        )
        (cal / "calibration-iw-vv.xml").write_text(
            f"<calibration><calibrationVectorList count='2'>{vectors}</calibrationVectorList>"
            "</calibration>"
        )
    return product


def test_a_product_folder_with_calibration_annotation_uses_its_sigma_lut(
    real_vv: Path, tmp_path: Path
) -> None:
    product = _product_folder(tmp_path, real_vv, sigma_lut=[670.0, 560.0])
    for ref in (product / "measurement" / "iw-vv.tiff", product, product / "productInfo.json"):
        scene = resolve_scene(ref)
        assert scene.scene_id == REAL_ID
        assert scene.asset("VV").calibration_constant == pytest.approx(615.0)
        assert scene.asset("VV").sigma0(np.array([615], dtype=np.uint16))[0] == pytest.approx(1.0)


def test_a_product_folder_without_calibration_uses_the_constant(
    real_vv: Path, tmp_path: Path
) -> None:
    product = _product_folder(tmp_path, real_vv, sigma_lut=None)
    scene = resolve_scene(product / "measurement" / "iw-vv.tiff")
    assert scene.asset("VV").calibration_constant == S1_GRD_CALIBRATION_CONSTANT


def test_a_stac_item_of_a_projected_sigma0_scene(sample_items) -> None:
    item = sample_items.items["gulf"]
    scene = resolve_scene(item)
    assert scene.georeferencing == "affine" and scene.epsg == 32615
    vv = scene.asset("VV")
    assert vv.kind == "sigma0" and vv.calibration_constant is None and math.isnan(vv.nodata)
    assert vv.shape == (96, 128)
    assert tuple(vv.transform)[:6] == (80.0, 0.0, 700_000.0, 0.0, -80.0, 3_200_000.0)
    with rasterio.open(vv.href) as ds:
        assert ds.crs.to_epsg() == 32615 and ds.shape == vv.shape
    assert set(scene.labels) == {"classes", "polygons"}
    assert all(Path(href).is_file() for href in scene.labels.values())
    assert scene.simulated
    # the same scene from the item's JSON file and by id from the static catalog
    from_file = resolve_scene(item.get_self_href())
    from_id = resolve_scene(item.id, stac=sample_items.path)
    assert from_file == scene and tokenize(from_id) == tokenize(scene)
    assert from_id.item_href == item.get_self_href()


def test_the_real_scene_by_id_from_a_static_catalog_matches_the_raw_file(
    sample_items, real_vv: Path
) -> None:
    by_id = resolve_scene(REAL_ID, stac=str(sample_items.path / "catalog.json"))
    raw = resolve_scene(real_vv)
    assert by_id.georeferencing == raw.georeferencing == "gcps"
    assert [a.href for a in by_id.assets] == [a.href for a in raw.assets]
    # the item carries productInfo's 4-corner footprint, the raw file the GCP outline
    crs = utm_crs(raw.footprint)
    a, b = _to_metres(by_id.footprint, crs), _to_metres(raw.footprint, crs)
    assert shapely.hausdorff_distance(a, b, densify=0.05) < 1000.0


def test_a_scene_id_without_a_source_or_absent_from_it_says_what_to_do(
    sample_items,
) -> None:
    with pytest.raises(SceneNotFoundError, match="--stac"):
        resolve_scene(REAL_ID)
    other = REAL_ID.replace("62EA", "0000")
    with pytest.raises(SceneNotFoundError, match=f"{other} is not in"):
        resolve_scene(other, stac=sample_items.path)
    with pytest.raises(SceneIdError, match="unique id"):
        resolve_scene(REAL_ID.replace("62EA", "62E"), stac=sample_items.path)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_bad_files_fail_with_the_reason(real_vv: Path, tmp_path: Path, cog_writer) -> None:  # noqa: ANN001
    with pytest.raises(SceneReadError, match="does not exist"):
        resolve_scene(tmp_path / "nothing.vv.tif")
    lonely = tmp_path / "lonely" / real_vv.name
    lonely.parent.mkdir()
    shutil.copy(real_vv, lonely)
    with pytest.raises(SceneReadError, match=r"No productInfo\.json"):
        resolve_scene(lonely)

    info = real_vv.with_name(f"{REAL_ID}.productInfo.json")
    # a truncated measurement file
    broken = tmp_path / "broken" / real_vv.name
    broken.parent.mkdir()
    broken.write_bytes(real_vv.read_bytes()[:300])
    shutil.copy(info, broken.parent)
    with pytest.raises(SceneReadError, match="not a readable raster"):
        resolve_scene(broken)
    # a raster with neither CRS nor GCPs
    bare = cog_writer(
        tmp_path / "bare" / real_vv.name,
        np.ones((8, 8), np.uint16),
        epsg=None,
        transform=None,
        nodata=0,
    )
    shutil.copy(info, bare.parent)
    with pytest.raises(SceneReadError, match="no georeferencing"):
        resolve_scene(bare)
    # productInfo that is not one
    odd = tmp_path / "odd" / real_vv.name
    odd.parent.mkdir()
    shutil.copy(real_vv, odd)
    (odd.parent / f"{REAL_ID}.productInfo.json").write_text("{not json")
    with pytest.raises(SceneReadError, match="not readable JSON"):
        resolve_scene(odd)
    with pytest.raises(SceneReadError, match="not a GRD measurement file"):
        resolve_scene(shutil.copy(real_vv, tmp_path / "scene.tif"))


def test_bad_items_fail_with_the_reason(sample_items, tmp_path: Path) -> None:
    collection_json = next(sample_items.path.glob("*/collection.json"))
    with pytest.raises(SceneReadError, match="not an item"):
        resolve_scene(collection_json)
    item = make_s1_item(
        REAL_ID,
        footprint=shapely.box(0, 0, 1, 1),
        assets={"vv": "x.tif"},
        kind="dn",
        epsg=None,
        shape=None,
        transform=None,
    )
    doc = item.to_dict()
    doc["id"] = "my-scene"
    path = tmp_path / "item.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SceneReadError, match="not a Sentinel-1 product id"):
        resolve_scene(path)
    doc["id"] = REAL_ID
    doc["assets"] = {}
    path.write_text(json.dumps(doc))
    with pytest.raises(SceneReadError, match="no measurement assets"):
        resolve_scene(path)
    path.write_text("[1, 2")
    with pytest.raises(SceneReadError, match="not readable JSON"):
        resolve_scene(path)


def test_asking_for_a_missing_channel_names_those_present(real_vv: Path) -> None:
    from catalog.errors import CatalogError

    with pytest.raises(CatalogError, match="has no HH asset; it has VV, VH"):
        resolve_scene(real_vv).asset("HH")


def test_scene_info_command_prints_the_scene(real_vv: Path) -> None:
    from service.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["scene", "info", str(real_vv), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["scene_id"] == REAL_ID and doc["relevant"] is True
    assert doc["relative_orbit"] == 106 and doc["georeferencing"] == "gcps"
    assert [a["polarization"] for a in doc["assets"]] == ["VV", "VH"]
    table = runner.invoke(app, ["scene", "info", str(real_vv)])
    assert table.exit_code == 0 and "relevant" in table.output and "gcps" in table.output
    bad = runner.invoke(app, ["scene", "info", REAL_ID.replace("IW", "QQ")])
    assert bad.exit_code == 1
    assert "mode 'QQ'" in bad.output and "Traceback" not in bad.output
