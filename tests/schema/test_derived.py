"""Derived attributes, geometry normalization, AOI links, views and SQL functions."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from schema.database import engine_for
from tests.schema.slick_rows import SCENE_TIME, add_run, add_slick, geodesic_rectangle, slick_row

RECTANGLES = {
    "equator": dict(lon=0.0, lat=0.0, azimuth=90.0),
    "60N": dict(lon=10.0, lat=60.0, azimuth=90.0),
    "60N rotated 30 degrees": dict(lon=10.0, lat=60.0, azimuth=30.0),
    "60N north-south": dict(lon=-20.0, lat=60.0, azimuth=0.0),
    "across the anti-meridian": dict(lon=179.99, lat=-20.0, azimuth=90.0),
}


def _assert_rectangle(row: dict, lat: float) -> None:
    assert row["area"] == pytest.approx(2_000_000, rel=0.005)
    assert row["length"] == pytest.approx(2000, rel=0.01)
    assert row["perimeter"] == pytest.approx(6000, rel=0.005)
    assert row["fill_factor"] == pytest.approx(1.0, rel=0.01)
    assert row["polsby_popper"] == pytest.approx(4 * math.pi * 2e6 / 6000**2, rel=0.01)
    assert row["geometry_count"] == 1
    assert row["largest_area"] == row["median_area"] == row["area"]


@pytest.mark.parametrize("where", list(RECTANGLES))
def test_a_1_by_2_km_rectangle_on_insert_and_on_sql_update(database_url: str, where: str) -> None:
    place = RECTANGLES[where]
    rectangle = geodesic_rectangle(
        place["lon"], place["lat"], long_m=2000, short_m=1000, azimuth=place["azimuth"]
    )
    square = geodesic_rectangle(0.0, 45.0, long_m=1000, short_m=1000)
    with engine_for(database_url).begin() as conn:
        slick_id = add_slick(conn, rectangle)
        _assert_rectangle(slick_row(conn, slick_id), place["lat"])
        centroid_lat = conn.execute(
            sa.text("SELECT ST_Y(centroid::geometry) FROM slick WHERE id = :id"), {"id": slick_id}
        ).scalar_one()
        assert centroid_lat == pytest.approx(place["lat"], abs=0.02)

        # a plain SQL edit of the geometry recomputes everything
        conn.execute(
            sa.text("UPDATE slick SET geometry = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
            {"wkt": square.wkt, "id": slick_id},
        )
        row = slick_row(conn, slick_id)
        assert row["area"] == pytest.approx(1_000_000, rel=0.005)
        assert row["length"] == pytest.approx(1000, rel=0.01)

        # and back again
        conn.execute(
            sa.text("UPDATE slick SET geometry = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
            {"wkt": rectangle.wkt, "id": slick_id},
        )
        _assert_rectangle(slick_row(conn, slick_id), place["lat"])


def test_derived_columns_cannot_be_set_by_hand(database_url: str) -> None:
    rectangle = geodesic_rectangle(10.0, 60.0, long_m=2000, short_m=1000)
    with engine_for(database_url).begin() as conn:
        slick_id = add_slick(conn, rectangle)
        conn.execute(
            sa.text("UPDATE slick SET area = 1, length = 1 WHERE id = :id"), {"id": slick_id}
        )
        row = slick_row(conn, slick_id)
    assert row["area"] == pytest.approx(2e6, rel=0.005)
    assert row["length"] == pytest.approx(2000, rel=0.01)


def test_web_mercator_columns_are_generated(database_url: str) -> None:
    rectangle = geodesic_rectangle(10.0, 60.0, long_m=2000, short_m=1000)
    with engine_for(database_url).begin() as conn:
        slick_id = add_slick(conn, rectangle)
        srid, mercator_area, point = conn.execute(
            sa.text(
                "SELECT ST_SRID(geometry_3857), ST_Area(geometry_3857), "
                "GeometryType(centroid_3857) FROM slick WHERE id = :id"
            ),
            {"id": slick_id},
        ).one()
    assert srid == 3857 and point == "POINT"
    # web mercator inflates areas by 1/cos²(latitude): 4 at 60°N
    assert mercator_area / 2e6 == pytest.approx(1 / math.cos(math.radians(60)) ** 2, rel=0.01)


def test_parts_are_counted_and_their_areas_summarized(database_url: str) -> None:
    parts = [
        geodesic_rectangle(1.0, 10.0, long_m=2000, short_m=1000),  # 2 km²
        geodesic_rectangle(1.1, 10.0, long_m=1000, short_m=1000),  # 1 km²
        geodesic_rectangle(1.2, 10.0, long_m=3000, short_m=1000),  # 3 km²
    ]
    with engine_for(database_url).begin() as conn:
        slick_id = add_slick(conn, shapely.MultiPolygon(parts))
        row = slick_row(conn, slick_id)
    assert row["geometry_count"] == 3
    assert row["area"] == pytest.approx(6e6, rel=0.005)
    assert row["largest_area"] == pytest.approx(3e6, rel=0.005)
    assert row["median_area"] == pytest.approx(2e6, rel=0.005)


def test_polygons_collections_and_invalid_rings_become_valid_multipolygons(
    database_url: str,
) -> None:
    with engine_for(database_url).begin() as conn:
        polygon = add_slick(conn, shapely.box(0, 0, 0.01, 0.01))
        collection = add_slick(
            conn,
            shapely.GeometryCollection(
                [shapely.box(0, 0, 0.01, 0.01), shapely.LineString([(1, 1), (2, 2)])]
            ),
        )
        bow_tie = add_slick(
            conn, shapely.Polygon([(0, 0), (0.01, 0.01), (0.01, 0), (0, 0.01), (0, 0)])
        )
        kinds = conn.execute(
            sa.text(
                "SELECT id, GeometryType(geometry), ST_IsValid(geometry::geometry), "
                "geometry_count FROM slick ORDER BY id"
            )
        ).all()
    assert [(k[1], k[2]) for k in kinds] == [("MULTIPOLYGON", True)] * 3
    assert {k[0]: k[3] for k in kinds} == {polygon: 1, collection: 1, bow_tie: 2}


def test_a_line_is_refused_with_a_clear_message(database_url: str) -> None:
    with (
        engine_for(database_url).begin() as conn,
        pytest.raises(IntegrityError, match="must be a Polygon or MultiPolygon, not LINESTRING"),
    ):
        add_slick(conn, shapely.LineString([(0, 0), (1, 1)]))
    with engine_for(database_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM slick")).scalar_one() == 0


def _add_aoi(conn, name: str, geometry: shapely.Geometry, kind: str = "EEZ") -> int:  # noqa: ANN001
    return conn.execute(
        sa.text(
            "INSERT INTO aoi (type, name, geometry) VALUES "
            "((SELECT id FROM aoi_type WHERE short_name = :kind), :name, "
            "ST_Multi(ST_GeomFromText(:wkt, 4326))) RETURNING id"
        ),
        {"kind": kind, "name": name, "wkt": geometry.wkt},
    ).scalar_one()


def _links(conn) -> set[tuple[int, int]]:  # noqa: ANN001
    return set(conn.execute(sa.text("SELECT slick, aoi FROM slick_to_aoi")).all())


def test_slick_to_aoi_follows_slicks_and_areas(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        west = _add_aoi(conn, "west", shapely.box(-10, -10, 0, 10))
        inside = add_slick(conn, shapely.box(-1, 0, -0.99, 0.01))
        straddling = add_slick(conn, shapely.box(-0.005, 0, 0.005, 0.01))
        east_slick = add_slick(conn, shapely.box(1, 0, 1.01, 0.01))
        assert _links(conn) == {(inside, west), (straddling, west)}

        east = _add_aoi(conn, "east", shapely.box(0, -10, 10, 10), kind="MPA")
        assert _links(conn) == {
            (inside, west),
            (straddling, west),
            (straddling, east),
            (east_slick, east),
        }

        conn.execute(
            sa.text("UPDATE slick SET geometry = ST_GeomFromText(:wkt, 4326) WHERE id = :id"),
            {"wkt": shapely.box(-2, 0, -1.99, 0.01).wkt, "id": east_slick},
        )
        assert (east_slick, west) in _links(conn) and (east_slick, east) not in _links(conn)

        conn.execute(sa.text("DELETE FROM aoi WHERE id = :id"), {"id": west})
        assert _links(conn) == {(straddling, east)}


def test_slick_plus_shows_active_oil_with_names_scene_and_areas(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        run = add_run(conn, scene_id="S1A_IW_GRDH_1SDV_20201121T225759_PLUS")
        eez = _add_aoi(conn, "eez", shapely.box(-80, 30, -70, 40))
        vessel = add_slick(conn, shapely.box(-75, 35, -74.99, 35.01), run=run)
        natural = add_slick(
            conn, shapely.box(-74, 35, -73.99, 35.01), run=run, slick_class="NATURAL"
        )
        land = add_slick(conn, shapely.box(-76, 35, -75.99, 35.01), run=run, slick_class="LAND")
        old = add_slick(conn, shapely.box(-75.5, 35, -75.49, 35.01), run=run)
        conn.execute(sa.text("UPDATE slick SET active = false WHERE id = :id"), {"id": old})
        rows = {
            r["id"]: r for r in conn.execute(sa.text("SELECT * FROM slick_plus")).mappings().all()
        }
        geometry_type = conn.execute(
            sa.text(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_name = 'slick_plus' AND f_geometry_column = 'geometry'"
            )
        ).one()
    assert set(rows) == {vessel, natural}  # not LAND (a NOT_OIL subclass), not inactive
    assert land not in rows and old not in rows
    row = rows[vessel]
    assert row["class_short_name"] == "VESSEL" and row["class_long_name"] == "Vessel"
    assert row["scene_id"] == "S1A_IW_GRDH_1SDV_20201121T225759_PLUS"
    assert row["scene_footprint"]["type"] == "Polygon"
    assert row["aoi_ids"] == [eez]
    assert row["model_name"] == "unet"
    assert row["area"] == pytest.approx(1113 * 911, rel=0.01)  # 0.01° × 0.01° at 35°N
    assert row["centroid_lon"] == pytest.approx(-74.995, abs=1e-6)
    assert tuple(geometry_type) == ("MULTIPOLYGON", 4326)


def test_get_slicks_by_aoi_and_time(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        area = _add_aoi(conn, "area", shapely.box(0, 0, 1, 1), kind="USER")
        early = add_slick(conn, shapely.box(0.1, 0.1, 0.11, 0.11))
        late = add_slick(
            conn, shapely.box(0.2, 0.2, 0.21, 0.21), when=SCENE_TIME + timedelta(days=2)
        )
        add_slick(conn, shapely.box(5, 5, 5.01, 5.01))  # elsewhere

        def ids(*args: object) -> list[int]:
            sql = (
                "SELECT id FROM get_slicks_by_aoi("
                + ", ".join(f":a{i}" for i in range(len(args)))
                + ")"
            )
            return list(
                conn.execute(sa.text(sql), {f"a{i}": a for i, a in enumerate(args)}).scalars()
            )

        assert ids(area) == [early, late]
        assert ids(area, SCENE_TIME + timedelta(days=1)) == [late]
        assert ids(area, None, SCENE_TIME + timedelta(days=1)) == [early]


def test_get_slick_subclasses_by_name_and_id(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        by_name = conn.execute(
            sa.text("SELECT short_name, depth FROM get_slick_subclasses('ANTHRO')")
        ).all()
        vessel = conn.execute(sa.text("SELECT id FROM slick_class WHERE short_name = 'VESSEL'"))
        by_id = conn.execute(
            sa.text("SELECT short_name FROM get_slick_subclasses(:id)"),
            {"id": vessel.scalar_one()},
        ).scalars()
    assert sorted(by_name) == sorted(
        [
            ("ANTHRO", 0),
            ("INFRA", 1),
            ("VESSEL", 1),
            ("OLD_VESSEL", 2),
            ("RECENT_VESSEL", 2),
            ("COINCIDENT_VESSEL", 2),
        ]
    )
    assert sorted(by_id) == ["COINCIDENT_VESSEL", "OLD_VESSEL", "RECENT_VESSEL", "VESSEL"]


def test_footprint_split_at_the_anti_meridian_is_stored_whole(database_url: str) -> None:
    split = shapely.MultiPolygon(
        [shapely.box(179, -16, 180, -15), shapely.box(-180, -16, -179.5, -15)]
    )
    with engine_for(database_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO sentinel1_grd (scene_id, mission, mode, polarization, start_time, "
                "stop_time, footprint) VALUES ('S1A_FIJI', 'S1A', 'IW', 'DV', now(), now(), "
                "footprint_polygon(ST_GeomFromText(:wkt, 4326)))"
            ),
            {"wkt": split.wkt},
        )
        kind, area, covers_both_sides = conn.execute(
            sa.text(
                "SELECT GeometryType(footprint), ST_Area(footprint), "
                "ST_Covers(footprint, ST_GeogFromText('POINT(179.9 -15.5)')) AND "
                "ST_Covers(footprint, ST_GeogFromText('POINT(-179.9 -15.5)')) "
                "FROM sentinel1_grd WHERE scene_id = 'S1A_FIJI'"
            )
        ).one()
        whole = conn.execute(
            sa.text("SELECT ST_Area(ST_MakeEnvelope(10, -16, 11.5, -15, 4326)::geography)")
        ).scalar_one()
    assert kind == "POLYGON" and covers_both_sides
    assert area == pytest.approx(whole, rel=1e-3)


def test_footprint_of_separate_parts_is_refused(database_url: str) -> None:
    apart = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)])
    with engine_for(database_url).connect() as conn, pytest.raises(Exception, match="separate"):
        conn.execute(
            sa.text("SELECT footprint_polygon(ST_GeomFromText(:wkt, 4326))"), {"wkt": apart.wkt}
        )


def test_source_plus_counts_active_slicks(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        first = add_slick(conn, shapely.box(0, 0, 0.01, 0.01))
        second = add_slick(conn, shapely.box(1, 0, 1.01, 0.01))
        vessel = conn.execute(
            sa.text(
                "INSERT INTO source (type, ext_id, name) VALUES "
                "((SELECT id FROM source_type WHERE short_name = 'VESSEL'), '366123456', "
                "'MV Example') RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO source_vessel (source_id, mmsi, flag) VALUES (:s, '366123456', 'US')"
            ),
            {"s": vessel},
        )
        infra = conn.execute(
            sa.text(
                "INSERT INTO source (type, ext_id) VALUES "
                "((SELECT id FROM source_type WHERE short_name = 'INFRA'), 'OM-17') RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO source_infra (source_id, geometry) "
                "VALUES (:s, ST_GeogFromText('POINT(57.1 19.2)'))"
            ),
            {"s": infra},
        )
        for slick in (first, second):
            conn.execute(
                sa.text(
                    "INSERT INTO slick_to_source (slick, source, coincidence_score, rank) "
                    "VALUES (:slick, :source, 0.9, 1)"
                ),
                {"slick": slick, "source": vessel},
            )
        conn.execute(sa.text("UPDATE slick SET active = false WHERE id = :id"), {"id": second})
        rows = {r["id"]: r for r in conn.execute(sa.text("SELECT * FROM source_plus")).mappings()}
        point = conn.execute(
            sa.text("SELECT ST_AsText(geometry) FROM source_plus WHERE id = :id"), {"id": infra}
        ).scalar_one()
    assert rows[vessel]["source_type"] == "VESSEL" and rows[vessel]["flag"] == "US"
    assert rows[vessel]["slick_count"] == 1
    assert rows[infra]["source_type"] == "INFRA" and rows[infra]["slick_count"] == 0
    assert point == "POINT(57.1 19.2)"


def test_class_and_trigger_vocabularies_are_enforced(database_url: str) -> None:
    with (
        engine_for(database_url).begin() as conn,
        pytest.raises(IntegrityError, match="trigger_type_known"),
    ):
        conn.execute(sa.text("INSERT INTO trigger (trigger_type) VALUES ('WHENEVER')"))
    with engine_for(database_url).connect() as conn:
        counts = dict(
            conn.execute(
                sa.text(
                    "SELECT 'classes', count(*) FROM slick_class UNION ALL "
                    "SELECT 'aoi types', count(*) FROM aoi_type UNION ALL "
                    "SELECT 'source types', count(*) FROM source_type UNION ALL "
                    "SELECT 'layers', count(*) FROM layer"
                )
            ).all()
        )
    assert counts == {"classes": 12, "aoi types": 4, "source types": 4, "layers": 6}
