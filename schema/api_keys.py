"""API keys of the service, kept hashed in the ``api_key`` table.

A key is 32 random bytes (``secrets.token_urlsafe``) with a ``sw_`` prefix; the table keeps its
SHA-256 and its first characters only, so the key itself is shown once, when it is made. A plain
SHA-256 suffices (no salt, no slow hash) because the keys are random and long, not passwords.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from schema.database import engine_for
from schema.errors import ApiKeyError

KEY_PREFIX = "sw_"
"""Start of every key, so that a leaked one is easy to recognise."""
SHOWN_CHARACTERS = 10
"""Characters of the key kept in clear to tell keys apart in listings."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What the database knows about a key (never the key itself)."""

    id: int
    """Row id."""
    name: str
    """Who or what holds it."""
    prefix: str
    """Its first characters."""
    scopes: tuple[str, ...]
    """What it may do."""
    created: datetime
    """When it was made."""
    revoked: datetime | None
    """When it was revoked, if it was."""
    last_used: datetime | None
    """When it was last accepted."""


def hash_key(key: str) -> str:
    """Hex SHA-256 of ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def _engine(db: Engine | str | None) -> Engine:
    return db if isinstance(db, Engine) else engine_for(db)


def _info(row: sa.RowMapping) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row["id"],
        name=row["name"],
        prefix=row["key_prefix"],
        scopes=tuple(row["scopes"] or ()),
        created=row["created"],
        revoked=row["revoked"],
        last_used=row["last_used"],
    )


def create_api_key(
    name: str, *, scopes: Iterable[str] = (), db: Engine | str | None = None
) -> tuple[str, ApiKeyInfo]:
    """Make a key for ``name``; returns the key (show it once, it is not stored) and its record.

    Raises:
        ApiKeyError: ``name`` already holds an unrevoked key.
    """
    if not name.strip():
        raise ApiKeyError("An API key needs a name (who or what will use it).")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with _engine(db).begin() as conn:
            row = (
                conn.execute(
                    sa.text(
                        "INSERT INTO api_key (name, key_hash, key_prefix, scopes) "
                        "VALUES (:name, :hash, :prefix, :scopes) RETURNING *"
                    ),
                    {
                        "name": name,
                        "hash": hash_key(key),
                        "prefix": key[:SHOWN_CHARACTERS],
                        "scopes": sorted(set(scopes)),
                    },
                )
                .mappings()
                .one()
            )
    except IntegrityError as exc:
        raise ApiKeyError(
            f"{name!r} already has an active API key; revoke it first or choose another name."
        ) from exc
    return key, _info(row)


def verify_api_key(
    key: str, *, scope: str | None = None, db: Engine | str | None = None
) -> ApiKeyInfo | None:
    """The record of ``key`` if it is known, not revoked, and (if asked) holds ``scope``.

    Records the time of use. Returns ``None`` for any key that does not pass.
    """
    with _engine(db).begin() as conn:
        row = (
            conn.execute(
                sa.text(
                    "UPDATE api_key SET last_used = now() "
                    "WHERE key_hash = :hash AND revoked IS NULL "
                    "AND (CAST(:scope AS text) IS NULL OR :scope = ANY(scopes)) RETURNING *"
                ),
                {"hash": hash_key(key), "scope": scope},
            )
            .mappings()
            .one_or_none()
        )
    return _info(row) if row is not None else None


def revoke_api_key(name: str, *, db: Engine | str | None = None) -> int:
    """Revoke the active key of ``name``; returns how many were revoked (0 or 1)."""
    with _engine(db).begin() as conn:
        return conn.execute(
            sa.text("UPDATE api_key SET revoked = now() WHERE name = :name AND revoked IS NULL"),
            {"name": name},
        ).rowcount


def list_api_keys(*, db: Engine | str | None = None) -> list[ApiKeyInfo]:
    """Every key record, newest first."""
    with _engine(db).connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM api_key ORDER BY created DESC, id DESC"))
        return [_info(row) for row in rows.mappings()]
