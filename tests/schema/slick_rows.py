"""Helpers of the schema tests: known shapes, and rows of scenes, runs and slicks."""

from __future__ import annotations

from datetime import UTC, datetime

import shapely
import sqlalchemy as sa
from pyproj import Geod
from sqlalchemy.engine import Connection

WGS84 = Geod(ellps="WGS84")
SCENE_TIME = datetime(2020, 11, 21, 22, 57, 59, tzinfo=UTC)


def geodesic_rectangle(
    lon: float, lat: float, *, long_m: float, short_m: float, azimuth: float = 90.0
) -> shapely.Polygon:
    """A rectangle with geodesic sides ``long_m`` × ``short_m`` metres, its long side heading
    ``azimuth`` degrees (clockwise from north) from its corner at (``lon``, ``lat``).

    Built with pyproj's geodesics, independently of PostGIS.
    """
    corners = [(lon, lat)]
    heading = azimuth
    for distance in (long_m, short_m, long_m):
        x, y, back = WGS84.fwd(corners[-1][0], corners[-1][1], heading, distance)
        corners.append((x, y))
        heading = back + 180.0 - 90.0  # the direction of travel on arrival, turned left
    return shapely.Polygon(corners)


def add_run(conn: Connection, *, scene_id: str = "S1A_IW_GRDH_1SDV_TEST") -> int:
    """A scene, a model and a run of it; returns the run id."""
    scene = conn.execute(
        sa.text(
            "INSERT INTO sentinel1_grd (scene_id, mission, mode, polarization, start_time, "
            "stop_time, footprint) VALUES (:scene_id, 'S1A', 'IW', 'DV', :t, :t + interval '25 s', "
            "footprint_polygon(ST_MakeEnvelope(-76, 34, -73, 36, 4326))) RETURNING id"
        ),
        {"scene_id": scene_id, "t": SCENE_TIME},
    ).scalar_one()
    model = conn.execute(
        sa.text(
            "INSERT INTO model (name, version, file_path, layers, class_map, thresholds, "
            "resolution_m, tile_size_px) VALUES ('unet', :v, 'weights.pt', '{VV_DB}', "
            '\'{"1": "ANTHRO"}\', \'{"seed": 0.7}\', 80, 512) RETURNING id'
        ),
        {"v": scene_id},
    ).scalar_one()
    return conn.execute(
        sa.text(
            "INSERT INTO orchestrator_run (sentinel1_grd, model, success) "
            "VALUES (:scene, :model, true) RETURNING id"
        ),
        {"scene": scene, "model": model},
    ).scalar_one()


def add_slick(
    conn: Connection,
    geometry: shapely.Geometry,
    *,
    run: int | None = None,
    slick_class: str = "VESSEL",
    confidence: float = 0.8,
    notes: str | None = None,
    meta: str | None = None,
    when: datetime = SCENE_TIME,
) -> int:
    """Insert a slick (the trigger fills the derived columns); returns its id."""
    return conn.execute(
        sa.text(
            "INSERT INTO slick (slick_timestamp, geometry, machine_confidence, notes, meta, "
            "orchestrator_run, slick_class) VALUES (:when, ST_GeomFromText(:wkt, 4326), :conf, "
            ":notes, CAST(:meta AS jsonb), :run, "
            "(SELECT id FROM slick_class WHERE short_name = :cls)) RETURNING id"
        ),
        {
            "when": when,
            "wkt": geometry.wkt,
            "conf": confidence,
            "notes": notes,
            "meta": meta,
            "run": run,
            "cls": slick_class,
        },
    ).scalar_one()


def slick_row(conn: Connection, slick_id: int) -> dict:
    """A slick's columns, with the geometry as WKB hex."""
    row = (
        conn.execute(
            sa.text("SELECT *, ST_AsHexEWKB(geometry::geometry) AS wkb FROM slick WHERE id = :id"),
            {"id": slick_id},
        )
        .mappings()
        .one()
    )
    return dict(row)
