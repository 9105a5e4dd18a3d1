"""The OpenAPI document served at ``/openapi``: pygeoapi's, made self-contained, plus our routes.

pygeoapi 0.21 generates the OGC API - Features part and points ``$ref`` at schemas.opengis.net and
GitHub for the shared parameters and responses. A client without the internet (schemathesis in CI,
an air-gapped QGIS) cannot resolve those, so :func:`build_openapi` replaces each with a local
definition under ``#/components`` (written from the OGC API - Features Part 1 and Records
definitions), drops what this service does not route (pygeoapi's processes ``/jobs``, tiles) and
property parameters that cannot be filtered with a plain value (lists, objects), and adds the
filter parameters (CQL2 text, CQL2 JSON, ECQL), the security schemes and the routes of
:mod:`service.jobs`, :mod:`service.review_routes` and :mod:`service.map_page`.
"""

from __future__ import annotations

import copy
from typing import Any

from pygeoapi.openapi import get_oas

from service.collections import COLLECTIONS
from service.errors import ConfigurationError

_EXCEPTION = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string"},
        "type": {"type": "string"},
        "description": {"type": "string"},
    },
}

_LINK = {
    "type": "object",
    "required": ["href"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "hreflang": {"type": "string"},
        "title": {"type": "string"},
        "length": {"type": "integer"},
    },
}

_LINKS = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}

_FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {
        "type": {"type": "string", "enum": ["Feature"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "geometry": {"type": "object", "nullable": True},
        "properties": {"type": "object", "nullable": True},
        "links": _LINKS,
    },
}

_FEATURES = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/feature"}},
        "links": _LINKS,
        "timeStamp": {"type": "string", "format": "date-time"},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
    },
}


def _json_response(description: str, schema: dict[str, Any], *, geo: bool = False) -> dict:
    media = "application/geo+json" if geo else "application/json"
    return {
        "description": description,
        "content": {media: {"schema": schema}, "text/html": {"schema": {"type": "string"}}},
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}},
    }


LOCAL_SCHEMAS: dict[str, Any] = {
    "exception": _EXCEPTION,
    "link": _LINK,
    "feature": _FEATURE,
    "featureCollection": _FEATURES,
}

LOCAL_RESPONSES: dict[str, Any] = {
    "LandingPage": _json_response(
        "The landing page: links to the API definition, conformance and collections.",
        {"type": "object", "required": ["links"], "properties": {"links": _LINKS}},
    ),
    "Collection": _json_response(
        "One collection's description.",
        {
            "type": "object",
            "required": ["id", "links"],
            "properties": {"id": {"type": "string"}, "links": _LINKS},
        },
    ),
    "Features": _json_response(
        "A page of features.", {"$ref": "#/components/schemas/featureCollection"}, geo=True
    ),
    "Feature": _json_response("One feature.", {"$ref": "#/components/schemas/feature"}, geo=True),
    "InvalidParameter": _error("A query parameter has an invalid value."),
    "NotFound": _error("The requested resource does not exist on the server."),
    "ServerError": _error("A server error occurred."),
    "Unauthorized": _error("No API key, or an unknown or revoked one."),
    "Forbidden": _error("The API key may not do this (missing scope)."),
    "Conflict": _error("The slick changed meanwhile (replaced, or being reviewed)."),
    "Unprocessable": _error("The request is well formed but cannot be carried out."),
    "Unavailable": _error("A service this request needs is unavailable; try again later."),
}

LOCAL_PARAMETERS: dict[str, Any] = {
    "datetime": {
        "name": "datetime",
        "in": "query",
        "description": (
            "Either a date-time or an interval (RFC 3339), open ends as '..'. Only features "
            "whose time lies in it are selected. Examples: 2020-11-21T22:57:59Z, "
            "2020-11-01/2020-11-30, 2020-11-01T00:00:00Z/.."
        ),
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "string"},
    },
    "featureId": {
        "name": "featureId",
        "in": "path",
        "description": "Local identifier of a feature.",
        "required": True,
        "schema": {"type": "string"},
    },
    "sortby": {
        "name": "sortby",
        "in": "query",
        "description": "Comma-separated properties to sort by, each with an optional + or - "
        "(descending) prefix.",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
    "filter": {
        "name": "filter",
        "in": "query",
        "description": (
            "A filter expression: CQL2 text by default, e.g. machine_confidence > 0.5 AND "
            "class_short_name = 'VESSEL' or S_INTERSECTS(geometry, POLYGON((...))); ECQL with "
            "filter-lang=cql-text; CQL2 JSON with filter-lang=cql2-json."
        ),
        "required": False,
        "schema": {"type": "string"},
    },
    "filter-lang": {
        "name": "filter-lang",
        "in": "query",
        "description": "Language of the filter parameter (default cql2-text).",
        "required": False,
        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"]},
    },
}

# pygeoapi's external references, by the name at their end, and what replaces them
_EXTERNAL = {
    "datetime": "#/components/parameters/datetime",
    "featureId": "#/components/parameters/featureId",
    "sortby.yaml": "#/components/parameters/sortby",
    "LandingPage": "#/components/responses/LandingPage",
    "Collection": "#/components/responses/Collection",
    "Features": "#/components/responses/Features",
    "Feature": "#/components/responses/Feature",
    "InvalidParameter": "#/components/responses/InvalidParameter",
    "NotFound": "#/components/responses/NotFound",
    "ServerError": "#/components/responses/ServerError",
    "NotFound.yaml": "#/components/responses/NotFound",
    "exception.yaml": "#/components/schemas/exception",
    "link": "#/components/schemas/link",
}

SECURITY_SCHEMES = {
    "bearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as 'Authorization: Bearer KEY' (slickwatch apikey create).",
    },
    "headerKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key as 'X-API-Key: KEY'.",
    },
}
KEY_REQUIRED = [{"bearerKey": []}, {"headerKey": []}]
"""OpenAPI ``security`` of an operation that needs an API key."""


def _localize(node: Any) -> Any:
    """``node`` with every external ``$ref`` replaced by its local counterpart."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            name = ref.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            if name not in _EXTERNAL:
                raise ConfigurationError(
                    f"pygeoapi's OpenAPI document refers to {ref}, which has no local copy; "
                    "add one to service.openapi."
                )
            return {**node, "$ref": _EXTERNAL[name]}
        return {key: _localize(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_localize(item) for item in node]
    return node


def _fix_collection_paths(paths: dict[str, Any]) -> None:
    for name, spec in COLLECTIONS.items():
        items = paths.get(f"/collections/{name}/items", {}).get("get")
        if items is None:
            continue
        kept = []
        for parameter in items["parameters"]:
            schema_type = parameter.get("schema", {}).get("type")
            if (
                parameter.get("in") == "query"
                and schema_type in ("array", "object")
                and parameter.get("name") not in ("bbox", "sortby", "properties")
            ):
                continue  # lists and objects cannot be matched by a plain value
            kept.append(parameter)
        kept += [
            {"$ref": "#/components/parameters/filter"},
            {"$ref": "#/components/parameters/filter-lang"},
        ]
        items["parameters"] = kept
        items.pop("options", None)
        paths[f"/collections/{name}/items"].pop("options", None)
        paths.get(f"/collections/{name}/items/{{featureId}}", {}).pop("options", None)
        if spec.restricted:
            for path in (f"/collections/{name}/items", f"/collections/{name}/items/{{featureId}}"):
                operation = paths[path]["get"]
                operation["security"] = KEY_REQUIRED
                operation["responses"]["401"] = {"$ref": "#/components/responses/Unauthorized"}
                operation["responses"]["403"] = {"$ref": "#/components/responses/Forbidden"}


def build_openapi(config: dict[str, Any], extra_paths: dict[str, Any]) -> dict[str, Any]:
    """The service's OpenAPI 3.0 document.

    Args:
        config: the pygeoapi configuration (:func:`service.ogc_config.pygeoapi_config`).
        extra_paths: OpenAPI path items of the routes that are not pygeoapi's.
    """
    document = get_oas(copy.deepcopy(config))
    paths = {
        path: item
        for path, item in document["paths"].items()
        if not path.startswith(("/jobs", "/processes", "/TileMatrixSets", "/stac"))
    }
    components = document.setdefault("components", {})
    for name in ("tiles", "tilematrixsetlink"):
        components.get("schemas", {}).pop(name, None)
    components.get("responses", {}).pop("Tiles", None)
    _fix_collection_paths(paths)
    paths.update(copy.deepcopy(extra_paths))
    document["paths"] = paths
    document["tags"] = [
        tag
        for tag in document.get("tags", [])
        if tag["name"] not in ("coverages", "edr", "records", "maps", "processes", "tiles", "stac")
    ] + [
        {"name": "jobs", "description": "Scene jobs on the Dask cluster."},
        {"name": "review", "description": "Review of slicks (validate, reclassify, ...)."},
    ]
    components.setdefault("schemas", {}).update(copy.deepcopy(LOCAL_SCHEMAS))
    components.setdefault("responses", {}).update(copy.deepcopy(LOCAL_RESPONSES))
    components.setdefault("parameters", {}).update(copy.deepcopy(LOCAL_PARAMETERS))
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    return _localize(document)
