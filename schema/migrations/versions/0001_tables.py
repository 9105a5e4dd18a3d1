"""Tables and indexes of the slickwatch database.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 00:30:31
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography, Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "aoi_type",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("long_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column(
            "update_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aoi_type")),
        sa.UniqueConstraint("short_name", name=op.f("uq_aoi_type_short_name")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("key_prefix", sa.Text(), nullable=False),
        sa.Column(
            "scopes", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_index(
        "uq_api_key_name_unrevoked",
        "api_key",
        ["name"],
        unique=True,
        postgresql_where=sa.text("revoked IS NULL"),
    )
    op.create_table(
        "layer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("long_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("units", sa.Text(), nullable=True),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column(
            "update_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer")),
        sa.UniqueConstraint("short_name", name=op.f("uq_layer_short_name")),
    )
    op.create_table(
        "model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("file_hash", sa.Text(), nullable=True),
        sa.Column("layers", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("class_map", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("thresholds", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("resolution_m", sa.Float(), nullable=False),
        sa.Column("tile_size_px", sa.Integer(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("resolution_m > 0", name=op.f("ck_model_resolution_positive")),
        sa.CheckConstraint("tile_size_px > 0", name=op.f("ck_model_tile_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_model_name_version")),
    )
    op.create_geospatial_table(
        "sentinel1_grd",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scene_id", sa.Text(), nullable=False),
        sa.Column("mission", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("product_type", sa.Text(), nullable=True),
        sa.Column("polarization", sa.Text(), nullable=False),
        sa.Column("absolute_orbit", sa.Integer(), nullable=True),
        sa.Column("relative_orbit", sa.Integer(), nullable=True),
        sa.Column("datatake_id", sa.Text(), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "footprint",
            Geography(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "assets",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("simulated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "stop_time >= start_time", name=op.f("ck_sentinel1_grd_stop_after_start")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentinel1_grd")),
        sa.UniqueConstraint("scene_id", name=op.f("uq_sentinel1_grd_scene_id")),
    )
    op.create_geospatial_index(
        "ix_sentinel1_grd_footprint",
        "sentinel1_grd",
        ["footprint"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_sentinel1_grd_start_time"), "sentinel1_grd", ["start_time"], unique=False
    )
    op.create_table(
        "slick_class",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("long_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("color", sa.Text(), nullable=False),
        sa.Column("parent", sa.Integer(), nullable=True),
        sa.CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name=op.f("ck_slick_class_color_hex")),
        sa.ForeignKeyConstraint(
            ["parent"], ["slick_class.id"], name=op.f("fk_slick_class_parent_slick_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slick_class")),
        sa.UniqueConstraint("short_name", name=op.f("uq_slick_class_short_name")),
    )
    op.create_table(
        "source_type",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("short_name", sa.Text(), nullable=False),
        sa.Column("long_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_type")),
        sa.UniqueConstraint("short_name", name=op.f("uq_source_type_short_name")),
    )
    op.create_table(
        "trigger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "trigger_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("trigger_type", sa.Text(), nullable=False),
        sa.Column("scene_count", sa.Integer(), nullable=True),
        sa.Column("filtered_scene_count", sa.Integer(), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("trigger_logs", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "trigger_type IN ('STAC_SEARCH', 'HISTORICAL_RUN', 'MANUAL', 'API')",
            name=op.f("ck_trigger_trigger_type_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger")),
    )
    op.create_index(op.f("ix_trigger_trigger_time"), "trigger", ["trigger_time"], unique=False)
    op.create_geospatial_table(
        "aoi",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ext_id", sa.Text(), nullable=True),
        sa.Column(
            "geometry",
            Geography(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["type"], ["aoi_type.id"], name=op.f("fk_aoi_type_aoi_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aoi")),
        sa.UniqueConstraint("type", "ext_id", name=op.f("uq_aoi_type_ext_id")),
    )
    op.create_geospatial_index(
        "ix_aoi_geometry",
        "aoi",
        ["geometry"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_aoi_type"), "aoi", ["type"], unique=False)
    op.create_table(
        "orchestrator_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sentinel1_grd", sa.Integer(), nullable=False),
        sa.Column("model", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.Integer(), nullable=True),
        sa.Column(
            "run_start", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("run_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("code_version", sa.Text(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("timings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("statistics", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["model"], ["model.id"], name=op.f("fk_orchestrator_run_model_model")
        ),
        sa.ForeignKeyConstraint(
            ["sentinel1_grd"],
            ["sentinel1_grd.id"],
            name=op.f("fk_orchestrator_run_sentinel1_grd_sentinel1_grd"),
        ),
        sa.ForeignKeyConstraint(
            ["trigger"], ["trigger.id"], name=op.f("fk_orchestrator_run_trigger_trigger")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orchestrator_run")),
    )
    op.create_index(op.f("ix_orchestrator_run_model"), "orchestrator_run", ["model"], unique=False)
    op.create_index(
        op.f("ix_orchestrator_run_sentinel1_grd"),
        "orchestrator_run",
        ["sentinel1_grd"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orchestrator_run_trigger"), "orchestrator_run", ["trigger"], unique=False
    )
    op.create_table(
        "source",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("ext_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["type"], ["source_type.id"], name=op.f("fk_source_type_source_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("type", "ext_id", name=op.f("uq_source_type_ext_id")),
    )
    op.create_index(op.f("ix_source_type"), "source", ["type"], unique=False)
    op.create_geospatial_table(
        "slick",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("slick_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "geometry",
            Geography(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("machine_confidence", sa.Float(), nullable=True),
        sa.Column("human_confidence", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("validated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("slick", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("orchestrator_run", sa.Integer(), nullable=True),
        sa.Column("slick_class", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("area", sa.Float(), nullable=True),
        sa.Column("perimeter", sa.Float(), nullable=True),
        sa.Column(
            "centroid",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("polsby_popper", sa.Float(), nullable=True),
        sa.Column("fill_factor", sa.Float(), nullable=True),
        sa.Column("length", sa.Float(), nullable=True),
        sa.Column("geometry_count", sa.Integer(), nullable=True),
        sa.Column("largest_area", sa.Float(), nullable=True),
        sa.Column("median_area", sa.Float(), nullable=True),
        sa.Column(
            "geometry_3857",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=3857,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            sa.Computed("st_transform((geometry)::geometry, 3857)", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "centroid_3857",
            Geometry(
                geometry_type="POINT",
                srid=3857,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            sa.Computed("st_transform((centroid)::geometry, 3857)", persisted=True),
            nullable=True,
        ),
        sa.CheckConstraint(
            "geometrytype(geometry) = 'MULTIPOLYGON'",
            name=op.f("ck_slick_geometry_is_multipolygon"),
        ),
        sa.CheckConstraint(
            "human_confidence BETWEEN 0 AND 1", name=op.f("ck_slick_human_confidence_range")
        ),
        sa.CheckConstraint(
            "machine_confidence BETWEEN 0 AND 1", name=op.f("ck_slick_machine_confidence_range")
        ),
        sa.ForeignKeyConstraint(
            ["orchestrator_run"],
            ["orchestrator_run.id"],
            name=op.f("fk_slick_orchestrator_run_orchestrator_run"),
        ),
        sa.ForeignKeyConstraint(
            ["slick_class"], ["slick_class.id"], name=op.f("fk_slick_slick_class_slick_class")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slick")),
    )
    op.create_index(op.f("ix_slick_active"), "slick", ["active"], unique=False)
    op.create_geospatial_index(
        "ix_slick_geometry",
        "slick",
        ["geometry"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "ix_slick_geometry_3857",
        "slick",
        ["geometry_3857"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_slick_machine_confidence"), "slick", ["machine_confidence"], unique=False
    )
    op.create_index(op.f("ix_slick_orchestrator_run"), "slick", ["orchestrator_run"], unique=False)
    op.create_index("ix_slick_slick", "slick", ["slick"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_slick_slick_class"), "slick", ["slick_class"], unique=False)
    op.create_index(op.f("ix_slick_slick_timestamp"), "slick", ["slick_timestamp"], unique=False)
    op.create_geospatial_table(
        "source_infra",
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geometry",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("structure_type", sa.Text(), nullable=True),
        sa.Column("operator", sa.Text(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_source_infra_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_infra")),
    )
    op.create_geospatial_index(
        "ix_source_infra_geometry",
        "source_infra",
        ["geometry"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "source_vessel",
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.Column("mmsi", sa.Text(), nullable=True),
        sa.Column("imo", sa.Text(), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("shiptype", sa.Text(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_source_vessel_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_vessel")),
    )
    op.create_index(op.f("ix_source_vessel_mmsi"), "source_vessel", ["mmsi"], unique=False)
    op.create_table(
        "slick_to_aoi",
        sa.Column("slick", sa.BigInteger(), nullable=False),
        sa.Column("aoi", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["aoi"], ["aoi.id"], name=op.f("fk_slick_to_aoi_aoi_aoi"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["slick"], ["slick.id"], name=op.f("fk_slick_to_aoi_slick_slick"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("slick", "aoi", name=op.f("pk_slick_to_aoi")),
    )
    op.create_index(op.f("ix_slick_to_aoi_aoi"), "slick_to_aoi", ["aoi"], unique=False)
    op.create_geospatial_table(
        "slick_to_source",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("slick", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("coincidence_score", sa.Float(), nullable=True),
        sa.Column("collision_risk", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("geojson_fc", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "geometry",
            Geography(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("code_version", sa.Text(), nullable=True),
        sa.Column("hitl_verification", sa.Boolean(), nullable=True),
        sa.Column("hitl_confidence", sa.Float(), nullable=True),
        sa.Column("hitl_user", sa.Text(), nullable=True),
        sa.Column("hitl_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hitl_notes", sa.Text(), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["slick"], ["slick.id"], name=op.f("fk_slick_to_source_slick_slick"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source"],
            ["source.id"],
            name=op.f("fk_slick_to_source_source_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slick_to_source")),
        sa.UniqueConstraint("slick", "source", name=op.f("uq_slick_to_source_slick_source")),
    )
    op.create_index(op.f("ix_slick_to_source_slick"), "slick_to_source", ["slick"], unique=False)
    op.create_index(op.f("ix_slick_to_source_source"), "slick_to_source", ["source"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_slick_to_source_source"), table_name="slick_to_source")
    op.drop_index(op.f("ix_slick_to_source_slick"), table_name="slick_to_source")
    op.drop_geospatial_table("slick_to_source")
    op.drop_index(op.f("ix_slick_to_aoi_aoi"), table_name="slick_to_aoi")
    op.drop_table("slick_to_aoi")
    op.drop_index(op.f("ix_source_vessel_mmsi"), table_name="source_vessel")
    op.drop_table("source_vessel")
    op.drop_geospatial_index(
        "ix_source_infra_geometry",
        table_name="source_infra",
        postgresql_using="gist",
        column_name="geometry",
    )
    op.drop_geospatial_table("source_infra")
    op.drop_index(op.f("ix_slick_slick_timestamp"), table_name="slick")
    op.drop_index(op.f("ix_slick_slick_class"), table_name="slick")
    op.drop_index("ix_slick_slick", table_name="slick", postgresql_using="gin")
    op.drop_index(op.f("ix_slick_orchestrator_run"), table_name="slick")
    op.drop_index(op.f("ix_slick_machine_confidence"), table_name="slick")
    op.drop_geospatial_index(
        "ix_slick_geometry_3857",
        table_name="slick",
        postgresql_using="gist",
        column_name="geometry_3857",
    )
    op.drop_geospatial_index(
        "ix_slick_geometry", table_name="slick", postgresql_using="gist", column_name="geometry"
    )
    op.drop_index(op.f("ix_slick_active"), table_name="slick")
    op.drop_geospatial_table("slick")
    op.drop_index(op.f("ix_source_type"), table_name="source")
    op.drop_table("source")
    op.drop_index(op.f("ix_orchestrator_run_trigger"), table_name="orchestrator_run")
    op.drop_index(op.f("ix_orchestrator_run_sentinel1_grd"), table_name="orchestrator_run")
    op.drop_index(op.f("ix_orchestrator_run_model"), table_name="orchestrator_run")
    op.drop_table("orchestrator_run")
    op.drop_index(op.f("ix_aoi_type"), table_name="aoi")
    op.drop_geospatial_index(
        "ix_aoi_geometry", table_name="aoi", postgresql_using="gist", column_name="geometry"
    )
    op.drop_geospatial_table("aoi")
    op.drop_index(op.f("ix_trigger_trigger_time"), table_name="trigger")
    op.drop_table("trigger")
    op.drop_table("source_type")
    op.drop_table("slick_class")
    op.drop_index(op.f("ix_sentinel1_grd_start_time"), table_name="sentinel1_grd")
    op.drop_geospatial_index(
        "ix_sentinel1_grd_footprint",
        table_name="sentinel1_grd",
        postgresql_using="gist",
        column_name="footprint",
    )
    op.drop_geospatial_table("sentinel1_grd")
    op.drop_table("model")
    op.drop_table("layer")
    op.drop_index(
        "uq_api_key_name_unrevoked",
        table_name="api_key",
        postgresql_where=sa.text("revoked IS NULL"),
    )
    op.drop_table("api_key")
    op.drop_table("aoi_type")
