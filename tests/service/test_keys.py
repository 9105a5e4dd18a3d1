"""API keys: public reads need none; restricted collections and writes need one with the scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

RESTRICTED = ["/collections/runs/items", "/collections/runs/items/{run}"]


def _path(served, template: str) -> str:
    return template.format(run=served.rows.runs["A"])


@pytest.mark.parametrize("template", RESTRICTED)
def test_restricted_collection_without_key_is_401(served, template: str) -> None:
    with served.client() as client:
        response = client.get(_path(served, template))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "API key" in response.json()["description"]


@pytest.mark.parametrize("template", RESTRICTED)
def test_restricted_collection_with_read_key(served, template: str) -> None:
    key = served.keys["reader"]
    with served.client() as client:
        bearer = client.get(_path(served, template), headers={"Authorization": f"Bearer {key}"})
        header = client.get(_path(served, template), headers={"X-API-Key": key})
    assert bearer.status_code == header.status_code == 200
    assert bearer.json() == header.json() or "timeStamp" in bearer.json()


def test_run_items_carry_provenance(served) -> None:
    with served.client(headers={"X-API-Key": served.keys["reader"]}) as client:
        run = client.get(f"/collections/runs/items/{served.rows.runs['B']}").json()
    assert run["properties"]["slick_count"] == 10
    assert run["properties"]["scene_id"].startswith("S1A_IW_GRDH_1SDV_20210305")
    assert run["properties"]["success"] is True
    assert run["geometry"]["type"] == "Polygon"


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"X-API-Key": "sw_not-a-real-key-at-all"}, 401, "not known"),
        ({"Authorization": "Bearer sw_wrong"}, 401, "not known"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "needs an API key"),
        ("revoked", 401, "revoked"),
        ("reviewer", 403, "'read'"),
    ],
)
def test_wrong_revoked_or_weak_keys(served, headers, status: int, words: str) -> None:
    if isinstance(headers, str):
        headers = {"X-API-Key": served.keys[headers]}
    with served.client() as client:
        response = client.get("/collections/runs/items", headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["description"]


def test_public_reads_need_no_key(served) -> None:
    with served.client() as client:
        for path in (
            "/",
            "/conformance",
            "/collections",
            "/collections/runs",
            "/collections/slicks/items",
            "/collections/scenes/items",
            "/collections/aois/items",
            "/collections/classes/items",
            "/collections/models/items",
            f"/slicks/{served.rows.slicks['A'][0]}/history",
            "/openapi",
            "/map",
        ):
            assert client.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/slicks/{slick}/validate", {"human_confidence": 0.9}),
        ("/slicks/{slick}/note", {"text": "seen"}),
        ("/slicks/merge", {"slick_ids": [1, 2]}),
        ("/orchestrate", {"scene_id": "x", "dry_run": True}),
    ],
)
def test_writes_need_a_key_with_the_scope(served, path: str, body: dict) -> None:
    path = path.format(slick=served.rows.slicks["A"][0])
    with served.client() as client:
        anonymous = client.post(path, json=body)
        reader = client.post(path, json=body, headers={"X-API-Key": served.keys["reader"]})
    assert anonymous.status_code == 401
    assert reader.status_code == 403
    assert "scope" in reader.json()["description"] or "needs" in reader.json()["description"]
    _nothing_written(served)


def _nothing_written(served) -> None:
    from schema.database import engine_for

    with engine_for(served.database_url).connect() as conn:
        reviewed = conn.execute(sa.text("SELECT count(*) FROM slick WHERE validated")).scalar()
        triggers = conn.execute(sa.text("SELECT count(*) FROM trigger")).scalar()
    assert reviewed == 0
    assert triggers == 0


def test_settings_keys_are_admin(pg_cluster, template_database, tmp_path) -> None:
    from tests.service.serving import serve_database

    for served in serve_database(
        pg_cluster, template_database, tmp_path, api_keys=["bootstrap-key-0123456789"]
    ):
        with served.client(headers={"X-API-Key": "bootstrap-key-0123456789"}) as client:
            assert client.get("/collections/runs/items").status_code == 200


def test_apikey_commands(served_fresh, monkeypatch) -> None:
    from service.cli import app

    monkeypatch.setenv("SLICKWATCH_DATABASE_URL", served_fresh.database_url)
    runner = CliRunner()
    created = runner.invoke(app, ["apikey", "create", "alice", "--scope", "read"])
    assert created.exit_code == 0, created.output
    key = next(line for line in created.stdout.splitlines() if line.startswith("sw_"))
    listing = runner.invoke(app, ["apikey", "list"])
    assert "alice" in listing.stdout and key not in listing.stdout
    assert runner.invoke(app, ["apikey", "create", "bob", "--scope", "fly"]).exit_code == 1
    with served_fresh.client(headers={"X-API-Key": key}) as client:
        assert client.get("/collections/runs/items").status_code == 200
        revoked = runner.invoke(app, ["apikey", "revoke", "alice"])
        assert revoked.exit_code == 0, revoked.output
        after = client.get("/collections/runs/items")
    assert after.status_code == 401
    assert "revoked" in after.json()["description"]
    assert runner.invoke(app, ["apikey", "revoke", "alice"]).exit_code == 1
