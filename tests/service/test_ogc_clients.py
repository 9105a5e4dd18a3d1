"""Independent OGC API clients read the running service: OWSLib and GDAL's OAPIF driver."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from owslib.ogcapi.features import Features

GDAL_ENV = {"GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", "GDAL_DISABLE_READDIR_ON_OPEN": "YES"}


def test_owslib_lists_the_collections(served) -> None:
    api = Features(served.url)
    assert set(api.feature_collections()) == {
        "slicks",
        "scenes",
        "runs",
        "aois",
        "classes",
        "models",
    }
    assert api.collection("slicks")["title"] == "Oil slicks"


def test_owslib_bbox_items(served) -> None:
    api = Features(served.url)
    # scene B's slicks lie in 11.0 .. 11.49 E, 41.0 .. 41.01 N
    page = api.collection_items("slicks", bbox=[10.9, 40.9, 11.2, 41.1], limit=100)
    ids = sorted(f["id"] for f in page["features"])
    expected = [i for k, i in enumerate(served.rows.slicks["B"]) if 11.0 + 0.05 * k <= 11.2]
    assert ids == sorted(expected)
    assert page["numberMatched"] == len(expected) == 5
    for feature in page["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert feature["properties"]["scene_id"].startswith("S1A_IW_GRDH_1SDV_20210305")


def test_owslib_cql2_filter(served) -> None:
    api = Features(served.url)
    page = api.collection_items(
        "slicks",
        filter="machine_confidence >= 0.9 AND class_short_name = 'VESSEL'",
        **{"filter-lang": "cql2-text"},
        limit=100,
    )
    rows = served.rows
    expected = sorted(
        i for i in rows.public if rows.confidence[i] >= 0.9 and rows.klass[i] == "VESSEL"
    )
    assert expected, "the test data must have some"
    assert sorted(f["id"] for f in page["features"]) == expected
    assert all(f["properties"]["machine_confidence"] >= 0.9 for f in page["features"])


def test_owslib_single_item_and_queryables(served) -> None:
    api = Features(served.url)
    slick_id = served.rows.slicks["A"][3]
    item = api.collection_item("slicks", str(slick_id))
    assert item["id"] == slick_id
    confidence = served.rows.confidence[slick_id]
    assert item["properties"]["machine_confidence"] == pytest.approx(confidence)
    assert item["properties"]["class_short_name"] == served.rows.klass[slick_id]
    queryables = api.collection_queryables("slicks")["properties"]
    assert queryables["machine_confidence"]["type"] == "number"
    assert queryables["slick_timestamp"]["format"] == "date-time"
    assert queryables["geometry"]["x-ogc-role"] == "primary-geometry"


def _ogr(*args: str) -> str:
    result = subprocess.run(
        ["ogrinfo", "-ro", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**GDAL_ENV, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is not installed")
def test_gdal_ogrinfo_reads_the_service(served) -> None:
    listing = _ogr(f"OAPIF:{served.url}")
    for layer in ("slicks", "scenes", "aois", "classes", "models"):
        assert layer in listing
    summary = _ogr(f"OAPIF:{served.url}", "slicks", "-so")
    assert f"Feature Count: {len(served.rows.public)}" in summary
    assert "Multi Polygon" in summary
    # an attribute filter and a spatial filter, read back as GeoJSON by GDAL
    geojson = subprocess.run(
        [
            "ogr2ogr",
            "-preserve_fid",
            "-f",
            "GeoJSON",
            "/vsistdout/",
            f"OAPIF:{served.url}",
            "slicks",
            "-where",
            "machine_confidence > 0.9",
            "-spat",
            "-76",
            "34",
            "-73",
            "36",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**GDAL_ENV, "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    got = sorted(f["id"] for f in json.loads(geojson)["features"])
    rows = served.rows
    assert got == sorted(i for i in rows.slicks["A"] if rows.confidence[i] > 0.9)
