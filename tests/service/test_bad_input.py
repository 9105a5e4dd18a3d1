"""Bad input gets a 4xx with a JSON message that says what is wrong, and changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

BAD_QUERIES = [
    ("slicks/items?bbox=1,2,3", 400, "bbox"),
    ("slicks/items?bbox=a,b,c,d", 400, "number"),
    ("slicks/items?bbox=0,10,1,5", 400, "miny"),
    ("slicks/items?bbox=-200,0,10,10", 400, "range"),
    ("slicks/items?bbox=nan,0,1,1", 400, "finite"),
    ("slicks/items?datetime=yesterday", 400, ""),
    ("slicks/items?datetime=2021-13-45", 400, ""),
    ("slicks/items?datetime=2021-03-01/2021-02-01", 400, "before"),
    ("slicks/items?filter=machine_confidence >", 400, "filter"),
    ("slicks/items?filter=machine_confidence > 0.5&filter-lang=cql2-text&filter-crs=x", 400, ""),
    ("slicks/items?filter=area < 'abc'&filter-lang=cql2-text", 400, "database"),
    ("slicks/items?filter=nosuch = 1&filter-lang=cql2-text", 400, "nosuch"),
    ("slicks/items?filter=FOO(area) = 1&filter-lang=cql2-text", 400, "foo"),
    ("slicks/items?filter={bad json&filter-lang=cql2-json", 400, "CQL2-JSON"),
    ("slicks/items?filter-lang=klingon&filter=a=1", 400, "language"),
    ("slicks/items?nosuch=1", 400, "nosuch"),
    ("slicks/items?properties=nosuch", 400, "properties"),
    ("slicks/items?sortby=nosuch", 400, "sort"),
    ("slicks/items?limit=1000000", 400, "limit"),
    ("slicks/items?limit=-1", 400, "limit"),
    ("slicks/items?limit=ten", 400, "limit"),
    ("slicks/items?offset=-5", 400, "offset"),
    ("slicks/items?offset=99999999999999999999999", 400, "offset"),
    ("slicks/items?machine_confidence=high", 400, "number"),
    ("slicks/items?validated=maybe", 400, "boolean"),
    ("slicks/items?slick_timestamp=soon", 400, "date-time"),
    ("classes/items?bbox=0,0,1,1", 400, "geometry"),
    ("classes/items?datetime=2021-01-01", 400, "time"),
    ("nosuch/items", 404, "not found"),
    ("nosuch", 404, "not found"),
    ("slicks/items/999999999", 404, "999999999"),
    ("slicks/items/not-a-number", 404, "integers"),
    ("slicks/items/99999999999999999999999999", 404, ""),
]


@pytest.mark.parametrize(("query", "status", "words"), BAD_QUERIES)
def test_bad_queries_get_a_json_4xx(served, query: str, status: int, words: str) -> None:
    with served.client() as client:
        response = client.get(f"/collections/{query}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["description"]
    assert "Traceback" not in response.text
    assert words.lower() in body["description"].lower()


INJECTIONS = [
    "' OR '1'='1",
    "VESSEL'; DROP TABLE slick; --",
    'x" OR 1=1 --',
    "%' UNION SELECT key_hash FROM api_key --",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_in_property_values_finds_nothing(served, text: str) -> None:
    with served.client() as client:
        response = client.get(
            "/collections/slicks/items", params={"class_short_name": text, "f": "json"}
        )
    assert response.status_code == 200
    assert response.json()["features"] == []
    _tables_intact(served)


@pytest.mark.parametrize(
    "expression",
    [
        "class_short_name = '' OR 1=1 --'",
        "class_short_name = 'x'; DROP TABLE slick",
        "class_short_name = 'VESSEL' OR id IN (SELECT id FROM api_key)",
        "machine_confidence > 0 UNION SELECT * FROM api_key",
    ],
)
def test_sql_injection_in_filters_is_a_400_or_literal(served, expression: str) -> None:
    with served.client() as client:
        response = client.get(
            "/collections/slicks/items",
            params={"filter": expression, "filter-lang": "cql2-text", "f": "json"},
        )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json()["features"] == []
    else:
        assert response.json()["description"]
    _tables_intact(served)


def _tables_intact(served) -> None:
    from schema.database import engine_for

    with engine_for(served.database_url).connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM slick")).scalar_one()
    assert count == len(served.rows.public) + len(served.rows.hidden)


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/slicks/1/validate", "not json", "not JSON"),
        ("/slicks/1/validate", '{"human_confidence": 2}', "human_confidence"),
        ("/slicks/1/validate", '{"human_confidence": 0.5, "extra": 1}', "extra"),
        ("/slicks/1/note", '{"text": "a\\u0000b"}', "NUL"),
        ("/slicks/merge", '{"slick_ids": [1]}', "slick_ids"),
        ("/slicks/1/split", '{"n": 2, "parts": []}', "parts"),
    ],
)
def test_bad_review_bodies_are_400(served, path: str, body: str, words: str) -> None:
    headers = {"X-API-Key": served.keys["reviewer"], "Content-Type": "application/json"}
    with served.client() as client:
        response = client.post(path, content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert words.lower() in response.json()["description"].lower()


def test_unknown_routes_and_methods_are_json(served) -> None:
    with served.client() as client:
        missing = client.get("/nothing/here")
        assert missing.status_code == 404
        assert missing.json()["code"] == "NotFound"
        wrong_method = client.delete("/collections/slicks/items/1")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["description"]
        write = client.post(
            "/collections/slicks/items",
            content='{"type": "Feature"}',
            headers={"Content-Type": "application/geo+json"},
        )
        assert write.status_code == 405
        assert "review" in write.json()["description"]
