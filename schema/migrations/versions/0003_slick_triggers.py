"""Triggers: slick geometry normalization and derived attributes, slick-to-AOI links; footprints.

- ``slick_derive`` (BEFORE INSERT, and UPDATE of the geometry or of any derived column): makes the
  geometry a valid MultiPolygon (a Polygon from ``ST_Union``, a GeometryCollection, an invalid
  ring all become one), then computes area and perimeter on the spheroid (m², m), the centroid,
  Polsby-Popper, the part count and the largest and median part areas, and, in a Lambert azimuthal
  equal-area projection centred on the slick (true areas, distances right to 1e-5 over 100 km, at
  any latitude and across the anti-meridian), the oriented envelope's long side (``length``, m)
  and the fill factor.
- ``slick_link_aois`` / ``aoi_link_slicks`` (AFTER): keep ``slick_to_aoi`` equal to "intersects".
- ``footprint_polygon(geometry)``: one geography Polygon from a footprint that STAC split at the
  anti-meridian.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 00:45:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

DERIVED = (
    "area, perimeter, centroid, polsby_popper, fill_factor, length, geometry_count, "
    "largest_area, median_area"
)

UPGRADE = [
    """
    CREATE FUNCTION slick_local_crs(g geography) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT format(
            '+proj=laea +lat_0=%s +lon_0=%s +datum=WGS84 +units=m +no_defs',
            ST_Y(c::geometry), ST_X(c::geometry)
        )
        FROM (SELECT ST_Centroid(g) AS c) AS centre
    $$
    """,
    """
    COMMENT ON FUNCTION slick_local_crs(geography) IS
    'PROJ string of a Lambert azimuthal equal-area projection centred on the centroid of g (metres)'
    """,
    """
    CREATE FUNCTION slick_derive() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        g geometry;
        local_g geometry;
        envelope geometry;
        ring geometry;
        side_a float8;
        side_b float8;
        largest float8;
        median float8;
    BEGIN
        IF NEW.geometry IS NULL THEN
            RETURN NEW;  -- the NOT NULL constraint reports it
        END IF;
        g := ST_SetSRID(NEW.geometry::geometry, 4326);
        IF NOT ST_IsValid(g) THEN
            g := ST_MakeValid(g);
        END IF;
        g := ST_Multi(ST_CollectionExtract(g, 3));
        IF ST_IsEmpty(g) THEN
            RAISE EXCEPTION 'a slick geometry must be a Polygon or MultiPolygon, not %',
                GeometryType(NEW.geometry::geometry)
                USING ERRCODE = 'check_violation',
                      HINT = 'Give the outline as polygons in EPSG:4326 (longitude, latitude).';
        END IF;
        NEW.geometry := g::geography;
        NEW.area := ST_Area(NEW.geometry);
        NEW.perimeter := ST_Perimeter(NEW.geometry);
        NEW.polsby_popper := CASE WHEN NEW.perimeter > 0
            THEN 4 * pi() * NEW.area / (NEW.perimeter * NEW.perimeter) END;
        NEW.centroid := ST_Centroid(NEW.geometry);
        NEW.geometry_count := ST_NumGeometries(g);
        SELECT max(a), percentile_cont(0.5) WITHIN GROUP (ORDER BY a)
          INTO largest, median
          FROM (SELECT ST_Area(d.geom::geography) AS a FROM ST_Dump(g) AS d) AS parts;
        NEW.largest_area := largest;
        NEW.median_area := median;
        local_g := ST_Transform(g, slick_local_crs(NEW.geometry));
        envelope := ST_OrientedEnvelope(local_g);
        IF GeometryType(envelope) = 'POLYGON' THEN
            ring := ST_ExteriorRing(envelope);
            side_a := ST_Distance(ST_PointN(ring, 1), ST_PointN(ring, 2));
            side_b := ST_Distance(ST_PointN(ring, 2), ST_PointN(ring, 3));
            NEW.length := greatest(side_a, side_b);
            NEW.fill_factor := CASE WHEN ST_Area(envelope) > 0
                THEN ST_Area(local_g) / ST_Area(envelope) END;
        ELSE
            NEW.length := ST_Length(envelope);
            NEW.fill_factor := NULL;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE TRIGGER slick_derive
    BEFORE INSERT OR UPDATE OF geometry, {DERIVED} ON slick
    FOR EACH ROW EXECUTE FUNCTION slick_derive()
    """,
    """
    CREATE FUNCTION slick_link_aois() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM slick_to_aoi WHERE slick = NEW.id;
        END IF;
        INSERT INTO slick_to_aoi (slick, aoi)
        SELECT NEW.id, a.id FROM aoi AS a WHERE ST_Intersects(a.geometry, NEW.geometry);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER slick_link_aois
    AFTER INSERT OR UPDATE OF geometry ON slick
    FOR EACH ROW EXECUTE FUNCTION slick_link_aois()
    """,
    """
    CREATE FUNCTION aoi_link_slicks() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM slick_to_aoi WHERE aoi = NEW.id;
        END IF;
        INSERT INTO slick_to_aoi (slick, aoi)
        SELECT s.id, NEW.id FROM slick AS s WHERE ST_Intersects(s.geometry, NEW.geometry);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER aoi_link_slicks
    AFTER INSERT OR UPDATE OF geometry ON aoi
    FOR EACH ROW EXECUTE FUNCTION aoi_link_slicks()
    """,
    """
    CREATE FUNCTION footprint_polygon(g geometry) RETURNS geography
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET client_min_messages = warning  -- no NOTICE about the wrapped longitudes
    AS $$
    DECLARE
        merged geometry;
    BEGIN
        g := ST_CollectionExtract(ST_SetSRID(g, 4326), 3);
        IF ST_NumGeometries(g) = 1 THEN
            RETURN ST_GeometryN(g, 1)::geography;
        END IF;
        -- parts split at +-180: shifted to 0..360 they meet at 180 and union into one polygon,
        -- whose longitudes above 180 the geography cast wraps back
        merged := ST_UnaryUnion(ST_ShiftLongitude(g));
        IF GeometryType(merged) <> 'POLYGON' THEN
            RAISE EXCEPTION 'a footprint must be one polygon; this one has % separate parts',
                ST_NumGeometries(merged)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Only footprints split at the anti-meridian may be multipolygons.';
        END IF;
        RETURN merged::geography;
    END
    $$
    """,
    """
    COMMENT ON FUNCTION footprint_polygon(geometry) IS
    'One geography Polygon from a scene footprint, joining the parts of one split at +-180 degrees'
    """,
]

DOWNGRADE = [
    "DROP FUNCTION footprint_polygon(geometry)",
    "DROP TRIGGER aoi_link_slicks ON aoi",
    "DROP FUNCTION aoi_link_slicks()",
    "DROP TRIGGER slick_link_aois ON slick",
    "DROP FUNCTION slick_link_aois()",
    "DROP TRIGGER slick_derive ON slick",
    "DROP FUNCTION slick_derive()",
    "DROP FUNCTION slick_local_crs(geography)",
]


def upgrade() -> None:
    """Create the functions and triggers."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop them."""
    for statement in DOWNGRADE:
        op.execute(statement)
