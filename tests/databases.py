"""Helpers for tests that need raw databases in the session cluster (see tests/conftest.py)."""

from __future__ import annotations

import uuid

from schema.cluster import Cluster


def create_database(cluster: Cluster, name: str, template: str | None = None) -> str:
    """Create database ``name`` in ``cluster`` and return its SQLAlchemy URL.

    Without ``template`` the database is empty but for the ``postgis`` extension; with one it is a
    copy of that database. Databases disappear with the session cluster; drop them earlier with
    ``cluster.drop_database(name)`` if you like.
    """
    return cluster.create_database(name, template=template)


def unique_database_name(prefix: str = "test") -> str:
    """A database name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
