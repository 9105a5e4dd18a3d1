"""The main job: ``slickwatch demo`` from nothing to rows in PostGIS and slicks over HTTP.

It runs as a user runs it (the ``slickwatch`` program, its own private PostGIS, a local Dask
cluster, the shipped model) in a temporary data folder. The private cluster's folder is given
with ``SLICKWATCH_PG_DIR`` only because pytest's temporary folders are closed to the
``postgres`` user that runs the server.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from schema.cluster import Cluster
from schema.settings import Settings
from service.server import free_port

REAL_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a demo in ``tmp_path/data``; its private PostGIS is stopped afterwards."""
    pg_dir = Path(tempfile.mkdtemp(prefix="slickwatch-demo-pg-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLICKWATCH_")}
    if os.environ.get("SLICKWATCH_MODEL"):  # a developer's model under test
        env["SLICKWATCH_MODEL"] = os.environ["SLICKWATCH_MODEL"]
    env.update(
        SLICKWATCH_DATA_DIR=str(tmp_path / "data"),
        SLICKWATCH_PG_DIR=str(pg_dir),
        SLICKWATCH_PG_FSYNC="false",
        SLICKWATCH_N_WORKERS="2",
    )
    cluster = Cluster(pg_dir, fsync=False)
    watchdog = cluster.stop_with(os.getpid(), remove=True)  # even if pytest is killed
    try:
        yield env
    finally:
        try:
            cluster.stop()
        finally:
            watchdog.terminate()
            watchdog.wait(timeout=10)
            shutil.rmtree(pg_dir, ignore_errors=True)


def _slickwatch(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("slickwatch")), *args]


def _read_until(proc: subprocess.Popen, pattern: str, *, timeout: float) -> tuple[str, str]:
    """Read the process's output until a line matches; returns (match group 1, output so far).

    Reads the pipe's bytes as they come (``os.read``) rather than with ``readline``: a buffered
    reader may take several lines in one read, and the selector would then wait for more bytes
    while the line looked for already sits in the buffer (the server's links are the last lines
    it prints)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    fd = proc.stdout.fileno()
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in text.split("\n")[:-1]:  # whole lines only: a URL may come in two reads
            match = re.search(pattern, line)
            if match:
                return match.group(1), text
        if not selector.select(timeout=1.0):
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        text += chunk.decode(errors="replace")
    proc.kill()
    pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n{text[-4000:]}")


def test_demo_fills_postgis_and_serves_the_slicks(demo_env: dict[str, str], tmp_path: Path) -> None:
    assert (REAL_DIR / f"{REAL_ID}.vv.tif").is_file(), f"the real scene is missing from {REAL_DIR}"
    first = subprocess.run(
        _slickwatch("demo", "--no-serve", "--real-dir", str(REAL_DIR)),
        env=demo_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert first.returncode == 0, first.stdout + first.stderr[-4000:]
    out = first.stdout
    assert "5 in the catalog: stored 5" in out, out
    printed_slicks = int(re.search(r"slicks\s*│\s*(\d+)", out).group(1))

    # the rows, as a user of the database sees them
    settings = Settings(data_dir=tmp_path / "data", pg_dir=Path(demo_env["SLICKWATCH_PG_DIR"]))
    url = Cluster.from_settings(settings).ensure()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        scenes = dict(conn.execute(sa.text("SELECT scene_id, simulated FROM sentinel1_grd")).all())
        runs = conn.execute(
            sa.text("SELECT success, count(*) FROM orchestrator_run GROUP BY success")
        ).all()
        trigger = conn.execute(
            sa.text("SELECT trigger_type, scene_count, filtered_scene_count FROM trigger")
        ).one()
        per_class = dict(
            conn.execute(
                sa.text(
                    "SELECT c.short_name, count(*) FROM slick s "
                    "JOIN slick_class c ON c.id = s.slick_class WHERE s.active GROUP BY 1"
                )
            ).all()
        )
        public = conn.execute(sa.text("SELECT count(*) FROM slick_plus")).scalar_one()
    engine.dispose()
    assert len(scenes) == 5 and scenes.pop(REAL_ID) is False and all(scenes.values())
    assert runs == [(True, 5)]
    assert tuple(trigger) == ("HISTORICAL_RUN", 5, 5)
    assert sum(per_class.values()) == printed_slicks > 0
    for name, n in per_class.items():
        assert f"{name} {n}" in out
    assert f"({public} oil slicks on the map and the API)" in out

    # again, serving: nothing is run twice, and the API serves what the database holds
    port = free_port()
    proc = subprocess.Popen(
        _slickwatch("demo", "--real-dir", str(REAL_DIR), "--port", str(port)),
        env=demo_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        items_url, said = _read_until(proc, r"slicks:\s+(\S+)", timeout=300)
        assert "5 in the catalog: done 5" in said
        assert items_url == f"http://127.0.0.1:{port}/collections/slicks/items"
        with httpx.Client(timeout=60) as http:
            slicks = http.get(items_url, params={"f": "json", "limit": 1000})
            assert slicks.status_code == 200
            features = slicks.json()["features"]
            assert len(features) == public
            assert {f["properties"]["scene_id"] for f in features} <= {REAL_ID, *scenes}
            found = http.get(
                f"http://127.0.0.1:{port}/collections/scenes/items", params={"f": "json"}
            ).json()["features"]
            assert {f["properties"]["scene_id"] for f in found} == {REAL_ID, *scenes}
            page = http.get(f"http://127.0.0.1:{port}/map")
            assert page.status_code == 200 and "leaflet" in page.text.lower()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
