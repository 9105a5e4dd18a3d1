"""Helpers of the service tests: a database with known rows, served by the real app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from schema.cluster import Cluster
from schema.settings import Settings
from service.server import free_port, running
from tests.service.service_data import Rows, insert_rows

REAL_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


@dataclass(frozen=True)
class Served:
    """A running service over a database with known rows."""

    url: str
    """Base URL, ``http://127.0.0.1:PORT``."""
    database_url: str
    """The database it serves."""
    rows: Rows
    """What the database holds."""
    keys: dict[str, str]
    """API keys by name: ``reader`` (read), ``reviewer`` (review), ``operator``
    (orchestrate), ``revoked`` (read, revoked)."""

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for the service."""
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)


def make_settings(data_dir: Path, port: int, **extra: object) -> Settings:
    """Settings of a test service on 127.0.0.1:``port``."""
    return Settings(data_dir=data_dir, host="127.0.0.1", port=port, **extra)


def serve_database(
    cluster: Cluster, template: str, data_dir: Path, **settings: object
) -> Iterator[Served]:
    """Create a database with :func:`insert_rows` and keys, serve it, and drop it afterwards."""
    from schema.api_keys import create_api_key, revoke_api_key
    from schema.database import dispose_engine, engine_for
    from service.app import create_app

    name = f"svc_{uuid.uuid4().hex[:10]}"
    url = cluster.create_database(name, template=template)
    try:
        with engine_for(url).begin() as conn:
            rows = insert_rows(conn)
        keys = {
            who: create_api_key(who, scopes=[scope], db=url)[0]
            for who, scope in (
                ("reader", "read"),
                ("reviewer", "review"),
                ("operator", "orchestrate"),
                ("revoked", "read"),
            )
        }
        revoke_api_key("revoked", db=url)
        port = free_port()
        app = create_app(make_settings(data_dir, port, **settings), database_url=url)
        with running(app, port=port) as base:
            yield Served(url=base, database_url=url, rows=rows, keys=keys)
    finally:
        dispose_engine(url)
        cluster.drop_database(name)
