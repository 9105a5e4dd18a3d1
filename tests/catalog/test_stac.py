"""STAC items for S1 GRD scenes (sar, sat, proj), static catalogs, and stackstac reading them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pystac
import pytest
import shapely
from shapely.geometry import Polygon, shape

from catalog.errors import CatalogError, SceneIdError, StacSourceError
from catalog.stac import make_s1_item, read_catalog, write_catalog

REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


def test_an_item_carries_the_sar_sat_and_proj_fields(sample_items) -> None:  # noqa: ANN001
    item = sample_items.items["hatteras"]
    props = item.properties
    assert item.id == REAL_ID and item.collection_id == "sentinel-1-grd"
    assert props["sar:instrument_mode"] == "IW"
    assert props["sar:polarizations"] == ["VV", "VH"]
    assert props["sar:frequency_band"] == "C" and props["sar:product_type"] == "GRD"
    assert props["sat:absolute_orbit"] == 35353 and props["sat:relative_orbit"] == 106
    assert props["platform"] == "sentinel-1a" and props["constellation"] == "sentinel-1"
    assert props["s1:datatake_id"] == "270700"
    assert props["proj:epsg"] is None and props["proj:code"] is None  # GCP georeferencing
    assert props["proj:shape"] == [969, 1274]
    assert props["start_datetime"] == "2020-11-21T22:57:59Z"
    assert props["end_datetime"] == "2020-11-21T22:58:28Z"
    schemas = " ".join(item.stac_extensions)
    for ext in ("sar/", "sat/", "projection/"):
        assert ext in schemas
    assert set(item.assets) == {"vv", "vh"}
    vv = item.assets["vv"]
    assert vv.roles == ["data"] and vv.extra_fields["sar:polarizations"] == ["VV"]
    assert vv.extra_fields["raster:bands"] == [{"nodata": 0, "data_type": "uint16"}]
    assert Path(vv.href).is_file()


def test_a_projected_item_has_proj_epsg_and_proj_code_and_label_assets(sample_items) -> None:  # noqa: ANN001
    item = sample_items.items["gulf"]
    props = item.properties
    assert props["proj:epsg"] == 32615 and props["proj:code"] == "EPSG:32615"
    assert props["proj:transform"] == [80.0, 0.0, 700000.0, 0.0, -80.0, 3200000.0]
    assert props["slickwatch:simulated"] is True
    assert item.assets["vv"].extra_fields["slickwatch:kind"] == "sigma0"
    assert item.assets["vv"].extra_fields["raster:bands"][0]["nodata"] == "nan"
    assert item.assets["classes"].roles == ["labels"]
    assert item.assets["polygons"].media_type == pystac.MediaType.GEOJSON


def test_stackstac_reads_a_projected_item_to_the_pixels_of_its_cog(sample_items) -> None:  # noqa: ANN001
    import stackstac

    item = sample_items.items["gulf"]
    stack = stackstac.stack(
        [item], assets=["vv"], rescale=False, dtype="float32", fill_value=np.float32(np.nan)
    )
    assert stack.attrs["crs"] == "epsg:32615"
    assert stack.shape == (1, 1, 96, 128)
    values = stack.isel(time=0, band=0).values
    np.testing.assert_array_equal(np.isnan(values), np.isnan(sample_items.utm_array))
    np.testing.assert_allclose(values, sample_items.utm_array, equal_nan=True)


def test_a_static_catalog_round_trips(sample_items) -> None:  # noqa: ANN001
    root = json.loads((sample_items.path / "catalog.json").read_text())
    assert root["type"] == "Catalog" and root["title"] == "Sample scenes"
    items = read_catalog(sample_items.path)
    assert len(items) == 7
    gulf = next(i for i in items if "20210601" in i.id)
    # proj:epsg survives reading (pystac migrates it away only for projection v1.x items)
    assert gulf.properties["proj:epsg"] == 32615
    # assets inside the catalog are written relative, the real scene outside stays absolute
    raw = json.loads(Path(gulf.get_self_href()).read_text())
    assert raw["assets"]["vv"]["href"] == "vv.tif"
    hatteras = next(i for i in items if i.id == REAL_ID)
    raw = json.loads(Path(hatteras.get_self_href()).read_text())
    assert Path(raw["assets"]["vv"]["href"]).is_absolute()
    assert all(Path(a.href).is_file() for i in (gulf, hatteras) for a in i.assets.values())
    # nothing half-written lies around
    assert not list(sample_items.path.rglob("*.tmp"))


def test_writing_a_catalog_again_replaces_it(sample_items, tmp_path: Path) -> None:  # noqa: ANN001
    items = list(sample_items.items.values())
    write_catalog(items[:3], tmp_path, title="first")
    path = write_catalog(items[:2], tmp_path / "catalog.json", title="second")
    assert path == tmp_path / "catalog.json"
    assert json.loads(path.read_text())["title"] == "second"
    assert len(read_catalog(tmp_path)) == 2
    with pytest.raises(CatalogError, match="unique"):
        write_catalog([items[0], items[0]], tmp_path / "dup", title="dup")
    with pytest.raises(CatalogError, match="no items"):
        write_catalog([], tmp_path / "empty", title="empty")


def test_an_anti_meridian_footprint_is_split_and_its_bbox_wraps() -> None:
    item = make_s1_item(
        REAL_ID,
        footprint=Polygon([(179.0, -17.5), (-179.2, -17.5), (-179.2, -16.0), (179.0, -16.0)]),
        assets={"vv": "vv.tif"},
        kind="dn",
        epsg=None,
        shape=None,
        transform=None,
    )
    geom = shape(item.geometry)
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert all(-180 <= x <= 180 for x in shapely.get_coordinates(geom)[:, 0])
    west, south, east, north = item.bbox
    assert (west, east) == (179.0, -179.2) and west > east
    assert math.isclose(south, -17.5, abs_tol=1e-2) and math.isclose(north, -16.0, abs_tol=1e-2)
    # the parts cover 1.8 degrees of longitude, not the 358 of a naive polygon
    assert sum(g.bounds[2] - g.bounds[0] for g in geom.geoms) == pytest.approx(1.8)


def test_bad_item_inputs_are_refused_with_the_reason() -> None:
    common = dict(footprint=shapely.box(0, 0, 1, 1), epsg=None, shape=None, transform=None)
    with pytest.raises(SceneIdError, match="mode"):
        make_s1_item(REAL_ID.replace("_IW_", "_ZZ_"), assets={"vv": "a"}, kind="dn", **common)
    with pytest.raises(CatalogError, match="'hh'.*VV, VH"):
        make_s1_item(REAL_ID, assets={"hh": "a"}, kind="dn", **common)
    with pytest.raises(CatalogError, match="kind 'db'"):
        make_s1_item(REAL_ID, assets={"vv": "a"}, kind="db", **common)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="no measurement assets"):
        make_s1_item(REAL_ID, assets={}, kind="dn", **common)
    with pytest.raises(CatalogError, match="latitudes"):
        make_s1_item(
            REAL_ID,
            assets={"vv": "a"},
            kind="dn",
            **{**common, "footprint": shapely.box(35, -100, 36, 100)},
        )


def test_reading_something_that_is_not_a_catalog_says_so(tmp_path: Path) -> None:
    with pytest.raises(StacSourceError, match="No catalog.json"):
        read_catalog(tmp_path)
    with pytest.raises(StacSourceError, match="does not exist"):
        read_catalog(tmp_path / "nope.json")
    bad = tmp_path / "catalog.json"
    bad.write_text('{"hello": "world"}')
    with pytest.raises(StacSourceError, match="not a readable STAC catalog"):
        read_catalog(tmp_path)
