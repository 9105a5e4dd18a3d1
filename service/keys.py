"""Checking API keys: who holds a key, with which scopes, compared in constant time.

Keys are made, listed and revoked by :mod:`schema.api_keys` (``slickwatch apikey ...``), which
keeps only their SHA-256 and their first characters (the public prefix). Here a key is found by
that prefix, and its hash compared with each candidate's by :func:`hmac.compare_digest`, so the
time an answer takes says nothing about the secret part of a key.

Scopes: ``read`` (restricted collections), ``review`` (review endpoints), ``orchestrate`` (scene
jobs), ``admin`` (everything). Keys given in ``SLICKWATCH_API_KEYS`` (for bootstrapping) are
``admin``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from schema.api_keys import SHOWN_CHARACTERS, hash_key
from schema.database import engine_for
from service.errors import InvalidKey, RevokedKey, UnknownScope

SCOPES = ("read", "review", "orchestrate", "admin")
"""Every scope a key can have."""

DEFAULT_SCOPES = ("read",)
"""Scopes of a new key unless others are asked for."""


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a key's holder and the key's scopes."""

    name: str
    """The key's name (recorded as the reviewer of reviews)."""
    scopes: frozenset[str]
    """What the key may do."""
    key_id: int | None = None
    """Row id of the key (``None`` for keys from the settings)."""

    def allows(self, scope: str) -> bool:
        """Whether the key may do what ``scope`` covers."""
        return "admin" in self.scopes or scope in self.scopes


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes, deduplicated, each one of :data:`SCOPES`.

    Raises:
        UnknownScope: a scope is not one of :data:`SCOPES`, or none is given.
    """
    scopes = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise UnknownScope(
            f"Unknown scope {', '.join(unknown) or '(none given)'}; use one or more of: "
            f"{', '.join(SCOPES)}."
        )
    return scopes


def _engine(db: Engine | str | None) -> Engine:
    return db if isinstance(db, Engine) else engine_for(db)


def authenticate(
    key: str, *, extra_keys: Sequence[str] = (), db: Engine | str | None = None
) -> Principal:
    """The holder of ``key``.

    Args:
        key: the key as the client sent it.
        extra_keys: keys from the settings (``SLICKWATCH_API_KEYS``), valid with every scope.
        db: engine or URL of the database with the ``api_key`` table.

    Raises:
        InvalidKey: nobody has this key.
        RevokedKey: the key was revoked.
    """
    digest = hash_key(key)
    for extra in extra_keys:
        if hmac.compare_digest(hash_key(extra), digest):
            return Principal(name="settings-key", scopes=frozenset({"admin"}))
    with _engine(db).begin() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT id, name, key_prefix, key_hash, scopes, revoked FROM api_key "
                    "WHERE key_prefix = :prefix"
                ),
                {"prefix": key[:SHOWN_CHARACTERS]},
            )
            .mappings()
            .all()
        )
        match = None
        for row in rows:  # every candidate is compared, each in constant time
            if hmac.compare_digest(row["key_hash"], digest):
                match = row
        if match is None:
            raise InvalidKey(
                "This API key is not known here. Check it, or ask an operator for one "
                "(slickwatch apikey create NAME)."
            )
        if match["revoked"] is not None:
            raise RevokedKey(
                f"This API key ({match['key_prefix']}..., {match['name']}) was revoked on "
                f"{match['revoked'].astimezone(UTC):%Y-%m-%d %H:%M} UTC; ask for a new one."
            )
        conn.execute(
            sa.text(
                "UPDATE api_key SET last_used = now() WHERE id = :id "
                "AND (last_used IS NULL OR last_used < now() - interval '1 minute')"
            ),
            {"id": match["id"]},
        )
    return Principal(name=match["name"], scopes=frozenset(match["scopes"]), key_id=match["id"])
