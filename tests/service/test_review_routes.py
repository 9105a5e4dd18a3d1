"""Review endpoints: each answers with the new slick ids, records the key's name as reviewer, and
maps review errors to 404/409/422 without changing anything."""

from __future__ import annotations

import shapely
import shapely.geometry
import sqlalchemy as sa


def _post(served, path: str, body: dict, *, key: str = "reviewer"):
    with served.client(headers={"X-API-Key": served.keys[key]}) as client:
        return client.post(path, json=body)


def _row(served, slick_id: int) -> dict:
    from schema.database import engine_for

    with engine_for(served.database_url).connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT s.*, c.short_name AS class_name FROM slick s "
                    "JOIN slick_class c ON c.id = s.slick_class WHERE s.id = :id"
                ),
                {"id": slick_id},
            )
            .mappings()
            .one()
        )


def test_validate_reclassify_note_and_history(served_fresh) -> None:
    served = served_fresh
    first = served.rows.slicks["A"][0]
    validated = _post(served, f"/slicks/{first}/validate", {"human_confidence": 0.95})
    assert validated.status_code == 201, validated.text
    body = validated.json()
    (second,) = body["slick_ids"]
    assert body["replaced"] == [first]
    assert body["reviewer"] == "reviewer"
    assert validated.headers["location"].endswith(f"/collections/slicks/items/{second}")
    row = _row(served, second)
    assert row["validated"] and row["human_confidence"] == 0.95 and row["reviewer"] == "reviewer"
    assert _row(served, first)["active"] is False

    reclassified = _post(served, f"/slicks/{second}/reclassify", {"slick_class": "NATURAL"})
    (third,) = reclassified.json()["slick_ids"]
    assert _row(served, third)["class_name"] == "NATURAL"

    noted = _post(served, f"/slicks/{third}/note", {"text": "NOAA report 123"})
    (fourth,) = noted.json()["slick_ids"]
    assert _row(served, fourth)["notes"] == "NOAA report 123"

    with served.client() as client:
        history = client.get(f"/slicks/{fourth}/history").json()["history"]
        item = client.get(f"/collections/slicks/items/{fourth}").json()
        old = client.get(f"/collections/slicks/items/{first}")
    assert [e["id"] for e in history] == [fourth, third, second, first]
    assert [e["depth"] for e in history] == [0, 1, 2, 3]
    assert history[0]["precursors"] == [third]
    assert item["properties"]["class_short_name"] == "NATURAL"
    assert old.status_code == 404  # replaced rows leave the public collection


def test_merge_and_split(served_fresh) -> None:
    served = served_fresh
    a, b = served.rows.slicks["B"][0], served.rows.slicks["B"][3]  # both VESSEL
    merged = _post(served, "/slicks/merge", {"slick_ids": [a, b], "human_confidence": 0.8})
    assert merged.status_code == 201, merged.text
    (new,) = merged.json()["slick_ids"]
    assert sorted(merged.json()["replaced"]) == sorted([a, b])
    row = _row(served, new)
    assert sorted(row["slick"]) == sorted([a, b])
    assert row["geometry_count"] == 2

    split = _post(served, f"/slicks/{new}/split", {"n": 2})
    assert split.status_code == 201, split.text
    parts = split.json()["slick_ids"]
    assert len(parts) == 2 and split.json()["replaced"] == [new]

    target = served.rows.slicks["B"][6]
    with served.client() as client:
        geometry = client.get(f"/collections/slicks/items/{target}").json()["geometry"]
    shape = shapely.geometry.shape(geometry)
    west, south, east, north = shape.bounds
    middle = (west + east) / 2
    halves = [
        shapely.geometry.mapping(shape.intersection(shapely.box(west, south, middle, north))),
        shapely.geometry.mapping(shape.intersection(shapely.box(middle, south, east, north))),
    ]
    by_parts = _post(served, f"/slicks/{target}/split", {"parts": halves})
    assert by_parts.status_code == 201, by_parts.text
    areas = [_row(served, i)["area"] for i in by_parts.json()["slick_ids"]]
    assert abs(areas[0] - areas[1]) < 0.01 * areas[0]


def test_review_errors_change_nothing(served_fresh) -> None:
    served = served_fresh
    slick = served.rows.slicks["A"][5]
    missing = _post(served, "/slicks/987654/validate", {"human_confidence": 0.5})
    assert missing.status_code == 404
    assert "987654" in missing.json()["description"]
    unknown_class = _post(served, f"/slicks/{slick}/reclassify", {"slick_class": "UFO"})
    assert unknown_class.status_code == 422
    assert "UFO" in unknown_class.json()["description"]
    different = _post(served, "/slicks/merge", {"slick_ids": [slick, served.rows.slicks["A"][6]]})
    assert different.status_code == 422
    outside = _post(
        served,
        f"/slicks/{slick}/split",
        {"parts": [shapely.geometry.mapping(shapely.box(0, 0, 1, 1))] * 2},
    )
    assert outside.status_code == 422
    assert _row(served, slick)["active"] is True
    done = _post(served, f"/slicks/{slick}/validate", {"human_confidence": 0.5})
    assert done.status_code == 201
    again = _post(served, f"/slicks/{slick}/validate", {"human_confidence": 0.5})
    assert again.status_code == 409
    assert str(done.json()["slick_ids"][0]) in again.json()["description"]
    with served.client() as client:
        assert client.get("/slicks/987654/history").status_code == 404
        assert client.get("/slicks/abc/history").status_code == 404
