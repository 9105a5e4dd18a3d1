"""Review endpoints over :mod:`schema.review`: validate, reclassify, note, merge, split, history.

Each write needs an API key with the ``review`` scope; the key's name is recorded as the
reviewer. Each answers ``201`` with the ids of the new slicks (``slick_ids``), the ids they replace
(``replaced``) and links to the new items; errors come from :mod:`service.http_errors` (unknown
slick 404, replaced or locked slick 409, bad class/confidence/geometry 422, bad body 400).
``GET /slicks/{id}/history`` is a public read, like the slicks themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import shapely.geometry
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schema import review
from schema.errors import InvalidReview, UnknownSlick
from service.auth import Gate
from service.bodies import RequestBody, read_body

MAX_ID = 2**63 - 1
"""Largest slick id (``bigint``)."""

Confidence = Annotated[float, Field(ge=0, le=1, description="The reviewer's confidence, 0-1.")]
SlickId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ValidateBody(RequestBody):
    """Confirm a slick."""

    human_confidence: Confidence
    slick_class: str | None = None


class ReclassifyBody(RequestBody):
    """Give a slick another class."""

    slick_class: str
    human_confidence: Confidence | None = None


class NoteBody(RequestBody):
    """Set a slick's note."""

    text: str = Field(min_length=1, max_length=10_000)
    human_confidence: Confidence | None = None


class MergeBody(RequestBody):
    """Merge slicks into one."""

    slick_ids: list[SlickId] = Field(min_length=2, max_length=1000)
    slick_class: str | None = None
    human_confidence: Confidence | None = None


class SplitBody(RequestBody):
    """Split a slick, into GeoJSON polygons (``parts``) or into ``n`` parts along its length."""

    parts: list[dict[str, Any]] | None = Field(default=None, min_length=2, max_length=1000)
    n: int | None = Field(default=None, ge=2, le=1000)
    slick_class: str | None = None
    human_confidence: Confidence | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SplitBody:
        if (self.parts is None) == (self.n is None):
            raise ValueError("give either parts (GeoJSON polygons) or n (a number of parts)")
        return self


SCHEMAS = {
    "ValidateBody": ValidateBody,
    "ReclassifyBody": ReclassifyBody,
    "NoteBody": NoteBody,
    "MergeBody": MergeBody,
    "SplitBody": SplitBody,
}
"""The request bodies, by OpenAPI schema name."""


def _slick_id(request: Request) -> int:
    text = request.path_params["slick_id"]
    try:
        value = int(text)
    except ValueError:
        raise UnknownSlick(f"No slick with id {text!r}: ids are integers.") from None
    if not 1 <= value <= MAX_ID:
        raise UnknownSlick(f"No slick with id {value}.")
    return value


def _geometry(part: dict[str, Any], index: int) -> shapely.Geometry:
    geometry = part.get("geometry") if part.get("type") == "Feature" else part
    try:
        return shapely.geometry.shape(geometry)
    except Exception as exc:  # shapely raises several kinds for bad GeoJSON
        raise InvalidReview(f"Part {index + 1} is not a GeoJSON geometry: {exc}.") from None


class ReviewRoutes:
    """The review endpoints of one app."""

    def __init__(self, database_url: str, gate: Gate, *, base_url: str):
        self.database_url = database_url
        self.gate = gate
        self.base_url = base_url.rstrip("/")

    def _answer(self, new_ids: list[int], replaced: list[int], reviewer: str) -> JSONResponse:
        links = [
            {
                "rel": "item",
                "type": "application/geo+json",
                "href": f"{self.base_url}/collections/slicks/items/{i}",
            }
            for i in new_ids
        ]
        return JSONResponse(
            {"slick_ids": new_ids, "replaced": replaced, "reviewer": reviewer, "links": links},
            status_code=201,
            headers={"Location": links[0]["href"]} if links else None,
        )

    async def validate(self, request: Request) -> JSONResponse:
        """POST /slicks/{id}/validate"""
        principal = await self.gate.require(request, "review")
        slick_id = _slick_id(request)
        body = await read_body(request, ValidateBody)
        new_id = await run_in_threadpool(
            review.validate,
            slick_id,
            human_confidence=body.human_confidence,
            slick_class=body.slick_class,
            reviewer=principal.name,
            db=self.database_url,
        )
        return self._answer([new_id], [slick_id], principal.name)

    async def reclassify(self, request: Request) -> JSONResponse:
        """POST /slicks/{id}/reclassify"""
        principal = await self.gate.require(request, "review")
        slick_id = _slick_id(request)
        body = await read_body(request, ReclassifyBody)
        new_id = await run_in_threadpool(
            review.reclassify,
            slick_id,
            body.slick_class,
            human_confidence=body.human_confidence,
            reviewer=principal.name,
            db=self.database_url,
        )
        return self._answer([new_id], [slick_id], principal.name)

    async def note(self, request: Request) -> JSONResponse:
        """POST /slicks/{id}/note"""
        principal = await self.gate.require(request, "review")
        slick_id = _slick_id(request)
        body = await read_body(request, NoteBody)
        new_id = await run_in_threadpool(
            review.note,
            slick_id,
            body.text,
            human_confidence=body.human_confidence,
            reviewer=principal.name,
            db=self.database_url,
        )
        return self._answer([new_id], [slick_id], principal.name)

    async def merge(self, request: Request) -> JSONResponse:
        """POST /slicks/merge"""
        principal = await self.gate.require(request, "review")
        body = await read_body(request, MergeBody)
        new_id = await run_in_threadpool(
            review.merge,
            body.slick_ids,
            slick_class=body.slick_class,
            human_confidence=body.human_confidence,
            reviewer=principal.name,
            db=self.database_url,
        )
        return self._answer([new_id], list(dict.fromkeys(body.slick_ids)), principal.name)

    async def split(self, request: Request) -> JSONResponse:
        """POST /slicks/{id}/split"""
        principal = await self.gate.require(request, "review")
        slick_id = _slick_id(request)
        body = await read_body(request, SplitBody)
        parts = (
            body.n
            if body.parts is None
            else [_geometry(part, i) for i, part in enumerate(body.parts)]
        )
        new_ids = await run_in_threadpool(
            review.split,
            slick_id,
            parts,
            slick_class=body.slick_class,
            human_confidence=body.human_confidence,
            reviewer=principal.name,
            db=self.database_url,
        )
        return self._answer(list(new_ids), [slick_id], principal.name)

    async def history(self, request: Request) -> JSONResponse:
        """GET /slicks/{id}/history"""
        slick_id = _slick_id(request)
        entries = await run_in_threadpool(review.history, slick_id, db=self.database_url)
        rows = []
        for entry in entries:
            row = dataclasses.asdict(entry)
            row["create_time"] = entry.create_time.isoformat()
            row["slick_timestamp"] = entry.slick_timestamp.isoformat()
            row["precursors"] = list(entry.precursors)
            rows.append(row)
        return JSONResponse({"slick_id": slick_id, "history": rows})

    def routes(self) -> list[Route]:
        """The routes, for a Starlette app."""
        return [
            Route("/slicks/merge", self.merge, methods=["POST"]),
            Route("/slicks/{slick_id}/validate", self.validate, methods=["POST"]),
            Route("/slicks/{slick_id}/reclassify", self.reclassify, methods=["POST"]),
            Route("/slicks/{slick_id}/note", self.note, methods=["POST"]),
            Route("/slicks/{slick_id}/split", self.split, methods=["POST"]),
            Route("/slicks/{slick_id}/history", self.history),
        ]


def _operation(
    summary: str, body: dict[str, Any] | None, *, write: bool = True, status: str = "201"
) -> dict[str, Any]:
    from service.openapi import KEY_REQUIRED

    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["review"],
        "responses": {
            status: {
                "description": "The new slicks." if write else "The slick's lineage.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "400": {"$ref": "#/components/responses/InvalidParameter"},
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }
    if write:
        operation["security"] = KEY_REQUIRED
        operation["responses"].update(
            {
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "409": {"$ref": "#/components/responses/Conflict"},
                "422": {"$ref": "#/components/responses/Unprocessable"},
            }
        )
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


_SLICK_ID = {
    "name": "slick_id",
    "in": "path",
    "required": True,
    "description": "Id of an active slick.",
    "schema": {"type": "integer", "minimum": 1},
}
_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
_CLASS = {"type": "string", "description": "Class short name (see /collections/classes)."}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def openapi_paths() -> dict[str, Any]:
    """OpenAPI path items of the review endpoints."""
    one = {"parameters": [_SLICK_ID]}
    return {
        "/slicks/{slick_id}/validate": {
            **one,
            "post": _operation(
                "Validate a slick (with the reviewer's confidence, and its class if it changes)",
                _object(["human_confidence"], human_confidence=_CONFIDENCE, slick_class=_CLASS),
            ),
        },
        "/slicks/{slick_id}/reclassify": {
            **one,
            "post": _operation(
                "Give a slick another class",
                _object(["slick_class"], slick_class=_CLASS, human_confidence=_CONFIDENCE),
            ),
        },
        "/slicks/{slick_id}/note": {
            **one,
            "post": _operation(
                "Set a slick's note (the history keeps earlier ones)",
                _object(
                    ["text"],
                    text={"type": "string", "minLength": 1, "maxLength": 10000},
                    human_confidence=_CONFIDENCE,
                ),
            ),
        },
        "/slicks/merge": {
            "post": _operation(
                "Merge slicks into one",
                _object(
                    ["slick_ids"],
                    slick_ids={
                        "type": "array",
                        "minItems": 2,
                        "items": {"type": "integer", "minimum": 1},
                    },
                    slick_class=_CLASS,
                    human_confidence=_CONFIDENCE,
                ),
            ),
        },
        "/slicks/{slick_id}/split": {
            **one,
            "post": _operation(
                "Split a slick into GeoJSON polygons (parts) or into n parts along its length",
                _object(
                    [],
                    parts={"type": "array", "minItems": 2, "items": {"type": "object"}},
                    n={"type": "integer", "minimum": 2},
                    slick_class=_CLASS,
                    human_confidence=_CONFIDENCE,
                ),
            ),
        },
        "/slicks/{slick_id}/history": {
            **one,
            "get": _operation(
                "A slick and every row it came from", None, write=False, status="200"
            ),
        },
    }
