"""Errors to HTTP answers, in one table (titiler's ``DEFAULT_STATUS_CODES`` pattern).

Every error the service's own routes raise is looked up in :data:`STATUS_CODES` by its class (the
nearest listed base class wins) and answered as JSON in pygeoapi's exception shape,
``{"code": ..., "type": ..., "description": ...}``, with the error's message as the description.
Anything unlisted is a 500 whose body says only that the error was logged: never a traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.errors import CatalogError, SceneIdError, SceneNotFoundError
from schema.errors import InactiveSlick, InvalidReview, ReviewConflict, UnknownSlick
from service.errors import (
    AuthenticationRequired,
    BadRequest,
    InvalidKey,
    JobsUnavailable,
    MissingScope,
    SceneNotRelevant,
    UnknownJob,
)

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[Exception], int] = {
    BadRequest: HTTPStatus.BAD_REQUEST,
    AuthenticationRequired: HTTPStatus.UNAUTHORIZED,
    InvalidKey: HTTPStatus.UNAUTHORIZED,
    MissingScope: HTTPStatus.FORBIDDEN,
    UnknownJob: HTTPStatus.NOT_FOUND,
    JobsUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    SceneNotRelevant: HTTPStatus.UNPROCESSABLE_ENTITY,
    UnknownSlick: HTTPStatus.NOT_FOUND,
    InactiveSlick: HTTPStatus.CONFLICT,
    ReviewConflict: HTTPStatus.CONFLICT,
    InvalidReview: HTTPStatus.UNPROCESSABLE_ENTITY,
    SceneIdError: HTTPStatus.UNPROCESSABLE_ENTITY,
    SceneNotFoundError: HTTPStatus.NOT_FOUND,
    CatalogError: HTTPStatus.UNPROCESSABLE_ENTITY,
}
"""HTTP status of each error type raised behind the service's routes."""

_CODES = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    422: "Unprocessable",
    500: "NoApplicableCode",
    503: "ServiceUnavailable",
}


def status_of(exc: BaseException) -> int | None:
    """The status :data:`STATUS_CODES` gives ``exc`` (nearest listed class), or ``None``."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return int(STATUS_CODES[cls])
    return None


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None):
    """A JSON error answer in pygeoapi's exception shape."""
    code = _CODES.get(status, HTTPStatus(status).phrase.replace(" ", ""))
    return JSONResponse(
        {"code": code, "type": code, "description": message}, status_code=status, headers=headers
    )


def _headers(status: int) -> dict[str, str] | None:
    if status == HTTPStatus.UNAUTHORIZED:
        return {"WWW-Authenticate": 'Bearer realm="slickwatch"'}
    return None


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    status = status_of(exc)
    if status is None:
        return await _handle_unexpected(request, exc)
    return error_response(status, str(exc), headers=_headers(status))


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal error; it was logged. Nothing was changed.")


async def _handle_http(request: Request, exc: HTTPException) -> JSONResponse:
    message = exc.detail or HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404:
        message = f"Nothing at {request.url.path}; the landing page / lists what there is."
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
    return error_response(exc.status_code, message, headers=exc.headers)


def add_exception_handlers(app: Starlette) -> None:
    """Answer every error of ``app``'s routes by :data:`STATUS_CODES`, as JSON."""
    app.add_exception_handler(HTTPException, _handle_http)
    for cls in STATUS_CODES:
        app.add_exception_handler(cls, _handle)
    app.add_exception_handler(Exception, _handle_unexpected)
