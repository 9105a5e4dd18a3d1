"""Backfill: search, relevancy, done scenes, bounded concurrency, retries, kill and resume.

The scenes are small simulated ones (300 x 300 px at 80 m) in a static catalog with one scene
whose VV file is truncated and one whose footprint lies over the Sahara. The model is a small
untrained network exported with ``model.export``: a backfill's bookkeeping does not depend on
what the network finds, and a small one keeps the workers quick.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest
import sqlalchemy as sa
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from pipeline.backfill import backfill
from pipeline.backfill_errors import BackfillDatabaseError, BackfillParameterError
from pipeline.backfill_plan import plan_backfill
from pipeline.backfill_records import INTERRUPTED_ERROR, claim
from pipeline.backfill_run import run_backfill
from schema.cluster import Cluster
from schema.database import engine_for

WORLD = "-180,-90,180,90"
START, END = "2015-01-01", "2030-12-31"
GOOD_SEEDS = (701, 702, 703, 704)


@dataclasses.dataclass(frozen=True)
class BackfillCatalog:
    """A static catalog for backfills."""

    path: Path
    """Its ``catalog.json``."""
    good: tuple[str, ...]
    """Scenes that run and store."""
    broken: str
    """The scene whose VV file is truncated."""
    inland: str
    """The scene whose footprint covers only land."""


def _other_id(scene_id: str) -> str:
    """The same product id with another unique id (last four hex digits)."""
    head, tail = scene_id.rsplit("_", 1)
    return f"{head}_{(int(tail, 16) ^ 0xFFFF):04X}"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained two-level network with a card (``tiny:1``)."""
    import torch

    from model.card import Thresholds
    from model.export import export_model
    from model.network import NetworkConfig, SlickNet

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-model")
    export_model(
        SlickNet(NetworkConfig(widths=(4, 8), local_contrast_px=0)),
        folder,
        name="tiny",
        version="1",
        layers=["VV_DB"],
        normalization={"VV_DB": (-20.0, 5.0)},
        thresholds=Thresholds(seed=0.6, grow=0.5, min_area_px=4),
        tile_size=512,
    )
    return folder / "card.json"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> BackfillCatalog:
    """Four good scenes, one with a truncated VV file, one over land."""
    from catalog.simulate import SimulationConfig, write_scene
    from catalog.stac import write_catalog

    root = tmp_path_factory.mktemp("backfill-catalog")
    items = [
        write_scene(
            SimulationConfig(seed=seed, shape=(300, 300), land=False, slicks={"VESSEL": 1}),
            root / "scenes",
        )
        for seed in GOOD_SEEDS
    ]
    broken = write_scene(SimulationConfig(seed=709, shape=(300, 300), land=False), root / "scenes")
    vv = Path(broken.assets["vv"].get_absolute_href())
    vv.write_bytes(vv.read_bytes()[:4096])  # a failed download
    inland = items[0].clone()
    inland.id = _other_id(items[0].id)
    sahara = box(10.0, 22.0, 12.0, 24.0)
    inland.geometry, inland.bbox = mapping(sahara), list(sahara.bounds)
    path = write_catalog([*items, broken, inland], root, title="backfill test")
    return BackfillCatalog(path, tuple(i.id for i in items), broken.id, inland.id)


def _runs(url: str) -> list[sa.Row]:
    query = sa.text(
        "SELECT r.id, s.scene_id, r.success, r.error, r.trigger, r.run_start, r.run_end, "
        "r.statistics->>'outcome' AS outcome, m.name || ':' || m.version AS model "
        "FROM orchestrator_run r JOIN sentinel1_grd s ON s.id = r.sentinel1_grd "
        "JOIN model m ON m.id = r.model ORDER BY r.id"
    )
    with engine_for(url).connect() as conn:
        return list(conn.execute(query))


def _count(url: str, table: str) -> int:
    with engine_for(url).connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _successes(url: str) -> Counter[str]:
    return Counter(r.scene_id for r in _runs(url) if r.success)


def _max_overlap(runs: list[sa.Row]) -> int:
    events = sorted([(r.run_start, 1) for r in runs] + [(r.run_end, -1) for r in runs])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def test_dry_run_lists_what_would_run_and_writes_nothing(
    catalog: BackfillCatalog, tiny_model: Path, database_url: str
) -> None:
    from service.cli import app

    tables = ("trigger", "orchestrator_run", "sentinel1_grd", "model", "slick")
    before = {t: _count(database_url, t) for t in tables}
    env = {"SLICKWATCH_DATABASE_URL": database_url}
    args = ["backfill", "--stac", str(catalog.path), "--start", START, "--end", END]
    result = CliRunner().invoke(
        app, [*args, "--bbox", WORLD, "--model", str(tiny_model), "--dry-run"], env=env
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "6 scene(s) found" in out and "5 to run with tiny:1" in out
    for scene_id in (*catalog.good, catalog.broken):
        assert f"run     {scene_id}" in out
    assert f"skip    {catalog.inland}: footprint does not meet the ocean" in out
    assert "nothing was run or written" in out
    assert {t: _count(database_url, t) for t in tables} == before

    # an area that holds only the inland scene
    result = CliRunner().invoke(
        app, [*args, "--bbox", "9,21,13,25", "--model", str(tiny_model), "--dry-run"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "1 scene(s) found" in result.stdout and "0 to run" in result.stdout

    # bad input: a clear message, exit status 2, nothing written
    bad = CliRunner().invoke(app, [*args, "--bbox", "1,2,3", "--dry-run"], env=env)
    assert bad.exit_code == 2 and "is not W,S,E,N" in bad.output
    swapped = ["backfill", "--stac", str(catalog.path), "--bbox", WORLD]
    bad = CliRunner().invoke(app, [*swapped, "--start", END, "--end", START, "--dry-run"], env=env)
    assert bad.exit_code == 2 and "is before --start" in bad.output
    bad = CliRunner().invoke(app, [*args, "--dry-run"], env=env)
    assert bad.exit_code == 2 and "--bbox W,S,E,N or --aoi FILE" in bad.output
    assert {t: _count(database_url, t) for t in tables} == before


def test_aoi_file_selects_the_scenes_it_meets(
    catalog: BackfillCatalog, tiny_model: Path, tmp_path: Path
) -> None:
    import geopandas as gpd

    items = {i.id: i for i in pystac.Catalog.from_file(str(catalog.path)).get_items(recursive=True)}
    target = items[catalog.good[1]]
    # the AOI in a projected CRS, to show it is read and reprojected
    aoi = gpd.GeoDataFrame(geometry=[box(*target.bbox).buffer(-0.01)], crs=4326).to_crs(3857)
    aoi.to_file(tmp_path / "aoi.gpkg")
    plan = plan_backfill(catalog.path, aoi=tmp_path / "aoi.gpkg", model=tiny_model)
    assert [c.scene_id for c in plan.to_run] == [target.id]
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(BackfillParameterError, match="holds no polygon"):
        plan_backfill(catalog.path, aoi=tmp_path / "empty.geojson", model=tiny_model)


def test_backfill_stores_each_scene_once_and_records_failures(
    catalog: BackfillCatalog, tiny_model: Path, database_url: str, dask_client: object
) -> None:
    plan = plan_backfill(
        catalog.path, bbox=WORLD, start=START, end=END, database_url=database_url, model=tiny_model
    )
    assert plan.found == 6 and plan.relevant == 5 and len(plan.to_run) == 5
    seen = []
    report = run_backfill(
        plan,
        client=dask_client,
        database_url=database_url,
        max_concurrent=2,
        backoff_s=0.5,
        progress=lambda result, counts: seen.append((result.scene_id, dict(counts))),
    )
    assert report.counts() == {"stored": 4, "failed": 1, "irrelevant": 1}
    assert len(seen) == 5 and seen[-1][1] == {"stored": 4, "failed": 1}
    failed = report.with_status("failed")[0]
    # a fact about the scene: recorded once, not retried
    assert failed.scene_id == catalog.broken and failed.reason == "unreadable"
    assert failed.attempts == 1 and len(failed.run_ids) == 1

    runs = _runs(database_url)
    assert _successes(database_url) == Counter(catalog.good)
    assert all(r.model == "tiny:1" and r.trigger == report.trigger_id for r in runs)
    [bad] = [r for r in runs if r.scene_id == catalog.broken]
    assert bad.success is False and bad.outcome == "unreadable" and bad.error
    assert catalog.inland not in {r.scene_id for r in runs}
    # at most two scenes in flight, and two at once at some moment
    assert _max_overlap(runs) == 2

    with engine_for(database_url).connect() as conn:
        trigger = conn.execute(
            sa.text("SELECT * FROM trigger WHERE id = :id"), {"id": report.trigger_id}
        ).one()
        slick_runs = conn.execute(
            sa.text("SELECT DISTINCT orchestrator_run FROM slick WHERE active")
        ).scalars()
        stored_runs = set(slick_runs)
    assert trigger.trigger_type == "HISTORICAL_RUN"
    assert (trigger.scene_count, trigger.filtered_scene_count) == (6, 5)
    assert trigger.parameters["runner"] == "backfill"
    assert trigger.parameters["model"]["name"] == "tiny"
    logs = trigger.trigger_logs
    assert f"irrelevant {catalog.inland}" not in logs  # the plan's words are 'skip'
    assert f"skip    {catalog.inland}: footprint does not meet the ocean" in logs
    assert f"failed      {catalog.broken}: unreadable" in logs
    assert logs.count("stored      ") == 4 and "backfill finished" in logs
    assert stored_runs <= {r.id for r in runs if r.success}

    # again: every good scene is done; the broken one is tried again, unless another
    # backfill holds it right now
    again = plan_backfill(
        catalog.path, bbox=WORLD, start=START, end=END, database_url=database_url, model=tiny_model
    )
    assert {c.scene_id for c in again.with_action("done")} == set(catalog.good)
    assert [c.scene_id for c in again.to_run] == [catalog.broken]
    assert any(
        line.startswith(f"done    {catalog.good[0]}: done by tiny:1 in run")
        for line in again.describe()
    )
    with engine_for(database_url).connect() as conn:
        model_id = conn.execute(sa.text("SELECT id FROM model WHERE name = 'tiny'")).scalar_one()
    with claim(database_url, model_id=model_id, scene_id=catalog.broken) as held:
        assert held
        second = run_backfill(again, client=dask_client, database_url=database_url)
    assert second.counts() == {"done": 4, "claimed": 1, "irrelevant": 1}
    assert len(_runs(database_url)) == len(runs)  # nothing ran


def _block_connections(pg_cluster: Cluster, database: str, *, allow: bool) -> None:
    conn = pg_cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (database,),
                )
    finally:
        conn.close()


def test_scene_is_retried_when_the_database_goes_away(
    catalog: BackfillCatalog,
    tiny_model: Path,
    database_url: str,
    pg_cluster: Cluster,
    dask_client: object,
) -> None:
    database = sa.engine.make_url(database_url).database
    plan = plan_backfill(
        catalog.path, bbox=WORLD, start=START, end=END, database_url=database_url, model=tiny_model
    )
    good = tuple(c for c in plan.candidates if c.scene_id in catalog.good)
    plan = dataclasses.replace(plan, candidates=good[:2])
    assert [c.action for c in plan.candidates] == ["run", "run"]
    timers: list[threading.Timer] = []

    def outage(result: object, counts: dict[str, int]) -> None:
        if not timers:  # after the first scene: the database refuses everyone for 2.5 s
            _block_connections(pg_cluster, database, allow=False)
            timers.append(
                threading.Timer(
                    2.5, _block_connections, args=(pg_cluster, database), kwargs={"allow": True}
                )
            )
            timers[0].start()

    try:
        report = run_backfill(
            plan,
            client=dask_client,
            database_url=database_url,
            max_concurrent=1,
            retries=4,
            backoff_s=1.0,
            progress=outage,
        )
    finally:
        for timer in timers:
            timer.join()
    first, second = report.results
    assert first.status == "stored" and first.attempts == 1
    assert second.status == "stored" and second.attempts >= 2, second
    assert _successes(database_url) == Counter({first.scene_id: 1, second.scene_id: 1})
    # the failed attempts could not even claim the scene: no run row was left behind
    assert len(_runs(database_url)) == 2

    # with no retries the same outage fails the scene, with the reason and the remedy
    _block_connections(pg_cluster, database, allow=False)
    try:
        with pytest.raises(BackfillDatabaseError, match="slickwatch db status"):
            plan_backfill(catalog.path, bbox=WORLD, database_url=database_url, model=tiny_model)
    finally:
        _block_connections(pg_cluster, database, allow=True)


# ------------------------------------------------------------------------- kill and resume


def _slickwatch() -> list[str]:
    return [str(Path(sys.executable).with_name("slickwatch"))]


def _backfill_command(catalog: Path, model: Path) -> list[str]:
    """``slickwatch backfill`` of the whole test catalog with the tiny model."""
    return [
        *_slickwatch(),
        "backfill",
        "--stac",
        str(catalog),
        "--bbox",
        WORLD,
        "--start",
        START,
        "--end",
        END,
        "--model",
        str(model),
    ]


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a ``slickwatch`` process on the test database."""
    yield {
        **os.environ,
        "SLICKWATCH_DATABASE_URL": database_url,
        "SLICKWATCH_DATA_DIR": str(tmp_path / "data"),
        "SLICKWATCH_N_WORKERS": "1",
    }


def _wait_for(predicate, *, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            out = log.read_text()[-3000:]
            pytest.fail(f"the backfill ended (status {proc.returncode}) too early:\n{out}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"nothing happened within {timeout} s")
        time.sleep(0.1)


def test_killed_backfill_resumes_with_every_scene_stored_once(
    catalog: BackfillCatalog,
    tiny_model: Path,
    database_url: str,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    command = _backfill_command(catalog.path, tiny_model)
    log = tmp_path / "killed.log"
    with log.open("w") as sink:  # a file, not a pipe: nobody reads while it runs
        proc = subprocess.Popen(
            [*command, "--max-concurrent", "1"],
            env=cli_env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def midway() -> bool:  # a scene stored and the next one running
            runs = _runs(database_url)
            return any(r.success for r in runs) and any(r.success is None for r in runs)

        _wait_for(midway, proc=proc, log=log, timeout=400)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed = _runs(database_url)
    in_flight = [r.id for r in killed if r.success is None]
    assert in_flight and sum(bool(r.success) for r in killed) < len(catalog.good)

    rerun = subprocess.run(
        [*command, "--max-concurrent", "2"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # the broken scene failed (exit status 1); everything else is stored
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "1 scene(s) failed" in rerun.stderr and "unreadable" in rerun.stdout
    assert "interrupted runs closed" in rerun.stdout

    runs = _runs(database_url)
    assert _successes(database_url) == Counter(catalog.good)  # each exactly once
    assert not [r for r in runs if r.success is None]
    for run in runs:
        if run.id in in_flight:  # closed by the rerun, with the reason
            assert run.success is False and run.error == INTERRUPTED_ERROR
            assert run.outcome == "interrupted"
    broken = [r for r in runs if r.scene_id == catalog.broken]
    assert broken and all(r.success is False and r.outcome == "unreadable" for r in broken)
    with engine_for(database_url).connect() as conn:
        triggers = conn.execute(
            sa.text("SELECT scene_count, filtered_scene_count FROM trigger ORDER BY id")
        ).all()
        active = conn.execute(
            sa.text(
                "SELECT DISTINCT r.success FROM slick s "
                "JOIN orchestrator_run r ON r.id = s.orchestrator_run WHERE s.active"
            )
        ).scalars()
        assert set(active) <= {True}
    assert [tuple(t) for t in triggers] == [(6, 5), (6, 5)]


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT as an interactive Python has it: KeyboardInterrupt here, the default action in the
    processes started. A suite launched in the background by a non-interactive shell inherits
    SIGINT *ignored* (POSIX, for asynchronous lists), and an ignored signal stays ignored across
    exec: the Ctrl-C these tests send would then never arrive."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_finishes_the_scenes_in_flight_and_a_rerun_does_the_rest(
    catalog: BackfillCatalog, tiny_model: Path, database_url: str, dask_client: object
) -> None:
    def plan() -> object:
        return plan_backfill(
            catalog.path,
            bbox=WORLD,
            start=START,
            end=END,
            database_url=database_url,
            model=tiny_model,
        )

    interrupted: list[str] = []

    def ctrl_c(result: object, counts: dict[str, int]) -> None:
        if not interrupted:  # a real SIGINT, as the terminal sends it, while a scene is in flight
            interrupted.append(result.scene_id)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the signal lands here, in the main thread

    report = run_backfill(
        plan(), client=dask_client, database_url=database_url, max_concurrent=2, progress=ctrl_c
    )
    assert report.interrupted
    counts = report.counts()
    # the scene in flight when Ctrl-C came was finished (stored, or failed for the broken
    # one); nothing else was started
    assert counts["stored"] + counts.get("failed", 0) == 2 and counts["not-started"] == 3
    assert not [r for r in _runs(database_url) if r.success is None]
    with engine_for(database_url).connect() as conn:
        log = conn.execute(
            sa.text("SELECT trigger_logs FROM trigger WHERE id = :id"), {"id": report.trigger_id}
        ).scalar_one()
    assert "backfill stopped" in log

    rest = backfill(  # plan and run in one call
        catalog.path,
        client=dask_client,
        database_url=database_url,
        bbox=WORLD,
        start=START,
        end=END,
        model=tiny_model,
    )
    assert not rest.interrupted and rest.counts()["stored"] == 4 - counts["stored"]
    assert _successes(database_url) == Counter(catalog.good)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_in_a_terminal_stops_the_backfill_cleanly(
    catalog: BackfillCatalog,
    tiny_model: Path,
    database_url: str,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """A terminal's Ctrl-C reaches the whole process group, the local workers included."""
    out_log, err_log = tmp_path / "out.log", tmp_path / "err.log"
    with out_log.open("w") as out_file, err_log.open("w") as err_file:  # files: nobody reads
        proc = subprocess.Popen(
            [*_backfill_command(catalog.path, tiny_model), "--max-concurrent", "1"],
            env={**cli_env, "SLICKWATCH_N_WORKERS": "2"},
            cwd=tmp_path,
            stdout=out_file,
            stderr=err_file,
            start_new_session=True,
        )
    try:
        # Ctrl-C as soon as the first scene is in flight (its run row exists): four more wait.
        # Waiting for a stored scene instead raced a fast machine, which finished them all first.
        _wait_for(lambda: _runs(database_url), proc=proc, log=err_log, timeout=400)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=300)  # the scenes in flight finish first
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    out, err = out_log.read_text(), err_log.read_text()
    assert proc.returncode == 130, out + err
    assert "stopped: run the same command again" in err and "not-started" in out
    runs = _runs(database_url)
    assert runs and not [r for r in runs if r.success is None]  # in flight: finished
    assert len(runs) < 5 and sum(bool(r.success) for r in runs) < len(catalog.good)
