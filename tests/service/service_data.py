"""Known rows for the service tests: scenes, runs, slicks of several classes, an AOI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCENE_A = datetime(2020, 11, 21, 22, 57, 59, tzinfo=UTC)
SCENE_B = datetime(2021, 3, 5, 10, 0, 0, tzinfo=UTC)
SCENE_C = datetime(2021, 6, 1, 6, 30, 0, tzinfo=UTC)
CLASSES = ("VESSEL", "INFRA", "NATURAL")


@dataclass
class Rows:
    """Ids of what :func:`insert_rows` wrote."""

    scenes: dict[str, int] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    slicks: dict[str, list[int]] = field(default_factory=dict)
    """Public (active, oil) slick ids per scene."""
    hidden: list[int] = field(default_factory=list)
    """Slicks the slicks collection must not show (NOT_OIL subclass, inactive)."""
    confidence: dict[int, float] = field(default_factory=dict)
    klass: dict[int, str] = field(default_factory=dict)
    aoi: int = 0

    @property
    def public(self) -> list[int]:
        return sorted(i for ids in self.slicks.values() for i in ids)


def _scene(conn: Connection, scene_id: str, when: datetime, box: tuple[float, ...]) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO sentinel1_grd (scene_id, mission, mode, polarization, start_time, "
            "stop_time, footprint) VALUES (:sid, 'S1A', 'IW', 'DV', :t, :t + interval '25 s', "
            "footprint_polygon(ST_MakeEnvelope(:w, :s, :e, :n, 4326))) RETURNING id"
        ),
        {"sid": scene_id, "t": when, "w": box[0], "s": box[1], "e": box[2], "n": box[3]},
    ).scalar_one()


def _slick(
    conn: Connection,
    geometry: shapely.Geometry,
    *,
    run: int,
    when: datetime,
    klass: str,
    confidence: float,
    active: bool = True,
) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO slick (slick_timestamp, geometry, machine_confidence, orchestrator_run, "
            "slick_class, active) VALUES (:t, ST_GeomFromText(:wkt, 4326), :c, :run, "
            "(SELECT id FROM slick_class WHERE short_name = :cls), :active) RETURNING id"
        ),
        {
            "t": when,
            "wkt": geometry.wkt,
            "c": confidence,
            "run": run,
            "cls": klass,
            "active": active,
        },
    ).scalar_one()


def _box(lon: float, lat: float, dlon: float = 0.04, dlat: float = 0.01) -> shapely.Polygon:
    return shapely.box(lon, lat, lon + dlon, lat + dlat)


def insert_rows(conn: Connection) -> Rows:
    """Three scenes (A off North Carolina, B in the Mediterranean, C at the anti-meridian),
    one run each, 30 + 10 + 2 public slicks, two hidden ones, and an EEZ over part of A."""
    rows = Rows()
    model = conn.execute(
        sa.text(
            "INSERT INTO model (name, version, file_path, layers, class_map, thresholds, "
            "resolution_m, tile_size_px) VALUES ('unet', 'test', 'weights.pt', '{VV_DB}', "
            '\'{"1": "VESSEL"}\', \'{"seed": 0.7}\', 80, 512) RETURNING id'
        )
    ).scalar_one()
    scenes = {
        "A": (
            "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225824_035339_04216C_62EA",
            SCENE_A,
            (-76, 34, -73, 36),
        ),
        "B": (
            "S1A_IW_GRDH_1SDV_20210305T100000_20210305T100025_036900_045500_AAAA",
            SCENE_B,
            (10, 40, 13, 42),
        ),
        "C": (
            "S1A_IW_GRDH_1SDV_20210601T063000_20210601T063025_038100_047000_BBBB",
            SCENE_C,
            (178, -18, 179.99, -16),
        ),
    }
    for name, (scene_id, when, box) in scenes.items():
        rows.scenes[name] = _scene(conn, scene_id, when, box)
        rows.runs[name] = conn.execute(
            sa.text(
                "INSERT INTO orchestrator_run (sentinel1_grd, model, success, run_end) "
                "VALUES (:scene, :model, true, now()) RETURNING id"
            ),
            {"scene": rows.scenes[name], "model": model},
        ).scalar_one()
    plan = {"A": (30, -75.0, 35.0), "B": (10, 11.0, 41.0), "C": (2, 179.5, -17.0)}
    for name, (count, lon, lat) in plan.items():
        rows.slicks[name] = []
        when = scenes[name][1]
        for i in range(count):
            klass = CLASSES[i % 3]
            confidence = round(0.40 + 0.02 * i, 2)
            slick_id = _slick(
                conn,
                _box(lon + 0.05 * i, lat),
                run=rows.runs[name],
                when=when + timedelta(seconds=i % 20),
                klass=klass,
                confidence=confidence,
            )
            rows.slicks[name].append(slick_id)
            rows.confidence[slick_id] = confidence
            rows.klass[slick_id] = klass
    rows.hidden.append(
        _slick(
            conn, _box(-74.0, 35.5), run=rows.runs["A"], when=SCENE_A, klass="LAND", confidence=0.99
        )
    )
    rows.hidden.append(
        _slick(
            conn,
            _box(-74.0, 35.6),
            run=rows.runs["A"],
            when=SCENE_A,
            klass="VESSEL",
            confidence=0.99,
            active=False,
        )
    )
    rows.aoi = conn.execute(
        sa.text(
            "INSERT INTO aoi (type, name, ext_id, geometry) VALUES ("
            "(SELECT id FROM aoi_type WHERE short_name = 'EEZ'), 'Test EEZ', 'T1', "
            "ST_Multi(ST_MakeEnvelope(-75.1, 34.5, -74.4, 35.5, 4326))::geography) RETURNING id"
        )
    ).scalar_one()
    return rows
