"""The pygeoapi configuration, generated from the settings when the service starts.

Nothing is hand-edited: :func:`pygeoapi_config` builds the dict from the settings (host, port,
public URL), the database URL and :data:`service.collections.COLLECTIONS`.
:func:`write_config` keeps a copy in the data folder (``<data_dir>/service/pygeoapi-config.yml``,
mode 600 as it holds the database URL) for people and for ``pygeoapi openapi validate``; the app
itself passes the dict to pygeoapi directly, so no ``PYGEOAPI_CONFIG`` variable is involved.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from schema.settings import Settings
from service.collections import COLLECTIONS

PROVIDER = "service.provider.SlickwatchProvider"
"""Dotted path of the feature provider plugin."""

DEFAULT_ITEMS = 100
"""Features per page when the client gives no ``limit``."""

MAX_ITEMS = 10_000
"""Largest ``limit``; a larger one is a 400 (pygeoapi's ``on_exceed: error``)."""

PROJECT_URL = "https://github.com/SkyTruth/cerulean-cloud"
"""Where the method slickwatch rebuilds is described."""


def public_url(settings: Settings) -> str:
    """The URL clients reach the service at, without a trailing slash."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def pygeoapi_config(settings: Settings, *, database_url: str) -> dict[str, Any]:
    """pygeoapi's configuration for the slickwatch service.

    Args:
        settings: host, port and public URL come from here.
        database_url: SQLAlchemy URL of the PostGIS database the collections read.
    """
    resources: dict[str, Any] = {}
    for name, spec in COLLECTIONS.items():
        provider: dict[str, Any] = {
            "type": "feature",
            "name": PROVIDER,
            "data": database_url,
            "table": name,
            "id_field": "id",
            "include_extra_query_parameters": True,
        }
        if spec.time_field:
            provider["time_field"] = spec.time_field
        if spec.has_geometry:
            provider["geom_field"] = "geometry"
        if spec.title_field:
            provider["title_field"] = spec.title_field
        extents: dict[str, Any] = {
            "spatial": {
                "bbox": [-180, -90, 180, 90],
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
        }
        if spec.time_field:
            extents["temporal"] = {"begin": None, "end": None}
        resources[name] = {
            "type": "collection",
            "title": spec.title,
            "description": spec.description,
            "keywords": list(spec.keywords),
            "links": [],
            "extents": extents,
            "providers": [provider],
        }
    url = public_url(settings)
    return {
        "server": {
            "bind": {"host": settings.host, "port": settings.port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "pretty_print": False,
            "admin": False,
            "limits": {
                "default_items": DEFAULT_ITEMS,
                "max_items": MAX_ITEMS,
                "on_exceed": "error",
            },
            # pygeoapi's own HTML pages draw a base map from this URL; /map does not need it
            "map": {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "attribution": "&copy; OpenStreetMap contributors",
            },
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "slickwatch",
                "description": (
                    "Oil slicks detected in Sentinel-1 radar scenes, with their scenes, runs, "
                    "classes, models and areas of interest."
                ),
                "keywords": ["oil slick", "Sentinel-1", "SAR", "OGC API - Features"],
                "keywords_type": "theme",
                "terms_of_service": f"{url}/map",
                "url": url,
            },
            "license": {
                "name": "CC-BY 4.0",
                "url": "https://creativecommons.org/licenses/by/4.0/",
            },
            "provider": {"name": "slickwatch", "url": PROJECT_URL},
            "contact": {"name": "slickwatch operators", "url": url},
        },
        "resources": resources,
    }


def write_config(config: dict[str, Any], folder: Path) -> Path:
    """Write ``config`` as YAML to ``folder/pygeoapi-config.yml`` (atomically, mode 600)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "pygeoapi-config.yml"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pygeoapi-config.", suffix=".yml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, sort_keys=False)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
