"""``/map``: a plain HTML page with Leaflet, served by the app itself (no CDN).

The page (``service/static/map.html`` and ``map.js``) reads the service's own OGC API: the slicks
of a period over the scene footprints, coloured by class (``class_color``), with a click showing a
slick's attributes and its review history (``/slicks/{id}/history``). It draws no base map: the
service reaches no tile server, and the footprints give the context.

Leaflet 1.9.4 comes from the ``django-js-lib-leaflet`` wheel, which holds nothing but Leaflet's
own files (it does not need Django): ``pip install`` puts it in place, nothing is copied into this
repository and no browser fetches it from elsewhere.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from service.errors import ConfigurationError

STATIC = Path(__file__).parent / "static"
"""The page, its script and its style."""


def leaflet_folder() -> Path:
    """Folder of ``leaflet.js`` and ``leaflet.css`` (from the ``django-js-lib-leaflet`` wheel)."""
    try:
        folder = Path(str(files("js_lib_leaflet"))) / "static" / "js_lib_leaflet"
    except ModuleNotFoundError:
        folder = None
    if folder is None or not (folder / "leaflet.js").is_file():
        raise ConfigurationError(
            "Leaflet is not installed, so /map cannot be served. Install the project's "
            "dependencies (make setup, or pip install -e .), which include django-js-lib-leaflet."
        )
    return folder


async def map_page(request) -> HTMLResponse:  # noqa: ANN001 - starlette Request
    """GET /map"""
    return HTMLResponse((STATIC / "map.html").read_text(encoding="utf-8"))


def map_routes() -> list[BaseRoute]:
    """The page and its static files."""
    return [
        Route("/map", map_page),
        Mount("/map/static/leaflet", StaticFiles(directory=leaflet_folder()), name="leaflet"),
        Mount("/map/static", StaticFiles(directory=STATIC), name="map-static"),
    ]


def openapi_paths() -> dict[str, object]:
    """OpenAPI path item of the map page."""
    return {
        "/map": {
            "get": {
                "summary": "Map of the slicks of a period over the scene footprints",
                "tags": ["server"],
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": s}
                    for n, s in (
                        ("from", {"type": "string", "format": "date"}),
                        ("to", {"type": "string", "format": "date"}),
                        ("slick", {"type": "integer"}),
                    )
                ],
                "responses": {
                    "200": {
                        "description": "The page.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        }
    }
