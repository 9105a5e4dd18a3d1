"""API keys: stored hashed, checked by scope, revoked."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from schema.api_keys import (
    create_api_key,
    hash_key,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from schema.database import engine_for
from schema.errors import ApiKeyError


def test_keys_are_stored_hashed_and_checked_by_scope(database_url: str) -> None:
    key, info = create_api_key("reviewer-ana", scopes=["review"], db=database_url)
    assert key.startswith("sw_") and len(key) > 40
    with engine_for(database_url).connect() as conn:
        stored = conn.execute(sa.text("SELECT key_hash, key_prefix FROM api_key")).one()
    assert stored.key_hash == hash_key(key) and key not in stored
    assert key.startswith(stored.key_prefix) and len(stored.key_prefix) == 10

    assert verify_api_key(key, db=database_url).name == "reviewer-ana"
    assert verify_api_key(key, scope="review", db=database_url).scopes == ("review",)
    assert verify_api_key(key, scope="orchestrate", db=database_url) is None
    assert verify_api_key(key + "x", db=database_url) is None
    assert list_api_keys(db=database_url)[0].last_used is not None


def test_one_active_key_per_name_and_revocation(database_url: str) -> None:
    old, _ = create_api_key("pipeline", scopes=["orchestrate"], db=database_url)
    with pytest.raises(ApiKeyError, match="already has an active API key"):
        create_api_key("pipeline", db=database_url)
    assert revoke_api_key("pipeline", db=database_url) == 1
    assert verify_api_key(old, db=database_url) is None
    new, _ = create_api_key("pipeline", scopes=["orchestrate"], db=database_url)
    assert verify_api_key(new, scope="orchestrate", db=database_url) is not None
    assert [k.revoked is None for k in list_api_keys(db=database_url)] == [True, False]
    assert revoke_api_key("nobody", db=database_url) == 0
