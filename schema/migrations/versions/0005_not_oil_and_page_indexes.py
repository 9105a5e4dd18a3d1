"""``slick_class.not_oil`` and the index of bbox + datetime pages: ``slick_plus`` made cheap.

- ``slick_class.not_oil`` (boolean, NOT NULL): true for NOT_OIL and every class below it. Seeded
  from ``get_slick_subclasses('NOT_OIL')`` and kept right by a statement trigger
  (``slick_class_not_oil``) after any INSERT or UPDATE of ``slick_class``, so a class added under
  NOT_OIL, or moved in or out of it, gets the right flag without anyone setting it (the tree has
  tens of rows: the trigger recomputes all of them).
- ``slick_plus`` keeps its columns and rows; its filter becomes ``NOT c.not_oil`` on the class it
  already joins, which the planner can estimate and push into index scans, instead of a subplan
  over the recursive class-tree function.
- ``ix_slick_geometry_4326_time`` replaces ``ix_slick_geometry_4326``: one GiST index over the
  geometry ``slick_plus`` exposes *and* ``slick_timestamp`` (``btree_gist``), of active slicks
  only, so a bbox + datetime page is one index scan. With separate indexes the planner ANDs the
  small bbox bitmap with the month's (tens of thousands of rows) timestamp bitmap: on a million
  slicks that took 10-25 ms of a 15-30 ms query. A bbox alone uses it too (leading column).
  The ``btree_gist`` extension stays on downgrade (other objects may use it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 03:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

SLICK_PLUS_SELECT = """
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
"""

OLD_INDEX = """
    CREATE INDEX ix_slick_geometry_4326 ON slick
    USING gist ((geometry::geometry(MultiPolygon, 4326)))
"""

UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    CREATE INDEX ix_slick_geometry_4326_time ON slick
    USING gist ((geometry::geometry(MultiPolygon, 4326)), slick_timestamp) WHERE active
    """,
    "DROP INDEX ix_slick_geometry_4326",
    """
    CREATE FUNCTION slick_class_not_oil() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- its own UPDATE below fires this trigger again: nothing more to do one level down
        IF pg_trigger_depth() > 1 THEN
            RETURN NULL;
        END IF;
        UPDATE slick_class AS c
        SET not_oil = t.id IS NOT NULL
        FROM slick_class AS k
        LEFT JOIN get_slick_subclasses('NOT_OIL') AS t ON t.id = k.id
        WHERE c.id = k.id AND c.not_oil IS DISTINCT FROM (t.id IS NOT NULL);
        RETURN NULL;
    END
    $$
    """,
    """
    COMMENT ON FUNCTION slick_class_not_oil() IS
    'Sets slick_class.not_oil: true for NOT_OIL and its descendants, false for every other class'
    """,
    """
    CREATE TRIGGER slick_class_not_oil AFTER INSERT OR UPDATE ON slick_class
    FOR EACH STATEMENT EXECUTE FUNCTION slick_class_not_oil()
    """,
    # seeds the column: an UPDATE of slick_class, so the trigger sets the flags
    "UPDATE slick_class SET not_oil = not_oil",
    f"CREATE OR REPLACE VIEW slick_plus AS {SLICK_PLUS_SELECT}    WHERE s.active AND NOT c.not_oil",
]

DOWNGRADE = [
    f"""
    CREATE OR REPLACE VIEW slick_plus AS {SLICK_PLUS_SELECT}
    WHERE s.active
      AND s.slick_class NOT IN (SELECT t.id FROM get_slick_subclasses('NOT_OIL') AS t)
    """,
    "DROP TRIGGER slick_class_not_oil ON slick_class",
    "DROP FUNCTION slick_class_not_oil()",
    OLD_INDEX,
    "DROP INDEX ix_slick_geometry_4326_time",
]


def upgrade() -> None:
    """Add ``slick_class.not_oil``, its trigger and seed, and filter ``slick_plus`` on it."""
    op.add_column(
        "slick_class",
        sa.Column("not_oil", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Back to the class-tree filter; drop the trigger and the column."""
    for statement in DOWNGRADE:
        op.execute(statement)
    op.drop_column("slick_class", "not_oil")
