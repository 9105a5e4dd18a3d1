"""OGC API - Features routes: pygeoapi's API functions behind our own Starlette routes.

``pygeoapi.starlette_app`` reads ``PYGEOAPI_CONFIG`` and builds its one global app when imported,
so a process could serve one configuration only and the import order would matter. This module is
the equivalent for the routes slickwatch serves: it builds a :class:`pygeoapi.api.API` from the
generated configuration dict and calls the same API functions (``landing_page``,
``describe_collections``, ``get_collection_items``, ...) in a worker thread, as pygeoapi's app
does. In front of them it checks API keys for restricted collections, moves CQL2 filters to the
provider (:mod:`service.cql2`) and answers the conformance classes itself (pygeoapi 0.21's
``conformance`` grows a module-level list on every call).

Collections are read-only here: writes go through the review endpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from pygeoapi.api import (
    API,
    CONFORMANCE_CLASSES,
    F_HTML,
    F_JSONLD,
    FORMAT_TYPES,
    APIRequest,
    describe_collections,
    get_collection_schema,
    landing_page,
    openapi_,
)
from pygeoapi.api.itemtypes import (
    CONFORMANCE_CLASSES_FEATURES,
    get_collection_item,
    get_collection_items,
    get_collection_queryables,
)
from pygeoapi.util import render_j2_template, to_json
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from service.auth import Gate
from service.collections import RESTRICTED_SCOPE, restricted_collections
from service.cql2 import restore_filter_links, rewrite_filter_params
from service.errors import BadRequest
from service.http_errors import error_response
from service.raw_geojson import RAW_FEATURES, RawFeatures

log = logging.getLogger(__name__)

FILTER_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
)
"""What the CQL2 support of :mod:`service.cql2` and the provider adds to pygeoapi's classes."""

_NOT_GEOJSON = (F_HTML, F_JSONLD, "csv")
"""Output formats pygeoapi renders from the features' dicts (the others are its GeoJSON)."""

_NOT_SUPPORTED = ("http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",)

CONFORMANCE = tuple(
    sorted(
        (set(CONFORMANCE_CLASSES) | set(CONFORMANCE_CLASSES_FEATURES) | set(FILTER_CONFORMANCE))
        - set(_NOT_SUPPORTED)
    )
)
"""Every conformance class the service declares."""


def _response(headers: dict[str, str], status: int, content: Any) -> Response:
    """pygeoapi's (headers, status, content) as a Starlette response."""
    if headers.get("Content-Type") == "text/html":
        response: Response = HTMLResponse(content=content, status_code=status)
    elif isinstance(content, dict):
        response = JSONResponse(content, status_code=status)
    else:
        response = Response(content, status_code=status)
    response.headers.update(headers)
    return response


def _check_sortby(value: str | None) -> None:
    """pygeoapi 0.21 indexes into each ``sortby`` term: an empty one would be a 500."""
    if value is not None and any(not term.strip().lstrip("+-") for term in value.split(",")):
        raise BadRequest(
            f"sortby={value!r} has an empty term; give property names, each with an optional "
            "+ or - (descending), e.g. sortby=-machine_confidence,id."
        )


class OgcApi:
    """The OGC API - Features routes over one pygeoapi configuration."""

    def __init__(
        self,
        config: dict[str, Any],
        openapi: dict[str, Any],
        gate: Gate,
        *,
        raw_geojson: bool = True,
    ):
        """``raw_geojson``: GeoJSON features written by the database (:mod:`service.raw_geojson`);
        ``False`` keeps pygeoapi's own encoding of every answer (the same content, slower)."""
        self.api = API(config, openapi)
        self.gate = gate
        self.restricted = restricted_collections()
        self.raw_geojson = raw_geojson

    async def _call(
        self, request: Request, function: Callable, *args: Any, features: bool = False
    ) -> Response:
        """Run a pygeoapi API function in a worker thread; with ``features`` (items, one item),
        let the provider write GeoJSON answers' features as text (:mod:`service.raw_geojson`)."""
        api_request = await APIRequest.from_starlette(request, self.api.locales)
        raw = None
        if (
            features
            and self.raw_geojson
            and not self.api.pretty_print
            and api_request.format not in _NOT_GEOJSON
        ):
            raw = RawFeatures()
        token = RAW_FEATURES.set(raw)  # the worker thread runs in a copy of this context
        try:
            headers, status, content = await run_in_threadpool(
                function, self.api, api_request, *args
            )
        finally:
            RAW_FEATURES.reset(token)
        if raw is not None and raw.used and status == 200:
            content = raw.splice(content)
        return _response(headers, status, content)

    async def landing(self, request: Request) -> Response:
        """Landing page."""
        return await self._call(request, landing_page)

    async def openapi(self, request: Request) -> Response:
        """The OpenAPI document (JSON) or Swagger UI (HTML)."""
        return await self._call(request, openapi_)

    async def conformance(self, request: Request) -> Response:
        """Conformance classes."""
        api_request = await APIRequest.from_starlette(request, self.api.locales)
        headers = api_request.get_response_headers(**self.api.api_headers)
        content = {"conformsTo": list(CONFORMANCE)}
        if api_request.format == F_HTML:
            html = render_j2_template(
                self.api.tpl_config,
                self.api.config["server"]["templates"],
                "conformance.html",
                content,
                api_request.locale,
            )
            return _response(headers, 200, html)
        return _response(headers, 200, to_json(content, self.api.pretty_print))

    async def collections(self, request: Request) -> Response:
        """All collections, or one."""
        return await self._call(request, describe_collections, request.path_params.get("cid"))

    async def queryables(self, request: Request) -> Response:
        """A collection's queryables."""
        return await self._call(request, get_collection_queryables, request.path_params["cid"])

    async def schema(self, request: Request) -> Response:
        """A collection's schema."""
        return await self._call(request, get_collection_schema, request.path_params["cid"])

    async def items(self, request: Request) -> Response:
        """A page of a collection's items (GET; POST with a CQL2 JSON body)."""
        collection = request.path_params["cid"]
        if collection in self.restricted:
            await self.gate.require(request, RESTRICTED_SCOPE)
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/geo+json"
        ):
            return error_response(
                405,
                "Collections are read-only over OGC API; change slicks through the review "
                "endpoints (/slicks/{id}/validate, ...).",
            )
        params = request.query_params.multi_items()
        _check_sortby(request.query_params.get("sortby"))
        rewritten = rewrite_filter_params(params)
        if rewritten != params:
            scope = dict(request.scope)
            scope["query_string"] = urlencode(rewritten).encode("latin-1")
            request = Request(scope, request.receive)
        response = await self._call(request, get_collection_items, collection, features=True)
        if rewritten != params and response.headers.get("content-type", "").startswith(
            (FORMAT_TYPES["json"], "application/geo+json", "application/json")
        ):
            headers = {k: v for k, v in response.headers.items() if k != "content-length"}
            body = restore_filter_links(bytes(response.body))
            return Response(body, status_code=response.status_code, headers=headers)
        return response

    async def item(self, request: Request) -> Response:
        """One item of a collection."""
        collection = request.path_params["cid"]
        if collection in self.restricted:
            await self.gate.require(request, RESTRICTED_SCOPE)
        return await self._call(
            request, get_collection_item, collection, request.path_params["item_id"], features=True
        )

    def routes(self) -> list[Route]:
        """The routes, for a Starlette app."""
        return [
            Route("/", self.landing),
            Route("/openapi", self.openapi),
            Route("/conformance", self.conformance),
            Route("/collections", self.collections),
            Route("/collections/{cid}", self.collections),
            Route("/collections/{cid}/queryables", self.queryables),
            Route("/collections/{cid}/schema", self.schema),
            Route("/collections/{cid}/items", self.items, methods=["GET", "POST"]),
            Route("/collections/{cid}/items/{item_id}", self.item),
        ]
