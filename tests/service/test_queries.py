"""What the collections answer: filters, paging, counts, formats — checked against the rows."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest


def _items(client, collection: str, **params: object) -> dict:
    response = client.get(f"/collections/{collection}/items", params={"f": "json", **params})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(page: dict) -> list[int]:
    return [f["id"] for f in page["features"]]


def test_slicks_are_the_active_oil_ones(served) -> None:
    with served.client() as client:
        page = _items(client, "slicks", limit=1000)
    assert sorted(_ids(page)) == served.rows.public
    assert page["numberMatched"] == page["numberReturned"] == len(served.rows.public)
    assert not set(served.rows.hidden) & set(_ids(page))


def test_datetime_instants_days_and_intervals(served) -> None:
    rows = served.rows
    with served.client() as client:
        day = _items(client, "slicks", datetime="2021-03-05", limit=1000)
        assert sorted(_ids(day)) == sorted(rows.slicks["B"])
        interval = _items(client, "slicks", datetime="2021-01-01T00:00:00Z/..", limit=1000)
        assert sorted(_ids(interval)) == sorted(rows.slicks["B"] + rows.slicks["C"])
        closed = _items(client, "slicks", datetime="2020-11-01/2020-11-30", limit=1000)
        assert sorted(_ids(closed)) == sorted(rows.slicks["A"])
        instant = _items(client, "slicks", datetime="2020-11-21T22:57:59Z", limit=1000)
        # slick i of scene A is stamped i % 20 seconds after the scene start
        assert sorted(_ids(instant)) == sorted(rows.slicks["A"][i] for i in (0, 20))
        scenes = _items(client, "scenes", datetime="../2020-12-31")
        assert [f["properties"]["scene_id"][17:25] for f in scenes["features"]] == ["20201121"]


def test_bbox_across_the_antimeridian(served) -> None:
    with served.client() as client:
        page = _items(client, "slicks", bbox="179,-18,-179,-16", limit=1000)
        assert sorted(_ids(page)) == sorted(served.rows.slicks["C"])
        east_only = _items(client, "slicks", bbox="179.545,-18,180,-16")
        assert _ids(east_only) == [served.rows.slicks["C"][1]]


def test_property_filter_sort_and_select(served) -> None:
    rows = served.rows
    with served.client() as client:
        page = _items(
            client,
            "slicks",
            class_short_name="INFRA",
            sortby="-machine_confidence",
            properties="machine_confidence,class_short_name",
            limit=1000,
        )
    expected = sorted(
        (i for i in rows.public if rows.klass[i] == "INFRA"),
        key=lambda i: (-rows.confidence[i], i),
    )
    assert _ids(page) == expected
    assert set(page["features"][0]["properties"]) == {"machine_confidence", "class_short_name"}


def test_paging_follows_next_links_without_gaps(served) -> None:
    seen: list[int] = []
    with served.client() as client:
        url = "/collections/slicks/items?f=json&limit=7&sortby=machine_confidence"
        pages = 0
        while url:
            response = client.get(url)
            assert response.status_code == 200
            page = response.json()
            seen += _ids(page)
            pages += 1
            nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
            url = nxt[0] if nxt and page["features"] else None
    assert sorted(seen) == served.rows.public
    assert len(seen) == len(set(seen))
    assert pages >= len(served.rows.public) // 7


def test_number_matched_without_full_count(served) -> None:
    total = len(served.rows.public)
    with served.client() as client:
        # a page that does not reach the end: no count is run, numberMatched is left out ...
        page = _items(client, "slicks", limit=5)
        assert "numberMatched" not in page
        assert page["numberReturned"] == 5
        # ... the last page knows it exactly, and resulttype=hits counts on request
        last = _items(client, "slicks", limit=5, offset=40)
        assert last["numberMatched"] == total == 42
        assert last["numberReturned"] == 2
        whole = _items(client, "slicks", limit=1000)
        assert whole["numberMatched"] == total
        hits = _items(client, "slicks", resulttype="hits", datetime="2021-01-01/..")
        assert hits["numberMatched"] == 12
        assert hits["features"] == []


def test_cql2_spatial_temporal_and_case_insensitive(served) -> None:
    rows = served.rows
    with served.client() as client:
        spatial = _items(
            client,
            "slicks",
            filter="S_INTERSECTS(geometry, BBOX(10.9, 40.9, 11.2, 41.1))",
            **{"filter-lang": "cql2-text"},
        )
        assert sorted(_ids(spatial)) == sorted(rows.slicks["B"][:5])
        polygon = _items(
            client,
            "slicks",
            filter="S_INTERSECTS(geometry, POLYGON((10.9 40.9, 11.2 40.9, 11.2 41.1, "
            "10.9 41.1, 10.9 40.9))) AND machine_confidence > 0.45",
        )
        assert sorted(_ids(polygon)) == sorted(rows.slicks["B"][3:5])
        temporal = _items(
            client,
            "slicks",
            filter="slick_timestamp > TIMESTAMP('2021-04-01T00:00:00Z')",
            **{"filter-lang": "cql2-text"},
        )
        assert sorted(_ids(temporal)) == sorted(rows.slicks["C"])
        casei = _items(
            client, "slicks", filter="CASEI(class_short_name) = casei('natural')", limit=1000
        )
        assert sorted(_ids(casei)) == sorted(i for i in rows.public if rows.klass[i] == "NATURAL")
        listed = _items(
            client,
            "slicks",
            filter="class_short_name IN ('INFRA', 'NATURAL') AND scene_id LIKE '%20210305%'",
            limit=1000,
        )
        assert sorted(_ids(listed)) == sorted(
            i for i in rows.slicks["B"] if rows.klass[i] != "VESSEL"
        )
        json_filter = _items(
            client,
            "slicks",
            filter='{"op": ">=", "args": [{"property": "machine_confidence"}, 0.9]}',
            **{"filter-lang": "cql2-json"},
            limit=1000,
        )
        high = sorted(i for i in rows.public if rows.confidence[i] >= 0.9)
        assert sorted(_ids(json_filter)) == high
        ecql = _items(
            client,
            "slicks",
            filter="BBOX(geometry, 10.9, 40.9, 11.2, 41.1)",
            **{"filter-lang": "cql-text"},
        )
        assert sorted(_ids(ecql)) == sorted(rows.slicks["B"][:5])


def test_next_links_keep_the_cql2_filter(served) -> None:
    with served.client() as client:
        page = _items(
            client,
            "slicks",
            filter="machine_confidence >= 0.5",
            **{"filter-lang": "cql2-text"},
            limit=3,
        )
        nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
        query = parse_qs(urlsplit(nxt).query)
        assert query["filter"] == ["machine_confidence >= 0.5"]
        assert query["filter-lang"] == ["cql2-text"]
        assert query["offset"] == ["3"]
        second = client.get(nxt).json()
    assert all(f["properties"]["machine_confidence"] >= 0.5 for f in second["features"])
    assert not set(_ids(page)) & set(_ids(second))


def test_single_items_of_each_collection(served) -> None:
    rows = served.rows
    with served.client() as client:
        scene = client.get(f"/collections/scenes/items/{rows.scenes['B']}").json()
        assert scene["geometry"]["type"] == "Polygon"
        assert scene["properties"]["start_time"].startswith("2021-03-05T10:00:00")
        aoi = client.get(f"/collections/aois/items/{rows.aoi}").json()
        assert aoi["properties"]["aoi_type"] == "EEZ"
        classes = _items(client, "classes", limit=100)
        names = {f["properties"]["short_name"] for f in classes["features"]}
        assert {"VESSEL", "INFRA", "NATURAL", "NOT_OIL"} <= names
        assert all(f["geometry"] is None for f in classes["features"])
        slick = client.get(f"/collections/slicks/items/{rows.slicks['A'][0]}").json()
        assert rows.aoi in slick["properties"]["aoi_ids"]
        assert slick["properties"]["area"] > 0


def test_csv_and_html(served) -> None:
    with served.client() as client:
        response = client.get("/collections/slicks/items", params={"f": "csv", "limit": 5})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(response.text)))
        assert len(table) == 5
        assert "machine_confidence" in table[0]
        html = client.get("/collections/slicks/items", params={"f": "html", "limit": 2})
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        landing = client.get("/", params={"f": "html"})
        assert landing.status_code == 200 and "slickwatch" in landing.text


@pytest.mark.parametrize("crs", ["http://www.opengis.net/def/crs/EPSG/0/3857"])
def test_output_crs(served, crs: str) -> None:
    slick_id = served.rows.slicks["B"][0]
    with served.client() as client:
        response = client.get(f"/collections/slicks/items/{slick_id}", params={"crs": crs})
    if response.status_code == 400:
        assert "crs" in response.json()["description"].lower()
        return
    x, _ = response.json()["geometry"]["coordinates"][0][0][0]
    assert x == pytest.approx(1224514.4, rel=1e-4)  # 11 degrees east in web mercator


def test_sort_by_id_descending(served) -> None:
    with served.client() as client:
        page = _items(client, "slicks", sortby="-id", limit=3)
    assert _ids(page) == sorted(served.rows.public, reverse=True)[:3]
