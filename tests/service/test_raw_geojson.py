"""GeoJSON written by the database (service.raw_geojson) answers what pygeoapi's encoding answers.

The served app splices feature text from PostgreSQL into pygeoapi's answers; an app built with
``raw_geojson=False`` over the same database lets pygeoapi encode the provider's dicts. Every
query here goes to both, and the two answers must be equal member for member (``timeStamp``
aside), in the same order, with the same status and content type.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from schema.database import engine_for
from service.app import create_app
from tests.service.serving import Served, make_settings

QUERIES = [
    "/collections/slicks/items?f=json&limit=1000",
    "/collections/slicks/items?limit=7",  # no f: GeoJSON too
    "/collections/slicks/items?f=json&limit=7&offset=7&sortby=-machine_confidence",
    "/collections/slicks/items?f=json&limit=5&offset=40",  # the last page: numberMatched
    "/collections/slicks/items?f=json&bbox=179,-18,-179,-16",
    "/collections/slicks/items?f=json&datetime=2021-03-05&properties=class_short_name,area",
    "/collections/slicks/items?f=json&skipGeometry=true&class_short_name=INFRA",
    "/collections/slicks/items?f=json&filter=machine_confidence > 0.5 AND "
    "class_short_name = 'VESSEL'&filter-lang=cql2-text&limit=3",
    "/collections/slicks/items?f=json&filter=class_short_name = 'VESSEL'&limit=3",  # ECQL
    "/collections/slicks/items?f=json&bbox=0,0,1,1",  # nothing
    "/collections/slicks/items?f=json&resulttype=hits",
    "/collections/scenes/items?f=json",
    "/collections/aois/items?f=json",
    "/collections/classes/items?f=json&limit=100",
    "/collections/models/items?f=json",
    "/collections/slicks/items?f=json&bbox=1,2,3",  # 400
    "/collections/slicks/items?f=json&filter=nonsense = 1&filter-lang=cql2-text",  # 400
]


def _comparable(response) -> dict:  # noqa: ANN001 - httpx Response
    document = response.json()
    document.pop("timeStamp", None)
    return document


def _differences(raw: dict, reference: dict) -> list[str]:
    """Where two answers differ (features by position, then their members), for messages."""
    found = [f"{k}: {raw.get(k)!r} != {reference.get(k)!r}" for k in raw if k != "features"]
    found = [
        line
        for line, k in zip(found, [k for k in raw if k != "features"], strict=True)
        if raw.get(k) != reference.get(k)
    ]
    for a, b in zip(raw.get("features", []), reference.get("features", []), strict=False):
        for name in set(a.get("properties") or {}) | set(b.get("properties") or {}):
            x, y = (a.get("properties") or {}).get(name), (b.get("properties") or {}).get(name)
            if x != y:
                found.append(f"feature {a.get('id')} {name}: {x!r} != {y!r}")
        if a.get("geometry") != b.get("geometry") or a.get("id") != b.get("id"):
            found.append(f"feature {a.get('id')}: geometry or id differs")
    return found


def _keys(node: object) -> object:
    """Member names at every level, in order (values left out)."""
    if isinstance(node, dict):
        return [(key, _keys(value)) for key, value in node.items()]
    if isinstance(node, list):
        return [_keys(value) for value in node]
    return None


@pytest.fixture(scope="module")
def plain(served: Served, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """pygeoapi's own encoding, at the same public address as the served app."""
    port = urlsplit(served.url).port
    app = create_app(
        make_settings(tmp_path_factory.mktemp("plain"), port),
        database_url=served.database_url,
        raw_geojson=False,
    )
    return TestClient(app)  # no lifespan: the served app owns the shared engine


def _both(served: Served, plain: TestClient, path: str, **headers: str) -> tuple:
    with served.client() as client:
        raw = client.get(path, headers=headers)
    return raw, plain.get(path, headers=headers)


@pytest.mark.parametrize("path", QUERIES)
def test_pages_are_the_same_as_pygeoapis(served: Served, plain: TestClient, path: str) -> None:
    raw, reference = _both(served, plain, path)
    assert raw.status_code == reference.status_code
    assert raw.headers["content-type"] == reference.headers["content-type"]
    assert _comparable(raw) == _comparable(reference), _differences(
        _comparable(raw), _comparable(reference)
    )
    assert _keys(_comparable(raw)) == _keys(_comparable(reference))
    if raw.status_code == 200 and raw.json()["features"]:
        # the served answer's properties were written by PostgreSQL's json_build_object
        assert '"properties":{"' in raw.text and '" : ' in raw.text
        assert '" : ' not in reference.text


def test_single_items_are_the_same_as_pygeoapis(served: Served, plain: TestClient) -> None:
    rows = served.rows
    paths = [
        f"/collections/slicks/items/{rows.slicks['A'][0]}",
        f"/collections/slicks/items/{rows.slicks['C'][1]}?f=json",
        f"/collections/scenes/items/{rows.scenes['B']}",
        f"/collections/aois/items/{rows.aoi}",
        "/collections/classes/items/9",
        "/collections/slicks/items/999999999",  # 404
        "/collections/slicks/items/abc",  # 404
    ]
    for path in paths:
        raw, reference = _both(served, plain, path)
        assert raw.status_code == reference.status_code, path
        assert _comparable(raw) == _comparable(reference), path
        assert _keys(_comparable(raw)) == _keys(_comparable(reference)), path
    # a restricted collection: the same with a key, the same 401 without
    run = f"/collections/runs/items/{rows.runs['A']}"
    raw, reference = _both(served, plain, run, **{"X-API-Key": served.keys["reader"]})
    assert raw.status_code == reference.status_code == 200
    assert _comparable(raw) == _comparable(reference)
    raw, reference = _both(served, plain, run)
    assert raw.status_code == reference.status_code == 401


def test_awkward_values_come_out_alike(served_fresh: Served, tmp_path: Path) -> None:
    """Text needing escapes, non-ASCII, JSON objects, whole-number floats, nulls, arrays, and
    timestamps whose fraction ends in zeros or is zero."""
    slick_id = served_fresh.rows.slicks["B"][0]
    with engine_for(served_fresh.database_url).begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE slick SET notes = :notes, meta = CAST(:meta AS jsonb), "
                "human_confidence = 1.0, reviewer = 'Zoë \"Q\" O''Brien', "
                "slick_timestamp = '2021-03-05T10:00:00.1234Z', "
                "create_time = '2021-03-06T00:00:00Z' WHERE id = :id"
            ),
            {
                "id": slick_id,
                "notes": 'line one\nline "two"\t\\ tab, 油膜 and \u2028 and \x01',
                "meta": json.dumps({"nested": {"a": [1, 2.5, None]}, "links": "x", "é": True}),
            },
        )
    port = urlsplit(served_fresh.url).port
    plain = TestClient(
        create_app(
            make_settings(tmp_path, port),
            database_url=served_fresh.database_url,
            raw_geojson=False,
        )
    )
    for path in (
        f"/collections/slicks/items/{slick_id}",
        "/collections/slicks/items?f=json&datetime=2021-03-05",
    ):
        raw, reference = _both(served_fresh, plain, path)
        assert raw.status_code == reference.status_code == 200
        assert _comparable(raw) == _comparable(reference)
        assert _keys(_comparable(raw)) == _keys(_comparable(reference))
    item = raw.json()["features"][0]
    assert item["id"] == slick_id
    assert item["properties"]["notes"].startswith('line one\nline "two"')
    assert item["properties"]["meta"]["nested"] == {"a": [1, 2.5, None]}
    assert item["properties"]["slick_timestamp"] == "2021-03-05T10:00:00.123400+00:00"
    assert item["properties"]["create_time"] == "2021-03-06T00:00:00+00:00"
