"""``slickwatch detect`` as a user runs it: on a ``dask scheduler`` with ``dask worker`` processes
started here (one of them a GPU worker by its resources), writing files and rows; and on the real
scene, end to end, with a local cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from schema.database import engine_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SLICK_OUTLINE = ROOT / "catalog" / "data" / "real_scene_slick.geojson"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dask scheduler`` plus two ``dask worker`` processes; one offers the resource GPU=1."""
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-logs")
    address = f"tcp://127.0.0.1:{_free_port()}"
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                *common,
            ],
            stdout=(logs / "scheduler.log").open("w"),
            stderr=subprocess.STDOUT,
        )
    ]
    for name, extra in (("gpu-0", ["--resources", "GPU=1"]), ("cpu-0", [])):
        procs.append(
            subprocess.Popen(
                [
                    str(BIN / "dask"),
                    "worker",
                    address,
                    "--name",
                    name,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--memory-limit",
                    "3GiB",
                    *extra,
                    *common,
                ],
                stdout=(logs / f"{name}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _detect(*args: str, env: dict[str, str] | None = None, timeout: int = 600):
    return subprocess.run(
        [str(BIN / "slickwatch"), "detect", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )


def test_detect_on_a_running_scheduler_runs_inference_on_the_gpu_worker(
    scheduler_address: str, simulate_scene, shipped_model: Path, tmp_path: Path
) -> None:
    from distributed import Client

    from model.predictor import load_count

    item = simulate_scene(51, shape=(384, 448), geometry="utm", slicks={"VESSEL": 1})
    out = tmp_path / "slicks.geojson"
    done = _detect(
        str(item),
        "--scheduler",
        scheduler_address,
        "--no-store",
        "--chunk-size",
        "128",
        "--model",
        str(shipped_model),
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "slickwatch detect: S1A_IW_GRDH" in done.stdout and "amplification" in done.stdout
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 4326 and len(frame) >= 1
    assert {"slick_class", "machine_confidence", "area_m2", "centerline"} <= set(frame.columns)
    assert shapely.from_wkt(frame["centerline"].iloc[0]).geom_type.endswith("LineString")
    with Client(scheduler_address) as client:
        loads = client.run(load_count)
        names = {a: w["name"] for a, w in client.scheduler_info()["workers"].items()}
    by_name = {names[a]: n for a, n in loads.items()}
    # 12 blocks: every inference task ran on the GPU worker, and it loaded the model once
    assert by_name == {"gpu-0": 1, "cpu-0": 0}


def test_detect_stores_and_writes_a_file(
    scheduler_address: str,
    simulate_scene,
    shipped_model: Path,
    database_url: str,
    tmp_path: Path,
) -> None:
    from pipeline.output import write_slicks

    item = simulate_scene(52, shape=(320, 320), geometry="utm", slicks={"VESSEL": 1, "INFRA": 1})
    env = {"SLICKWATCH_DATABASE_URL": database_url}
    out = tmp_path / "slicks.gpkg"
    done = _detect(
        str(item),
        "--scheduler",
        scheduler_address,
        "--chunk-size",
        "256",
        "--model",
        str(shipped_model),
        "-o",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "stored" in done.stdout and "run" in done.stdout
    frame = gpd.read_file(out)
    assert not list(tmp_path.glob(".slicks*")), "no temporary file may be left behind"
    with engine_for(database_url).connect() as conn:
        runs = conn.execute(sa.text("SELECT success FROM orchestrator_run ORDER BY id")).all()
        active = (
            conn.execute(sa.text("SELECT machine_confidence FROM slick WHERE active ORDER BY id"))
            .scalars()
            .all()
        )
    assert [r.success for r in runs] == [True]
    assert len(active) == len(frame) >= 1
    assert sorted(active) == pytest.approx(sorted(frame["machine_confidence"]))
    # the same slicks in the other formats, read back alike
    for ext in ("geojson", "parquet"):
        path = write_slicks(gpd.read_file(out), tmp_path / f"again.{ext}")
        again = gpd.read_parquet(path) if ext == "parquet" else gpd.read_file(path)
        assert len(again) == len(frame) and again.crs.to_epsg() == 4326
        pd.testing.assert_series_equal(again["slick_class"], frame["slick_class"])


def test_detect_refuses_bad_options_before_doing_anything(
    scheduler_address: str,
    simulate_scene,
    shipped_model: Path,
    database_url: str,
    tmp_path: Path,
) -> None:
    item = simulate_scene(52, shape=(320, 320), geometry="utm", slicks={"VESSEL": 1, "INFRA": 1})
    env = {"SLICKWATCH_DATABASE_URL": database_url}
    bad = _detect(str(item), "-o", str(tmp_path / "slicks.shp"), env=env, timeout=120)
    assert bad.returncode == 2 and "end the file name in .geojson, .parquet or .gpkg" in bad.stderr
    both = _detect(
        str(item),
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--kubernetes",
        "x.yaml",
        env=env,
        timeout=120,
    )
    assert both.returncode == 2 and "not both" in both.stderr
    quick = {**env, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    gone = _detect(
        str(item),
        "--scheduler",
        f"tcp://127.0.0.1:{_free_port()}",
        "--model",
        str(shipped_model),
        env=quick,
        timeout=180,
    )
    assert gone.returncode == 1 and "Cannot reach the Dask scheduler" in gone.stderr
    missing = _detect(
        str(tmp_path / "nothing.json"), "--no-store", "--scheduler", scheduler_address, timeout=180
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    with engine_for(database_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM orchestrator_run")).scalar() == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_real_scene_end_to_end(
    real_vv: Path, shipped_model: Path, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "real.geojson"
    done = _detect(
        str(real_vv),
        "--workers",
        "2",
        "--model",
        str(shipped_model),
        "-o",
        str(out),
        env={"SLICKWATCH_DATABASE_URL": database_url},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    truth = gpd.read_file(SLICK_OUTLINE).to_crs(32618).union_all()
    found = gpd.read_file(out)
    oil = found[~found["slick_class"].isin(["LAND", "ARTEFACT"])].to_crs(32618)
    hits = oil[oil.intersects(truth)]
    assert len(hits) >= 1, "the real vessel slick must be found"
    best = hits.iloc[hits.intersection(truth).area.argmax()]
    assert best.geometry.intersection(truth).area / truth.area > 0.3
    assert best["length_m"] > 15_000  # a trail tens of kilometres long
    with engine_for(database_url).connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT s.id, c.short_name, ST_AsGeoJSON(s.geometry) AS g, s.length, "
                "s.machine_confidence FROM slick s JOIN slick_class c ON c.id = s.slick_class "
                "WHERE s.active"
            )
        ).all()
        scene = conn.execute(sa.text("SELECT scene_id FROM sentinel1_grd")).scalar()
    assert scene == real_vv.name.split(".")[0]
    assert len(stored) == len(found)
    geoms = gpd.GeoSeries([shapely.from_geojson(r.g) for r in stored], crs=4326).to_crs(32618)
    assert geoms.intersects(truth).any(), "the real slick is stored"
    assert json.loads(stored[0].g)["type"] == "MultiPolygon"
