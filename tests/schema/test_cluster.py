"""The private PostgreSQL cluster: start, restart, crash recovery, stop, and the settings."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from schema.cluster import HOST, Cluster, _process_alive, find_postgres_bin
from schema.database import database_url, normalize_url
from schema.errors import ClusterPermissionError, PostgresNotInstalled
from schema.settings import Settings


@pytest.fixture
def folder() -> Iterator[Path]:
    """A throw-away folder the ``postgres`` user can reach; any cluster in it is stopped after."""
    path = Path(tempfile.mkdtemp(prefix="slickwatch-test-cluster-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for version_file in path.rglob("data/PG_VERSION"):
            Cluster(version_file.parent.parent).stop()
        shutil.rmtree(path, ignore_errors=True)


def _query(port: int, sql: str, database: str = "slickwatch") -> list[tuple]:
    conn = psycopg2.connect(host=HOST, port=port, user="postgres", dbname=database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (the postmaster's backends and helpers)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            kids.append(int(stat.parent.name))
    return kids


def _wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _process_alive(pid), f"process {pid} still alive"


def test_ensure_creates_database_with_postgis_and_second_start_is_a_noop(folder: Path) -> None:
    cluster = Cluster(folder / "pg", fsync=False)
    url = cluster.ensure()
    first = cluster.status()
    assert first.running and first.pid is not None and first.port is not None
    assert url == f"postgresql+psycopg2://postgres@127.0.0.1:{first.port}/slickwatch"
    (version,) = _query(first.port, "SELECT postgis_version()")[0]
    assert version.startswith("3.")
    started_at = (cluster.data_dir / "postmaster.pid").read_text().splitlines()[2]

    again = cluster.start()
    assert again.pid == first.pid and again.port == first.port
    assert (cluster.data_dir / "postmaster.pid").read_text().splitlines()[2] == started_at
    assert cluster.ensure() == url
    # the unix socket works too (short path: it sits in the cluster's own folder)
    assert first.socket_dir == cluster.path / "run"
    conn = psycopg2.connect(host=str(first.socket_dir), port=first.port, user="postgres")
    conn.close()


def test_stale_pid_file_after_kill_9_is_recovered_and_data_kept(folder: Path) -> None:
    cluster = Cluster(folder / "pg", fsync=False)
    cluster.ensure()
    before = cluster.status()
    _query(before.port, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")

    os.kill(before.pid, signal.SIGKILL)
    _wait_dead(before.pid)
    assert (cluster.data_dir / "postmaster.pid").exists()
    crashed = cluster.status()
    assert not crashed.running and crashed.url is None

    after = cluster.start()
    assert after.running and after.pid != before.pid
    assert after.port == before.port
    assert _query(after.port, "SELECT x FROM kept") == [(42,)]


def test_stop_leaves_nothing_running(folder: Path) -> None:
    cluster = Cluster(folder / "pg", fsync=False)
    cluster.ensure()
    status = cluster.status()
    processes = [status.pid, *_children(status.pid)]
    assert len(processes) >= 4  # postmaster, checkpointer, background writer, walwriter, ...
    socket_file = status.socket_dir / f".s.PGSQL.{status.port}"
    assert socket_file.exists()

    assert cluster.stop() is True
    for pid in processes:
        _wait_dead(pid)
    assert not socket_file.exists()
    assert not (cluster.data_dir / "postmaster.pid").exists()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((HOST, status.port))
    assert cluster.status().running is False
    assert cluster.stop() is False  # stopping a stopped cluster is a no-op


def test_port_is_kept_across_restarts_unless_taken(folder: Path) -> None:
    cluster = Cluster(folder / "pg", fsync=False)
    first = cluster.start()
    cluster.stop()
    assert cluster.start().port == first.port
    cluster.stop()
    with socket.socket() as squatter:
        squatter.bind((HOST, first.port))
        squatter.listen()
        moved = cluster.start()
        assert moved.port != first.port
        assert _query(moved.port, "SELECT 1", database="postgres") == [(1,)]


def test_long_folder_puts_the_socket_in_a_short_temp_folder(folder: Path) -> None:
    deep = folder / ("a-rather-long-folder-name-" * 4) / "pg"
    cluster = Cluster(deep, fsync=False)
    status = cluster.start()
    assert len(str(status.socket_dir / f".s.PGSQL.{status.port}")) <= 107
    assert not status.socket_dir.is_relative_to(deep)
    conn = psycopg2.connect(host=str(status.socket_dir), port=status.port, user="postgres")
    conn.close()


def test_watchdog_stops_the_cluster_when_its_owner_dies(folder: Path) -> None:
    cluster = Cluster(folder / "pg", fsync=False)
    pid = cluster.start().pid
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watchdog = cluster.stop_with(owner.pid, remove=True)
    try:
        owner.kill()
        owner.wait()
        watchdog.wait(timeout=30)
    finally:
        watchdog.kill()
    _wait_dead(pid)
    assert not cluster.path.exists()


def test_missing_programs_say_how_to_install_them(tmp_path: Path) -> None:
    with pytest.raises(PostgresNotInstalled, match="SLICKWATCH_PG_BIN"):
        find_postgres_bin(tmp_path)
    with pytest.raises(PostgresNotInstalled, match="SLICKWATCH_PG_BIN"):
        Cluster(tmp_path / "pg", bin_dir=tmp_path).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another user")
def test_folder_the_server_user_cannot_reach_is_refused_with_a_remedy(folder: Path) -> None:
    private = folder / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ClusterPermissionError, match="SLICKWATCH_PG_DIR"):
        Cluster(private / "pg").start()
    assert not (private / "pg" / "data").exists()


def test_database_url_prefers_the_setting_and_else_starts_the_private_cluster(
    folder: Path,
) -> None:
    external = Settings(_env_file=None, database_url="postgresql://someone@db.example:5432/slicks")
    assert database_url(external) == "postgresql+psycopg2://someone@db.example:5432/slicks"
    assert normalize_url("postgres://a:b@h/d") == "postgresql+psycopg2://a:b@h/d"

    settings = Settings(
        _env_file=None,
        database_url=None,
        pg_dir=folder / "private-pg",
        database_name="mine",
        pg_fsync=False,
    )
    url = database_url(settings)
    status = Cluster.from_settings(settings).status()
    assert status.running
    assert url == f"postgresql+psycopg2://postgres@127.0.0.1:{status.port}/mine"
    assert _query(status.port, "SELECT current_database()", database="mine") == [("mine",)]
