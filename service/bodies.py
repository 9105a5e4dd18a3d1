"""JSON request bodies: pydantic models, read with messages that say what is wrong."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from service.errors import BadRequest

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Largest request body read, bytes."""

Model = TypeVar("Model", bound=BaseModel)


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def read_body(request: Request, model: type[Model]) -> Model:
    """The request's JSON body as ``model``.

    Raises:
        BadRequest: the body is too large, not JSON, holds NUL characters (PostgreSQL text
            cannot), or does not fit ``model`` (the message lists each problem).
    """
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"The body is larger than {MAX_BODY_BYTES // 2**20} MiB.")
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadRequest(f"The body is not JSON: {exc}.") from None
    if _has_nul(data):
        raise BadRequest("Text in the body must not contain NUL (\\u0000) characters.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise BadRequest(f"Bad request body ({problems}).") from None
