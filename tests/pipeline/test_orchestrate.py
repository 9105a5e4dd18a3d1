"""run_scene: a scene run twice leaves one active set; bad input is recorded with its reason and
leaves no slick behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import sqlalchemy as sa

from catalog.scene import resolve_scene
from pipeline import run_scene
from pipeline.detect import Options
from schema.database import engine_for

SMALL = Options(chunks=256)


def _rows(url: str, sql: str, **params: object) -> list[sa.Row]:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def test_a_scene_run_twice_leaves_one_active_set(
    simulate_scene, dask_client, database_url: str, shipped_model: Path
) -> None:
    item = simulate_scene(31, shape=(384, 384), geometry="utm", slicks={"VESSEL": 1, "INFRA": 1})
    first = run_scene(
        item, client=dask_client, database_url=database_url, model=shipped_model, options=SMALL
    )
    second = run_scene(
        item, client=dask_client, database_url=database_url, model=shipped_model, options=SMALL
    )
    assert first.success and second.success, (first.error, second.error)
    assert first.reason == second.reason == "stored"
    assert len(first.slick_ids) == len(second.slick_ids) == len(second.slicks) > 0
    active = _rows(database_url, "SELECT id, orchestrator_run FROM slick WHERE active ORDER BY id")
    assert [r.id for r in active] == second.slick_ids
    assert {r.orchestrator_run for r in active} == {second.run_id}
    runs = _rows(
        database_url,
        "SELECT id, success, parameters, timings, statistics, code_version "
        "FROM orchestrator_run ORDER BY id",
    )
    assert [r.success for r in runs] == [True, True]
    run = runs[-1]
    assert run.parameters["chunk_size_px"] == 256 and run.parameters["model"]["name"]
    for step in ("compute", "stitch", "describe", "store", "tasks_infer", "tasks_load"):
        assert run.timings[step] >= 0, step
    assert (
        run.statistics["grid_px"]
        == run.statistics["ocean_px"] + run.statistics["land_px"] + run.statistics["nodata_px"]
    )
    assert run.statistics["slicks"] == len(second.slick_ids)
    assert run.statistics["deactivated"] == len(first.slick_ids)
    assert run.code_version


def _truncate(item: Path) -> None:
    vv = next(item.parent.glob("*.vv.tif"))
    data = vv.read_bytes()
    vv.write_bytes(data[: len(data) // 2])


def _strip_georeferencing(item: Path) -> None:
    doc = json.loads(item.read_text())
    for fields in (doc["properties"], *doc["assets"].values()):
        for key in ("proj:code", "proj:epsg", "proj:transform", "proj:shape"):
            fields.pop(key, None)
    item.write_text(json.dumps(doc))
    for path in item.parent.glob("*.v[vh].tif"):
        with rasterio.open(path) as ds:
            array, profile = ds.read(1), ds.profile
        profile.pop("crs"), profile.pop("transform")
        profile.update(driver="GTiff")
        path.unlink()
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(array, 1)


def _blank(item: Path) -> None:
    for path in item.parent.glob("*.v[vh].tif"):
        with rasterio.open(path) as ds:
            profile = ds.profile
        profile.update(driver="GTiff")
        path.unlink()
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(np.full((ds.height, ds.width), np.nan, dtype=np.float32), 1)


@pytest.mark.parametrize(
    ("config", "damage", "reason", "message"),
    [
        ({}, _truncate, "unreadable", "truncated or corrupt"),
        ({}, _strip_georeferencing, "unreadable", "has no georeferencing"),
        ({}, _blank, "all-nodata", "is nodata"),
        ({"center": (10.0, 50.5)}, None, "no-ocean", "shows no open water"),
    ],
    ids=["truncated-cog", "no-georeferencing", "all-nodata", "land-only"],
)
def test_bad_input_is_recorded_with_its_reason(
    simulate_scene,
    copy_scene,
    dask_client,
    database_url,
    shipped_model,
    config,
    damage,
    reason: str,
    message: str,
) -> None:
    item = copy_scene(simulate_scene(41, shape=(320, 320), geometry="utm", **config))
    if damage is not None:
        damage(item)
    outcome = run_scene(
        item, client=dask_client, database_url=database_url, model=shipped_model, options=SMALL
    )
    assert not outcome.success
    assert outcome.reason == reason and message in outcome.error
    (run,) = _rows(
        database_url, "SELECT id, success, error, statistics, run_end FROM orchestrator_run"
    )
    assert run.id == outcome.run_id and run.success is False and run.run_end is not None
    assert message in run.error and run.statistics["outcome"] == reason
    assert _rows(database_url, "SELECT count(*) AS n FROM slick")[0].n == 0
    scene = resolve_scene(item)
    (row,) = _rows(database_url, "SELECT scene_id FROM sentinel1_grd")
    assert row.scene_id == scene.scene_id


def test_an_unknown_reference_is_an_outcome_not_a_crash(dask_client, database_url) -> None:
    outcome = run_scene(
        "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA",
        client=dask_client,
        database_url=database_url,
    )
    assert not outcome.success and outcome.reason == "bad-reference"
    assert "STAC" in outcome.error or "stac" in outcome.error
    assert _rows(database_url, "SELECT count(*) AS n FROM orchestrator_run")[0].n == 0
