"""Fixtures shared by the tests of every package: a real, private PostGIS for the session.

- ``pg_cluster`` (session): a throw-away PostgreSQL + PostGIS cluster in its own temp folder, on its
  own free loopback port, fsync off; stopped and deleted when the session ends (a watchdog process
  does it even if pytest is killed). Two pytest runs at once get two clusters.
- ``template_database`` (session): the name of a database migrated to head (seed rows included),
  closed to connections so that it can be cloned.
- ``database_url`` (function) and ``module_database_url`` (module): the SQLAlchemy URL of a fresh
  copy of the template, dropped afterwards.
- ``create_database(cluster, name, template=None)``: a helper for raw databases (with PostGIS, no
  tables), e.g. for pgstac: ``from tests.databases import create_database``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from schema.cluster import Cluster
from tests.databases import unique_database_name

TEMPLATE_DATABASE = "slickwatch_template"
"""Name of the migrated template database inside the session cluster."""


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A private PostgreSQL + PostGIS cluster for this test session (started, fsync off)."""
    folder = Path(tempfile.mkdtemp(prefix="slickwatch-pg-"))
    cluster = Cluster(folder, fsync=False)
    watchdog = None
    try:
        cluster.start()
        watchdog = cluster.stop_with(os.getpid(), remove=True)
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            if watchdog is not None:
                watchdog.terminate()
                watchdog.wait(timeout=10)
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(pg_cluster: Cluster) -> str:
    """Name of a database migrated to head, with the seed rows, that nobody may connect to."""
    from schema.database import dispose_engine
    from schema.migrate import upgrade

    url = pg_cluster.create_database(TEMPLATE_DATABASE)
    upgrade(url, "head")
    dispose_engine(url)
    conn = pg_cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{TEMPLATE_DATABASE}" WITH ALLOW_CONNECTIONS false')
    finally:
        conn.close()
    return TEMPLATE_DATABASE


def _fresh_database(cluster: Cluster, template: str) -> Iterator[str]:
    from schema.database import dispose_engine

    name = unique_database_name()
    url = cluster.create_database(name, template=template)
    try:
        yield url
    finally:
        dispose_engine(url)
        cluster.drop_database(name)


@pytest.fixture
def database_url(pg_cluster: Cluster, template_database: str) -> Iterator[str]:
    """URL of a fresh migrated database for this test, dropped afterwards."""
    yield from _fresh_database(pg_cluster, template_database)


@pytest.fixture(scope="module")
def module_database_url(pg_cluster: Cluster, template_database: str) -> Iterator[str]:
    """URL of a fresh migrated database shared by the tests of one module, dropped afterwards."""
    yield from _fresh_database(pg_cluster, template_database)
