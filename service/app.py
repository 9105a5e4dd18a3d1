"""The one ASGI app: OGC API - Features (pygeoapi), jobs, review endpoints and the map page.

:func:`create_app` builds it from the settings: it finds the database (the private PostGIS by
default), generates pygeoapi's configuration and the OpenAPI document (both also written to
``<data_dir>/service/`` for reading), and mounts, in this order, the job routes, the review
routes, the map page, pygeoapi's static files and the OGC API routes. Errors of our routes are
answered by :mod:`service.http_errors`; pygeoapi answers its own in the same JSON shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from schema.settings import Settings, get_settings
from service import jobs as jobs_module
from service import map_page, review_routes
from service.auth import Gate
from service.http_errors import add_exception_handlers
from service.jobs import JobManager
from service.ogc import OgcApi
from service.ogc_config import public_url, pygeoapi_config, write_config
from service.openapi import build_openapi
from service.provider import service_engine
from service.review_routes import ReviewRoutes

log = logging.getLogger(__name__)


def _write_json(document: dict[str, Any], target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(document, fh, indent=1)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    raw_geojson: bool = True,
) -> Starlette:
    """The slickwatch ASGI app.

    Args:
        settings: host, port, public URL, data folder, API keys, cluster, model; default: from
            the environment (``SLICKWATCH_*``).
        database_url: the PostGIS to serve; default: ``schema.database.database_url(settings)``
            (``SLICKWATCH_DATABASE_URL``, else the private cluster, started if needed).
        raw_geojson: GeoJSON pages and items with their features written by the database
            (:mod:`service.raw_geojson`); ``False``: pygeoapi encodes them (same content,
            several times the CPU per page; for comparisons).
    """
    import pygeoapi

    from schema.database import database_url as default_database_url

    settings = settings or get_settings()
    # pygeoapi logs every 4xx it answers as an ERROR with a traceback; ours log real failures
    logging.getLogger("pygeoapi").setLevel(logging.CRITICAL)
    url = database_url or default_database_url(settings)
    base = public_url(settings)
    folder = settings.data_dir.resolve() / "service"
    config = pygeoapi_config(settings, database_url=url)
    write_config(config, folder)
    gate = Gate(url, extra_keys=settings.api_keys)
    jobs = JobManager(settings, url, gate, base_url=base)
    review = ReviewRoutes(url, gate, base_url=base)
    openapi = build_openapi(
        config,
        {
            **jobs_module.openapi_paths(),
            **review_routes.openapi_paths(),
            **map_page.openapi_paths(),
        },
    )
    _write_json(openapi, folder / "openapi.json")
    ogc = OgcApi(config, openapi, gate, raw_geojson=raw_geojson)
    static = ogc.api.config["server"]["templates"].get("static")
    pygeoapi_static = Path(static) if static else Path(pygeoapi.__file__).parent / "static"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("slickwatch serving %s at %s", url.split("@")[-1], base)
        try:
            yield
        finally:
            jobs.close()
            service_engine(url).dispose()

    app = Starlette(
        routes=[
            *jobs.routes(),
            *review.routes(),
            *map_page.map_routes(),
            Mount("/static", StaticFiles(directory=pygeoapi_static), name="pygeoapi-static"),
            *ogc.routes(),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            )
        ],
        lifespan=lifespan,
    )
    add_exception_handlers(app)
    app.state.settings = settings
    app.state.database_url = url
    app.state.jobs = jobs
    app.state.openapi = openapi
    return app


def app_from_environment() -> Starlette:
    """The app of the environment's settings (``uvicorn --factory``; each worker process)."""
    return create_app(get_settings())
