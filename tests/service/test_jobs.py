"""Scene jobs: a dry run decides and plans without writing; a real job runs the pipeline on a local
Dask cluster of processes and reports its run and slicks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.service.serving import REAL_DATA, serve_database

REAL_VV = REAL_DATA / "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA.vv.tif"


def _counts(served) -> dict[str, int]:
    from schema.database import engine_for

    with engine_for(served.database_url).connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("trigger", "sentinel1_grd", "orchestrator_run", "slick")
        }


def _post(served, body: dict, key: str = "operator"):
    with served.client(headers={"X-API-Key": served.keys[key]}) as client:
        return client.post("/orchestrate", json=body)


def test_dry_run_decides_and_plans_without_writing(served) -> None:
    before = _counts(served)
    response = _post(served, {"stac_item": str(REAL_VV.resolve()), "dry_run": True})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["dry_run"] is True
    assert answer["scene_id"].startswith("S1A_IW_GRDH_1SDV_20201121T225759")
    assert answer["relevant"] is True and answer["reasons"] == []
    plan = answer["plan"]
    assert plan["georeferencing"] == "gcps"
    assert plan["resolution_m"] == 80.0
    assert plan["grid"]["rows"] > 1000 and plan["grid"]["cols"] > 1000
    assert plan["grid"]["blocks"] >= 1
    assert plan["steps"][0] == "resolve" and plan["steps"][-1] == "store"
    assert -80 < plan["footprint_bbox"][0] < plan["footprint_bbox"][2] < -70
    assert _counts(served) == before


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"scene_id": "S1X_ZZ_NOTANID", "dry_run": True}, 422, "S1X_ZZ_NOTANID"),
        ({"stac_item": {"type": "Feature", "id": 3}, "dry_run": True}, 400, "STAC item"),
        ({"stac_item": "/nonexistent/scene.json", "dry_run": True}, 422, "nonexistent"),
        ({"dry_run": True}, 400, "scene_id or stac_item"),
        ({"scene_id": "a", "stac_item": "b"}, 400, "scene_id or stac_item"),
    ],
)
def test_bad_scene_references(served, body: dict, status: int, words: str) -> None:
    before = _counts(served)
    response = _post(served, body)
    assert response.status_code == status, response.text
    assert words in response.json()["description"]
    assert _counts(served) == before


def test_jobs_need_the_orchestrate_scope(served) -> None:
    with served.client() as client:
        assert client.get("/jobs/1").status_code == 401
        reader = client.get("/jobs/1", headers={"X-API-Key": served.keys["reader"]})
        assert reader.status_code == 403
        missing = client.get("/jobs/424242", headers={"X-API-Key": served.keys["operator"]})
        assert missing.status_code == 404
        assert "424242" in missing.json()["description"]


def _shipped_model() -> Path:
    from model.predictor import SHIPPED_DIR

    return SHIPPED_DIR / "card.json"


@pytest.mark.skipif(
    not _shipped_model().is_file(), reason="the shipped model (model/weights) is not there yet"
)
def test_a_job_runs_a_scene_and_reports_its_run_and_slicks(
    pg_cluster, template_database, tmp_path
) -> None:
    from catalog.simulate import SimulationConfig, write_scene

    item = write_scene(
        SimulationConfig(seed=31, shape=(384, 384), geometry="utm", slicks={"VESSEL": 1}),
        tmp_path / "scene",
    )
    for served in serve_database(
        pg_cluster,
        template_database,
        tmp_path / "data",
        n_workers=1,
        chunk_size=256,
        model=str(_shipped_model()),
    ):
        response = _post(served, {"stac_item": item.get_self_href()})
        assert response.status_code == 202, response.text
        job_id = response.json()["job_id"]
        assert response.headers["location"].endswith(f"/jobs/{job_id}")
        with served.client(headers={"X-API-Key": served.keys["operator"]}) as client:
            deadline = time.monotonic() + 300
            while True:
                status = client.get(f"/jobs/{job_id}").json()
                if status["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert status["state"] == "succeeded", status
            assert status["run_id"] and status["slick_ids"]
            run = client.get(
                f"/collections/runs/items/{status['run_id']}",
                headers={"X-API-Key": served.keys["reader"]},
            ).json()
            histories = [client.get(f"/slicks/{i}/history").json() for i in status["slick_ids"]]
        from schema.database import engine_for

        with engine_for(served.database_url).connect() as conn:
            stored = conn.execute(
                sa.text("SELECT id FROM slick WHERE orchestrator_run = :run AND active"),
                {"run": status["run_id"]},
            ).scalars()
            assert sorted(stored) == status["slick_ids"]
        assert all(h["history"][0]["active"] for h in histories)
        assert run["properties"]["trigger"] == job_id
        assert run["properties"]["success"] is True
        assert run["properties"]["slick_count"] == len(status["slick_ids"])


def test_a_scene_on_land_is_not_queued(served, tmp_path) -> None:
    from catalog.simulate import SimulationConfig, write_scene

    item = write_scene(SimulationConfig(seed=1, shape=(128, 128), center=(10.0, 50.0)), tmp_path)
    before = _counts(served)
    dry = _post(served, {"stac_item": item.get_self_href(), "dry_run": True}).json()
    assert dry["relevant"] is False
    assert "land" in " ".join(dry["reasons"])
    assert dry["plan"]["will_run"] is False
    refused = _post(served, {"stac_item": item.get_self_href()})
    assert refused.status_code == 422
    assert "not relevant" in refused.json()["description"]
    assert "force" in refused.json()["description"]
    assert _counts(served) == before
