"""Views ``slick_plus`` and ``source_plus``; functions ``get_slick_subclasses``, ``slick_history``,
``get_slicks_by_aoi``.

The views are what the OGC API serves: each has an ``id`` and exactly one geometry column,
``geometry``, typed ``geometry(..., 4326)`` (pygeoapi's PostgreSQL provider reads them as tables);
other spatial values are plain numbers or GeoJSON (``scene_footprint``). An expression index on
``slick`` makes bounding-box queries on ``slick_plus.geometry`` use GiST.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:50:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

CLASS_TREE_COLUMNS = "id integer, short_name text, long_name text, parent integer, depth integer"

UPGRADE = [
    f"""
    CREATE FUNCTION get_slick_subclasses(class_id integer)
    RETURNS TABLE ({CLASS_TREE_COLUMNS})
    LANGUAGE sql STABLE AS $$
        WITH RECURSIVE tree AS (
            SELECT c.id, c.short_name, c.long_name, c.parent, 0 AS depth
            FROM slick_class AS c WHERE c.id = class_id
            UNION ALL
            SELECT c.id, c.short_name, c.long_name, c.parent, tree.depth + 1
            FROM slick_class AS c JOIN tree ON c.parent = tree.id
            WHERE tree.depth < 100
        )
        SELECT * FROM tree ORDER BY depth, id
    $$
    """,
    f"""
    CREATE FUNCTION get_slick_subclasses(class_short_name text)
    RETURNS TABLE ({CLASS_TREE_COLUMNS})
    LANGUAGE sql STABLE AS $$
        SELECT * FROM get_slick_subclasses(
            (SELECT c.id FROM slick_class AS c WHERE c.short_name = class_short_name)
        )
    $$
    """,
    """
    COMMENT ON FUNCTION get_slick_subclasses(text) IS
    'The class with this short name and all its descendants, with their depth below it'
    """,
    """
    CREATE INDEX ix_slick_geometry_4326 ON slick
    USING gist ((geometry::geometry(MultiPolygon, 4326)))
    """,
    """
    CREATE VIEW slick_plus AS
    SELECT
        s.id,
        s.slick_timestamp,
        s.geometry::geometry(MultiPolygon, 4326) AS geometry,
        s.machine_confidence,
        s.human_confidence,
        s.validated,
        s.slick_class,
        c.short_name AS class_short_name,
        c.long_name AS class_long_name,
        c.color AS class_color,
        s.orchestrator_run,
        r.sentinel1_grd,
        g.scene_id,
        ST_AsGeoJSON(g.footprint, 6)::jsonb AS scene_footprint,
        r.model,
        m.name AS model_name,
        ARRAY(SELECT sa.aoi FROM slick_to_aoi AS sa WHERE sa.slick = s.id ORDER BY sa.aoi)
            AS aoi_ids,
        s.area,
        s.perimeter,
        s.length,
        s.polsby_popper,
        s.fill_factor,
        s.geometry_count,
        s.largest_area,
        s.median_area,
        ST_X(s.centroid::geometry) AS centroid_lon,
        ST_Y(s.centroid::geometry) AS centroid_lat,
        s.slick,
        s.notes,
        s.meta,
        s.reviewer,
        s.create_time
    FROM slick AS s
    JOIN slick_class AS c ON c.id = s.slick_class
    LEFT JOIN orchestrator_run AS r ON r.id = s.orchestrator_run
    LEFT JOIN sentinel1_grd AS g ON g.id = r.sentinel1_grd
    LEFT JOIN model AS m ON m.id = r.model
    WHERE s.active
      AND s.slick_class NOT IN (SELECT t.id FROM get_slick_subclasses('NOT_OIL') AS t)
    """,
    """
    COMMENT ON VIEW slick_plus IS
    'Active slicks that are oil (not NOT_OIL or its subclasses), with class, scene, model and AOIs'
    """,
    """
    CREATE VIEW source_plus AS
    SELECT
        src.id,
        t.short_name AS source_type,
        src.ext_id,
        src.name,
        i.geometry::geometry(Point, 4326) AS geometry,
        i.structure_type,
        i.operator,
        v.mmsi,
        v.imo,
        v.flag,
        v.shiptype,
        v.length_m,
        (
            SELECT count(*) FROM slick_to_source AS ss JOIN slick AS s ON s.id = ss.slick
            WHERE ss.source = src.id AND ss.active AND s.active
        ) AS slick_count,
        src.create_time
    FROM source AS src
    JOIN source_type AS t ON t.id = src.type
    LEFT JOIN source_infra AS i ON i.source_id = src.id
    LEFT JOIN source_vessel AS v ON v.source_id = src.id
    """,
    """
    CREATE FUNCTION slick_history(slick_id bigint)
    RETURNS TABLE (
        id bigint,
        depth integer,
        create_time timestamptz,
        slick_timestamp timestamptz,
        active boolean,
        validated boolean,
        slick_class integer,
        class_short_name text,
        machine_confidence double precision,
        human_confidence double precision,
        notes text,
        reviewer text,
        slick bigint[],
        area double precision
    )
    LANGUAGE sql STABLE AS $$
        WITH RECURSIVE lineage AS (
            SELECT s.id, 0 AS depth FROM slick AS s WHERE s.id = slick_id
            UNION
            SELECT p.id, lineage.depth + 1
            FROM lineage
            JOIN slick AS child ON child.id = lineage.id
            JOIN slick AS p ON p.id = ANY (child.slick)
            WHERE lineage.depth < 1000
        ),
        nearest AS (
            SELECT lineage.id, min(lineage.depth) AS depth FROM lineage GROUP BY lineage.id
        )
        SELECT s.id, nearest.depth, s.create_time, s.slick_timestamp, s.active, s.validated,
               s.slick_class, c.short_name, s.machine_confidence, s.human_confidence, s.notes,
               s.reviewer, s.slick, s.area
        FROM nearest
        JOIN slick AS s ON s.id = nearest.id
        JOIN slick_class AS c ON c.id = s.slick_class
        ORDER BY nearest.depth, s.id
    $$
    """,
    """
    COMMENT ON FUNCTION slick_history(bigint) IS
    'The slick and every precursor it came from (depth 0 = itself, 1 = its precursors, ...)'
    """,
    """
    CREATE FUNCTION get_slicks_by_aoi(
        aoi_id bigint,
        start_time timestamptz DEFAULT NULL,
        end_time timestamptz DEFAULT NULL
    )
    RETURNS SETOF slick_plus
    LANGUAGE sql STABLE AS $$
        SELECT p.* FROM slick_plus AS p
        WHERE EXISTS (SELECT 1 FROM slick_to_aoi AS sa WHERE sa.slick = p.id AND sa.aoi = aoi_id)
          AND (start_time IS NULL OR p.slick_timestamp >= start_time)
          AND (end_time IS NULL OR p.slick_timestamp < end_time)
        ORDER BY p.slick_timestamp, p.id
    $$
    """,
    """
    COMMENT ON FUNCTION get_slicks_by_aoi(bigint, timestamptz, timestamptz) IS
    'slick_plus rows intersecting an area of interest, seen in [start_time, end_time)'
    """,
]

DOWNGRADE = [
    "DROP FUNCTION get_slicks_by_aoi(bigint, timestamptz, timestamptz)",
    "DROP FUNCTION slick_history(bigint)",
    "DROP VIEW source_plus",
    "DROP VIEW slick_plus",
    "DROP INDEX ix_slick_geometry_4326",
    "DROP FUNCTION get_slick_subclasses(text)",
    "DROP FUNCTION get_slick_subclasses(integer)",
]


def upgrade() -> None:
    """Create the views and functions."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop them."""
    for statement in DOWNGRADE:
        op.execute(statement)
