"""Where the database is, and connections to it.

``database_url(settings)`` is the one place that decides which PostGIS slickwatch talks to:
``SLICKWATCH_DATABASE_URL`` when set, else the project's private cluster (started on demand).
Engines are cached per URL, so every caller in a process shares one connection pool.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from schema.settings import Settings

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """The same URL with the psycopg2 driver spelled out (for ``postgres(ql)://`` URLs)."""
    parsed = make_url(
        url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url
    )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def database_url(settings: Settings | None = None) -> str:
    """SQLAlchemy URL of the project database.

    ``settings.database_url`` (``SLICKWATCH_DATABASE_URL``) when set; otherwise the private cluster
    in ``settings.pg_path`` is initialized and started if needed, the database created with PostGIS,
    and its URL returned (``postgresql+psycopg2://postgres@127.0.0.1:<port>/<database_name>``).
    """
    from schema.settings import get_settings

    settings = settings or get_settings()
    if settings.database_url:
        return normalize_url(settings.database_url)
    from schema.cluster import Cluster

    return Cluster.from_settings(settings).ensure()


def engine_for(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: :func:`database_url`), ``pool_pre_ping`` on."""
    url = normalize_url(url) if url else database_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url``'s engine and forget it (before dropping its DB)."""
    with _engines_lock:
        engine = _engines.pop(normalize_url(url), None)
    if engine is not None:
        engine.dispose()


@contextlib.contextmanager
def session_scope(url: str | Engine | None = None) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back if it raises.

    Args:
        url: a URL, an engine, or ``None`` for :func:`database_url`.
    """
    engine = url if isinstance(url, Engine) else engine_for(url)
    session = Session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
