"""search_scenes against a static catalog and a real STAC API (stac-fastapi-pgstac) on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
from dask.base import tokenize
from typer.testing import CliRunner

from catalog.errors import SceneReadError, SearchParameterError, StacSourceError
from catalog.scene import resolve_scene
from catalog.search import search_scenes

REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"

# (name, keyword arguments, the sample scenes expected, in time order)
QUERIES = [
    ("everything IW with VV", {}, ["hatteras", "gulf", "fiji", "med_medium", "chukotka_land"]),
    ("all modes, no channel", {"mode": None, "polarizations": ()}, None),
    ("Hatteras bbox", {"bbox": [-76.0, 35.0, -74.0, 36.0]}, ["hatteras"]),
    ("one whole day", {"datetime": "2020-11-21"}, ["hatteras"]),
    ("the day before", {"datetime": "2020-11-20"}, []),
    (
        "open-ended range",
        {"datetime": "2022-01-01/..", "mode": None, "polarizations": ()},
        ["fiji", "med_medium", "chukotka_land"],
    ),
    (
        "datetime pair",
        {"datetime": [datetime(2021, 6, 1, tzinfo=UTC), datetime(2021, 6, 30, tzinfo=UTC)]},
        ["gulf"],
    ),
    ("EW mode", {"mode": "EW", "polarizations": ("HH",)}, ["arctic_ew"]),
    ("HH anywhere", {"mode": None, "polarizations": ("HH",)}, ["arctic_ew", "north_sea_hh"]),
    (
        "VV and VH",
        {"polarizations": ("VV", "VH")},
        ["hatteras", "fiji", "med_medium", "chukotka_land"],
    ),
    ("across the anti-meridian", {"bbox": [179.5, -18.0, -179.5, -15.0]}, ["fiji"]),
    ("east of 180 only", {"bbox": [-179.9, -18.0, -179.5, -15.0]}, ["fiji"]),
    ("limit keeps the earliest", {"limit": 2}, ["hatteras", "gulf"]),
    (
        "intersects",
        {"intersects": shapely.geometry.mapping(shapely.box(17.5, 34.5, 18.5, 35.5))},
        ["med_medium"],
    ),
    ("collection", {"collections": ["sentinel-1-grd"], "limit": 1}, ["hatteras"]),
    ("unknown collection", {"collections": ["landsat"]}, []),
]


def _names(sample_items, items) -> list[str]:  # noqa: ANN001
    by_id = {item.id: name for name, item in sample_items.items.items()}
    return [by_id[i.id] for i in items]


@pytest.mark.parametrize(("label", "kwargs", "expected"), QUERIES, ids=[q[0] for q in QUERIES])
def test_a_static_catalog_answers_searches(sample_items, label, kwargs, expected) -> None:  # noqa: ANN001
    found = _names(sample_items, search_scenes(sample_items.path, **kwargs))
    if expected is None:
        assert sorted(found) == sorted(sample_items.items)
    else:
        assert found == expected, label


def test_the_api_and_the_static_catalog_give_identical_results(stac_api, sample_items) -> None:  # noqa: ANN001
    for label, kwargs, expected in QUERIES:
        from_api = search_scenes(stac_api, **kwargs)
        from_files = search_scenes(sample_items.path, **kwargs)
        assert [i.id for i in from_api] == [i.id for i in from_files], label
        if expected is not None:
            assert _names(sample_items, from_api) == expected, label


def test_api_items_keep_what_the_pipeline_needs(stac_api, sample_items) -> None:  # noqa: ANN001
    (gulf,) = search_scenes(stac_api, datetime="2021-06-01")
    assert gulf.properties["proj:epsg"] == 32615  # stackstac needs it
    assert gulf.properties["sar:polarizations"] == ["VV"]
    assert gulf.assets["vv"].href == sample_items.items["gulf"].assets["vv"].href
    # a scene id resolves through the API to the same Scene as through the static catalog
    via_api = resolve_scene(gulf.id, stac=stac_api)
    via_files = resolve_scene(gulf.id, stac=sample_items.path)
    assert via_api.assets == via_files.assets and via_api.labels == via_files.labels
    assert tokenize(via_api) == tokenize(via_files)
    assert via_api.item_href.startswith(stac_api)
    real = resolve_scene(REAL_ID, stac=stac_api)
    assert real.georeferencing == "gcps" and real.polarizations == ("VV", "VH")


def test_an_unreachable_api_is_a_clear_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        StacSourceError, match=f"Cannot open the STAC API at http://127.0.0.1:{port}"
    ):
        search_scenes(f"http://127.0.0.1:{port}/stac")


def test_bad_parameters_are_refused(sample_items) -> None:  # noqa: ANN001
    with pytest.raises(SearchParameterError, match="datetime"):
        search_scenes(sample_items.path, datetime="yesterday")
    with pytest.raises(SearchParameterError, match="W,S,E,N"):
        search_scenes(sample_items.path, bbox=[0, 10, 1])
    with pytest.raises(SearchParameterError, match="south <= north"):
        search_scenes(sample_items.path, bbox=[0, 50, 1, 10])
    with pytest.raises(SearchParameterError, match="limit"):
        search_scenes(sample_items.path, limit=0)
    with pytest.raises(StacSourceError, match="does not exist"):
        search_scenes(sample_items.path / "sentinel-1-grd" / "nothing")


def test_search_command_prints_a_table(sample_items) -> None:  # noqa: ANN001
    from service.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "search",
            "--stac",
            str(sample_items.path),
            "--start",
            "2020-11-01",
            "--end",
            "2021-12-31",
        ],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "2 scene(s)" in result.output
    assert REAL_ID in result.output and "2020-11-21 22:57:59" in result.output
    everything = runner.invoke(
        app, ["search", "--stac", str(sample_items.path), "--mode", "any"], env={"COLUMNS": "250"}
    )
    assert everything.exit_code == 0 and "5 scene(s)" in everything.output
    assert "no: beam mode EW" not in everything.output  # EW has no VV: filtered by polarization
    assert "footprint does not meet the ocean" in everything.output  # Chukotka, listed not hidden
    bad = runner.invoke(app, ["search", "--stac", str(sample_items.path), "--bbox", "1,2,3"])
    assert bad.exit_code != 0 and "W,S,E,N" in bad.output


def test_a_static_catalog_served_over_http_searches_and_resolves_the_same(sample_items) -> None:  # noqa: ANN001
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=sample_items.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/catalog.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for label, kwargs, _expected in QUERIES:
            remote = search_scenes(f"{base}/catalog.json", **kwargs)
            local = search_scenes(sample_items.path, **kwargs)
            assert [i.id for i in remote] == [i.id for i in local], label
        (gulf,) = search_scenes(f"{base}/catalog.json", datetime="2021-06-01")
        assert gulf.assets["vv"].href.startswith(base)  # relative asset hrefs resolve to the URL
        assert gulf.properties["proj:epsg"] == 32615
        scene = resolve_scene(gulf.get_self_href())
        assert scene.asset("VV").href.startswith(base) and scene.epsg == 32615
        with pytest.raises(SceneReadError, match="not a readable STAC item"):
            resolve_scene(f"{base}/missing/item.json")
    finally:
        server.terminate()
        server.wait(timeout=10)
