"""The ORM models and session helpers, as the pipeline and the service use them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
import sqlalchemy as sa
from geoalchemy2.shape import from_shape, to_shape

from schema.database import engine_for, session_scope
from schema.models import (
    Model,
    OrchestratorRun,
    Sentinel1Grd,
    Slick,
    SlickClass,
    footprint_value,
)

NOW = datetime(2023, 5, 23, 22, 40, 49, tzinfo=UTC)


def test_store_a_scene_run_and_slick_with_the_orm(database_url: str) -> None:
    split_footprint = shapely.MultiPolygon(
        [shapely.box(179, -16, 180, -15), shapely.box(-180, -16, -179.5, -15)]
    )
    with session_scope(database_url) as session:
        scene = Sentinel1Grd(
            scene_id="S1A_IW_GRDH_1SDV_20230523T224049_20230523T224114_048667_05DA7A_91D1",
            mission="S1A",
            mode="IW",
            polarization="DV",
            absolute_orbit=48667,
            datatake_id="05DA7A",
            start_time=NOW,
            stop_time=NOW,
            footprint=footprint_value(split_footprint),
            assets={"vv": "s3://bucket/vv.tif"},
        )
        model = Model(
            name="unet",
            version="1",
            file_path="model/weights.pt",
            layers=["VV_DB"],
            class_map={"1": "ANTHRO"},
            thresholds={"seed": 0.7, "grow": 0.4},
            resolution_m=80.0,
            tile_size_px=512,
        )
        session.add_all([scene, model])
        session.flush()
        run = OrchestratorRun(sentinel1_grd=scene.id, model=model.id, code_version="abc123")
        session.add(run)
        session.flush()
        vessel = session.scalar(sa.select(SlickClass.id).where(SlickClass.short_name == "VESSEL"))
        slick = Slick(
            slick_timestamp=NOW,
            geometry=from_shape(shapely.box(179.5, -15.6, 179.52, -15.59), srid=4326),
            machine_confidence=0.93,
            orchestrator_run=run.id,
            slick_class=vessel,
            meta={"centerline_length_m": 2100.0},
        )
        session.add(slick)
        session.flush()
        session.refresh(slick)
        session.refresh(scene)
        assert slick.geometry_count == 1 and slick.area > 0
        assert to_shape(slick.geometry).geom_type == "MultiPolygon"
        assert to_shape(scene.footprint).geom_type == "Polygon"
        assert scene.simulated is False and run.success is None
        slick_id = slick.id
    with engine_for(database_url).connect() as conn:
        row = conn.execute(
            sa.text("SELECT scene_id, model_name FROM slick_plus WHERE id = :id"), {"id": slick_id}
        ).one()
    assert row.model_name == "unet" and row.scene_id.endswith("_91D1")


def test_session_scope_rolls_back_on_error(database_url: str) -> None:
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        session.add(
            Model(
                name="never",
                version="0",
                file_path="x",
                layers=[],
                class_map={},
                thresholds={},
                resolution_m=80,
                tile_size_px=256,
            )
        )
        session.flush()
        raise RuntimeError("boom")
    with session_scope(database_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Model)) == 0


def test_engines_are_shared_per_url(database_url: str) -> None:
    assert engine_for(database_url) is engine_for(database_url)
    assert engine_for(database_url).pool._pre_ping
