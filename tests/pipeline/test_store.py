"""Store: one transaction per run; a second run replaces the active set; a failed store leaves a
failed run row and no slick of it, even when the database goes away in the middle."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa

from catalog.scene import resolve_scene
from model.registry import register
from pipeline.describe import OUTPUT_COLUMNS
from pipeline.errors import StoreError
from pipeline.store import begin_run, code_version, fail_run, finish_run
from schema.cluster import Cluster
from schema.database import dispose_engine, engine_for
from schema.migrate import upgrade


def _slicks(scene_id: str, classes: list[str]) -> gpd.GeoDataFrame:
    """Slicks as detect_scene returns them, off Cape Hatteras."""
    rows = []
    for i, name in enumerate(classes):
        x = -74.6 + 0.1 * i
        geom = shapely.MultiPolygon([shapely.box(x, 35.9, x + 0.05, 35.92)])
        rows.append(
            {
                "scene_id": scene_id,
                "slick_timestamp": datetime(2020, 11, 21, 22, 57, 59, tzinfo=UTC),
                "slick_class": name,
                "model_class": "VESSEL",
                "reclassified": None,
                "machine_confidence": 0.8,
                "area_m2": 1.0e7,
                "perimeter_m": 1.4e4,
                "polsby_popper": 0.6,
                "fill_factor": 1.0,
                "length_m": 4.5e3,
                "centerline_length_m": 4.4e3,
                "aspect_ratio_factor": 2.0,
                "centroid_lon": x + 0.025,
                "centroid_lat": 35.91,
                "pixels": 1500,
                "parts": 1,
                "class_probabilities": {"BACKGROUND": 0.2, "VESSEL": 0.8},
                "centerline": shapely.LineString([(x, 35.91), (x + 0.05, 35.91)]),
                "geometry": geom,
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    return frame[list(OUTPUT_COLUMNS)]


@pytest.fixture(scope="module")
def scene(real_vv: Path):
    return resolve_scene(real_vv)


def _active(url: str, scene_id: str) -> list[tuple[int, int, str]]:
    with engine_for(url).connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT s.id, s.orchestrator_run, c.short_name FROM slick s "
                "JOIN slick_class c ON c.id = s.slick_class "
                "JOIN orchestrator_run r ON r.id = s.orchestrator_run "
                "JOIN sentinel1_grd g ON g.id = r.sentinel1_grd "
                "WHERE s.active AND g.scene_id = :sid ORDER BY s.id"
            ),
            {"sid": scene_id},
        ).all()


def _run_row(url: str, run_id: int) -> sa.Row:
    with engine_for(url).connect() as conn:
        return conn.execute(
            sa.text("SELECT * FROM orchestrator_run WHERE id = :id"), {"id": run_id}
        ).one()


def test_a_second_run_replaces_the_active_set(database_url: str, scene, shipped_model) -> None:
    model_id = register(shipped_model, database_url)
    first = begin_run(database_url, scene, model_id=model_id, parameters={"chunk_size_px": 512})
    running = _run_row(database_url, first)
    assert running.success is None and running.run_end is None
    assert running.code_version == code_version() and running.code_version != "unknown"
    ids = finish_run(
        database_url,
        first,
        _slicks(scene.scene_id, ["VESSEL", "INFRA"]),
        timings={"compute": 1.5},
        statistics={"slicks": 2},
    )
    assert [r[0] for r in _active(database_url, scene.scene_id)] == ids
    done = _run_row(database_url, first)
    assert done.success is True and done.run_end is not None and done.error is None
    assert done.timings["compute"] == 1.5 and "store" in done.timings
    assert done.statistics["outcome"] == "stored"
    with engine_for(database_url).connect() as conn:
        row = conn.execute(
            sa.text("SELECT meta, area, machine_confidence FROM slick WHERE id = :id"),
            {"id": ids[0]},
        ).one()
        scenes = conn.execute(sa.text("SELECT count(*) FROM sentinel1_grd")).scalar()
    assert row.meta["centerline"]["type"] == "LineString" and row.meta["pixels"] == 1500
    assert row.area > 1e6 and row.machine_confidence == 0.8  # area from the schema's trigger

    second = begin_run(database_url, scene, model_id=model_id, parameters={"chunk_size_px": 512})
    new_ids = finish_run(
        database_url, second, _slicks(scene.scene_id, ["NATURAL"]), timings={}, statistics={}
    )
    active = _active(database_url, scene.scene_id)
    assert [(r[0], r[1], r[2]) for r in active] == [(new_ids[0], second, "NATURAL")]
    assert _run_row(database_url, second).statistics["deactivated"] == 2
    assert scenes == 1


def test_a_refused_store_writes_nothing_but_the_failure(
    database_url: str, scene, shipped_model
) -> None:
    model_id = register(shipped_model, database_url)
    first = begin_run(database_url, scene, model_id=model_id, parameters={})
    kept = finish_run(
        database_url, first, _slicks(scene.scene_id, ["VESSEL"]), timings={}, statistics={}
    )
    second = begin_run(database_url, scene, model_id=model_id, parameters={})
    # the second slick's class is unknown to the database: the whole transaction is refused
    with pytest.raises(StoreError, match="no slick class 'PUDDLE'"):
        finish_run(
            database_url,
            second,
            _slicks(scene.scene_id, ["VESSEL", "PUDDLE"]),
            timings={},
            statistics={},
        )
    assert fail_run(database_url, second, StoreError("no slick class 'PUDDLE'"), wait_s=5)
    failed = _run_row(database_url, second)
    assert failed.success is False and "PUDDLE" in failed.error and failed.run_end is not None
    assert failed.statistics["outcome"] == "store"
    assert [r[0] for r in _active(database_url, scene.scene_id)] == kept
    with engine_for(database_url).connect() as conn:
        of_second = conn.execute(
            sa.text("SELECT count(*) FROM slick WHERE orchestrator_run = :r"), {"r": second}
        ).scalar()
    assert of_second == 0


@pytest.fixture
def own_cluster() -> Iterator[tuple[Cluster, str]]:
    """A private PostGIS that this test may stop and start, with a migrated database."""
    folder = Path(tempfile.mkdtemp(prefix="slickwatch-store-"))
    cluster = Cluster(folder, fsync=False)
    try:
        cluster.start()
        url = cluster.create_database("store_test")
        upgrade(url, "head")
        yield cluster, url
    finally:
        dispose_engine(cluster.url("store_test"))
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_database_going_away_during_the_store(own_cluster, scene, shipped_model) -> None:
    cluster, url = own_cluster
    model_id = register(shipped_model, url)
    first = begin_run(url, scene, model_id=model_id, parameters={})
    kept = finish_run(url, first, _slicks(scene.scene_id, ["VESSEL"]), timings={}, statistics={})
    second = begin_run(url, scene, model_id=model_id, parameters={})

    # Another session holds the slick table, so the store waits inside its transaction...
    blocker = cluster.connect("store_test")
    blocker.autocommit = False
    blocker.cursor().execute("LOCK TABLE slick IN ACCESS EXCLUSIVE MODE")
    outcome: dict[str, object] = {}

    def store() -> None:
        try:
            finish_run(
                url,
                second,
                _slicks(scene.scene_id, ["INFRA", "NATURAL"]),
                timings={},
                statistics={},
            )
        except StoreError as exc:  # what run_scene does with it
            outcome["error"] = exc
            outcome["recorded"] = fail_run(url, second, exc, wait_s=60)

    thread = threading.Thread(target=store)
    thread.start()
    deadline = time.monotonic() + 30
    watcher = cluster.connect("store_test")
    watcher.autocommit = True
    while time.monotonic() < deadline:
        with watcher.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'store_test' "
                "AND wait_event_type = 'Lock'"
            )
            if cur.fetchone()[0] > 0:
                break
        time.sleep(0.1)
    else:
        pytest.fail("the store never waited for the lock")
    watcher.close()
    # ...when the server goes down (fast shutdown: every session is cut off).
    cluster.stop()
    time.sleep(2.0)  # the failed run keeps trying to record itself meanwhile
    assert thread.is_alive(), "fail_run must wait for the database to come back"
    cluster.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert outcome["recorded"] is True
    assert "Could not store the slicks of run" in str(outcome["error"])
    failed = _run_row(url, second)
    assert failed.success is False and failed.statistics["outcome"] == "store"
    assert [r[0] for r in _active(url, scene.scene_id)] == kept
    with engine_for(url).connect() as conn:
        counts = conn.execute(
            sa.text("SELECT orchestrator_run, count(*) FROM slick GROUP BY 1 ORDER BY 1")
        ).all()
    assert [tuple(c) for c in counts] == [(first, 1)]
