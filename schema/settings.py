"""The one settings object of slickwatch, read from ``SLICKWATCH_*`` environment variables.

It lives in ``schema`` because that is the lowest package that needs it (the database URL and the
data folder); ``pipeline`` and ``service`` import it from here, ``catalog`` and ``model`` take
explicit arguments instead. Nothing reads the environment at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings of every slickwatch command, from ``SLICKWATCH_<NAME>`` variables or ``.env``."""

    model_config = SettingsConfigDict(env_prefix="SLICKWATCH_", env_file=".env", extra="ignore")

    database_url: str | None = None
    """SQLAlchemy URL of a PostGIS database; unset means the project's private cluster."""
    data_dir: Path = Path(".slickwatch")
    """Folder the project owns: the private PostgreSQL cluster, the demo catalog, job outputs."""
    pg_dir: Path | None = None
    """Data folder of the private PostgreSQL cluster (default ``<data_dir>/pg``)."""
    database_name: str = "slickwatch"
    """Name of the database inside the private cluster."""
    pg_bin: Path | None = None
    """Folder of initdb and pg_ctl (default: newest ``/usr/lib/postgresql/*/bin``, then PATH)."""
    pg_fsync: bool = True
    """Whether the private cluster fsyncs; ``false`` is faster and survives server crashes only."""
    scheduler: str | None = None
    """Address of a running Dask scheduler (``tcp://host:8786``); unset means a local cluster."""
    kubernetes_spec: Path | None = None
    """A dask-kubernetes cluster spec (YAML) to start a ``KubeCluster`` from."""
    n_workers: int | None = None
    """Workers of the local Dask cluster (default: one per core)."""
    model: str | None = None
    """Registered model (``name`` or ``name:version``); unset: the newest, else the shipped one."""
    resolution: float = 80.0
    """Working resolution in metres."""
    chunk_size: int = 2048
    """Dask chunk size in working pixels."""
    stac_url: str | None = None
    """Default STAC API or static catalog for scene ids and backfills."""
    host: str = "127.0.0.1"
    """Address the service listens on."""
    port: int = 5000
    """Port the service listens on."""
    public_url: str | None = None
    """URL clients reach the service at (default ``http://<host>:<port>``)."""
    api_keys: list[str] = Field(default_factory=list)
    """Extra API keys accepted besides those in the ``api_key`` table (for bootstrapping)."""

    @property
    def pg_path(self) -> Path:
        """The private cluster's data folder, absolute."""
        return (self.pg_dir or self.data_dir / "pg").resolve()


def get_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
