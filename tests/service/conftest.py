"""Fixtures of the service tests: a database with known rows, and the real app served by uvicorn
on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schema.cluster import Cluster
from tests.service.serving import Served, serve_database


@pytest.fixture(scope="session")
def served(
    pg_cluster: Cluster, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The service over known rows, shared by the tests that only read."""
    yield from serve_database(pg_cluster, template_database, tmp_path_factory.mktemp("served"))


@pytest.fixture
def served_fresh(pg_cluster: Cluster, template_database: str, tmp_path: Path) -> Iterator[Served]:
    """The service over its own copy of the known rows, for tests that write."""
    yield from serve_database(pg_cluster, template_database, tmp_path)
