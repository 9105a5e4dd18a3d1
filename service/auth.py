"""Who is asking: the API key of a request, checked against ``api_key`` (see :mod:`service.keys`).

Keys come as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. Public reads need none;
restricted collections need the ``read`` scope, review endpoints ``review``, jobs ``orchestrate``.
No key is a 401 (with ``WWW-Authenticate``), an unknown or revoked key a 401, a key without the
scope a 403.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request

from service.errors import AuthenticationRequired, MissingScope
from service.keys import Principal, authenticate


def key_from_headers(headers: Headers) -> str | None:
    """The API key a request carries, or ``None``."""
    authorization = headers.get("authorization", "").strip()
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None


class Gate:
    """Checks API keys for one app: its database and the keys of its settings."""

    def __init__(self, database_url: str, *, extra_keys: Sequence[str] = ()):
        self.database_url = database_url
        self.extra_keys = tuple(extra_keys)

    async def require(self, request: Request, scope: str) -> Principal:
        """The principal behind ``request``, which must have ``scope``.

        Raises:
            AuthenticationRequired: no key.
            InvalidKey: unknown or revoked key.
            MissingScope: the key lacks ``scope``.
        """
        key = key_from_headers(request.headers)
        if key is None:
            raise AuthenticationRequired(
                f"This needs an API key with the '{scope}' scope, sent as "
                "'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                "(an operator makes one with: slickwatch apikey create NAME "
                f"--scope {scope})."
            )
        principal = await run_in_threadpool(
            authenticate, key, extra_keys=self.extra_keys, db=self.database_url
        )
        if not principal.allows(scope):
            raise MissingScope(
                f"The key of {principal.name} has the scopes "
                f"{', '.join(sorted(principal.scopes))}; this needs '{scope}'."
            )
        return principal
