"""SQLAlchemy 2 models of the slickwatch database (GeoAlchemy2 for geometries).

The migrations in ``schema/migrations`` create exactly these tables; ``alembic check`` keeps the two
in step. Triggers, SQL functions and views live in the migrations (SQL), not here:

- ``slick`` rows get their geometry normalized to a MultiPolygon and their derived attributes
  (area, perimeter, centroid, Polsby-Popper, fill factor, length, part count, largest and median
  part area) computed by a trigger on INSERT and on UPDATE OF geometry, so SQL edits get them too;
  ``slick_to_aoi`` is filled by triggers on ``slick`` and ``aoi``; ``slick_class.not_oil`` (NOT_OIL
  and every class below it) by a trigger on ``slick_class``.
- views ``slick_plus`` (active slicks that are not NOT_OIL, with class names, scene id, scene
  footprint, AOI ids) and ``source_plus``; functions ``slick_history(id)``,
  ``get_slicks_by_aoi(aoi, start, end)``, ``get_slick_subclasses(id or short name)``,
  ``footprint_polygon(geometry)``.

Names follow the seed README and Cerulean: a foreign-key column is named after the table it
points to (``slick.orchestrator_run``, ``slick.slick_class``, ``orchestrator_run.model``).

Geometries are ``geography`` in EPSG:4326. ``slick.geometry`` is declared ``geography(Geometry)``
with a CHECK that it is a MultiPolygon: PostgreSQL enforces a column's type modifier *before* any
trigger runs, so a ``geography(MultiPolygon)`` column would reject the Polygon that the seed
README's merge SQL inserts (``ST_Union`` of two touching slicks); the trigger turns that Polygon
(or any polygonal collection) into a MultiPolygon, and the CHECK then holds every row to it.
"""

from __future__ import annotations

from datetime import datetime

import shapely
import sqlalchemy as sa
from geoalchemy2 import Geography, Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TRIGGER_TYPES = ("STAC_SEARCH", "HISTORICAL_RUN", "MANUAL", "API")
"""What started a batch of scenes (``trigger.trigger_type``)."""


class Base(DeclarativeBase):
    """Declarative base; constraint names follow :data:`NAMING_CONVENTION`."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _geography(kind: str) -> Geography:
    return Geography(geometry_type=kind, srid=4326, spatial_index=False)


def _now() -> sa.TextClause:
    return sa.text("now()")


class Layer(Base):
    """An input layer a model can read (``VV_DB``, ``VH_DB``, ...)."""

    __tablename__ = "layer"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    short_name: Mapped[str] = mapped_column(sa.Text, unique=True)
    long_name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    units: Mapped[str | None] = mapped_column(sa.Text)
    citation: Mapped[str | None] = mapped_column(sa.Text)
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    update_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class Model(Base):
    """A registered segmentation model: weights, inputs, class map, thresholds, metrics."""

    __tablename__ = "model"
    __table_args__ = (
        sa.UniqueConstraint("name", "version"),
        sa.CheckConstraint("resolution_m > 0", name="resolution_positive"),
        sa.CheckConstraint("tile_size_px > 0", name="tile_size_positive"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    file_path: Mapped[str] = mapped_column(sa.Text)
    file_hash: Mapped[str | None] = mapped_column(sa.Text)
    """SHA-256 of the weights file, hex."""
    layers: Mapped[list[str]] = mapped_column(ARRAY(sa.Text))
    """Short names of the input layers, in channel order."""
    class_map: Mapped[dict] = mapped_column(JSONB)
    """Network output index (as a string) to ``slick_class.short_name`` (or ``BACKGROUND``)."""
    thresholds: Mapped[dict] = mapped_column(JSONB)
    """Hysteresis thresholds and other post-processing parameters."""
    resolution_m: Mapped[float] = mapped_column(sa.Float)
    """Working resolution in metres per pixel."""
    tile_size_px: Mapped[int] = mapped_column(sa.Integer)
    metrics: Mapped[dict | None] = mapped_column(JSONB)
    meta: Mapped[dict | None] = mapped_column(JSONB)
    """Anything else of the model card."""
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class Sentinel1Grd(Base):
    """One Sentinel-1 GRD scene.

    ``footprint`` is a single Polygon on the sphere. A footprint that crosses the anti-meridian,
    which STAC (RFC 7946) splits into a MultiPolygon, is stored whole: set it with
    :func:`footprint_value` (SQL: ``footprint_polygon(geometry)``), which shifts the western part
    by 360 degrees, unions the parts and returns one geography Polygon (geography edges take the
    short way round). Inserting a MultiPolygon directly is refused by the column type.
    """

    __tablename__ = "sentinel1_grd"
    __table_args__ = (
        sa.CheckConstraint("stop_time >= start_time", name="stop_after_start"),
        sa.Index("ix_sentinel1_grd_footprint", "footprint", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    scene_id: Mapped[str] = mapped_column(sa.Text, unique=True)
    """Product identifier, e.g. ``S1A_IW_GRDH_1SDV_20201121T225759_..._62EA``."""
    mission: Mapped[str] = mapped_column(sa.Text)
    """``S1A``, ``S1B``, ``S1C``."""
    mode: Mapped[str] = mapped_column(sa.Text)
    """Beam mode: ``IW``, ``EW``, ``SM``, ``WV``."""
    product_type: Mapped[str | None] = mapped_column(sa.Text)
    """``GRDH``, ``GRDM``, ..."""
    polarization: Mapped[str] = mapped_column(sa.Text)
    """Polarization code of the product: ``DV`` (VV+VH), ``SV``, ``DH``, ``SH``."""
    absolute_orbit: Mapped[int | None] = mapped_column(sa.Integer)
    relative_orbit: Mapped[int | None] = mapped_column(sa.Integer)
    datatake_id: Mapped[str | None] = mapped_column(sa.Text)
    """Mission datatake identifier, hex (``04216C``)."""
    start_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    stop_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    footprint: Mapped[object] = mapped_column(_geography("POLYGON"))
    assets: Mapped[dict] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    """Asset key (``vv``, ``vh``, ``productInfo``, ...) to URL or path."""
    url: Mapped[str | None] = mapped_column(sa.Text)
    """Where the scene was found: a STAC item URL or a local path."""
    meta: Mapped[dict | None] = mapped_column(JSONB)
    simulated: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """True for scenes made by the SAR simulator."""
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


def footprint_value(footprint: shapely.Geometry) -> sa.ColumnElement:
    """The SQL value of :attr:`Sentinel1Grd.footprint` for a footprint in EPSG:4326.

    A MultiPolygon split at the anti-meridian becomes one Polygon (``footprint_polygon``)::

        session.add(Sentinel1Grd(..., footprint=footprint_value(scene.footprint)))
    """
    return sa.func.footprint_polygon(sa.func.ST_GeomFromWKB(shapely.to_wkb(footprint), 4326))


class Trigger(Base):
    """What started a batch of scenes: a STAC search, a backfill, a person, an API call."""

    __tablename__ = "trigger"
    __table_args__ = (
        sa.CheckConstraint(
            "trigger_type IN (" + ", ".join(f"'{t}'" for t in TRIGGER_TYPES) + ")",
            name="trigger_type_known",
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    trigger_time: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=_now(), index=True
    )
    trigger_type: Mapped[str] = mapped_column(sa.Text)
    """One of :data:`TRIGGER_TYPES`."""
    scene_count: Mapped[int | None] = mapped_column(sa.Integer)
    """Scenes found."""
    filtered_scene_count: Mapped[int | None] = mapped_column(sa.Integer)
    """Scenes kept by the relevancy filter."""
    parameters: Mapped[dict | None] = mapped_column(JSONB)
    """Area, dates, source and options of the search."""
    trigger_logs: Mapped[str | None] = mapped_column(sa.Text)


class OrchestratorRun(Base):
    """One run of one model on one scene: parameters, code version, timings, outcome."""

    __tablename__ = "orchestrator_run"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sentinel1_grd: Mapped[int] = mapped_column(sa.ForeignKey("sentinel1_grd.id"), index=True)
    model: Mapped[int] = mapped_column(sa.ForeignKey("model.id"), index=True)
    trigger: Mapped[int | None] = mapped_column(sa.ForeignKey("trigger.id"), index=True)
    run_start: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    run_end: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    parameters: Mapped[dict | None] = mapped_column(JSONB)
    """Inference parameters (resolution, chunk size, halo, thresholds, ...)."""
    code_version: Mapped[str | None] = mapped_column(sa.Text)
    success: Mapped[bool | None] = mapped_column(sa.Boolean)
    """``None`` while running, then whether it finished without error."""
    error: Mapped[str | None] = mapped_column(sa.Text)
    timings: Mapped[dict | None] = mapped_column(JSONB)
    """Seconds spent per step (load, infer, vectorize, stitch, store, ...)."""
    statistics: Mapped[dict | None] = mapped_column(JSONB)
    """Counts and sizes: pixels, chunks, polygons, slicks, ..."""


class SlickClass(Base):
    """Cerulean's class vocabulary, a tree: code refers to classes by ``short_name``, never id."""

    __tablename__ = "slick_class"
    __table_args__ = (sa.CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name="color_hex"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    short_name: Mapped[str] = mapped_column(sa.Text, unique=True)
    long_name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text)
    color: Mapped[str] = mapped_column(sa.Text)
    """Map colour, ``#rrggbb``."""
    parent: Mapped[int | None] = mapped_column(sa.ForeignKey("slick_class.id"))
    not_oil: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """NOT_OIL or a class below it; set by a trigger (migration 0005), never by hand."""


class Slick(Base):
    """A detected (or reviewed) slick. Reviews never edit a row: they deactivate it and insert a
    successor whose ``slick`` column lists its precursors."""

    __tablename__ = "slick"
    __table_args__ = (
        sa.CheckConstraint(
            "geometrytype(geometry) = 'MULTIPOLYGON'", name="geometry_is_multipolygon"
        ),
        sa.CheckConstraint("machine_confidence BETWEEN 0 AND 1", name="machine_confidence_range"),
        sa.CheckConstraint("human_confidence BETWEEN 0 AND 1", name="human_confidence_range"),
        sa.Index("ix_slick_geometry", "geometry", postgresql_using="gist"),
        sa.Index("ix_slick_geometry_3857", "geometry_3857", postgresql_using="gist"),
        # serves bbox (+ datetime) queries on slick_plus.geometry (migration 0005; btree_gist)
        sa.Index(
            "ix_slick_geometry_4326_time",
            sa.text("(geometry::geometry(MultiPolygon,4326))"),
            "slick_timestamp",
            postgresql_using="gist",
            postgresql_where=sa.text("active"),
        ),
        sa.Index("ix_slick_slick", "slick", postgresql_using="gin"),
        # pages of active slicks in id order, filtered by index-only scan (migration 0006)
        sa.Index(
            "ix_slick_active_id_cover",
            "id",
            postgresql_include=[
                "slick_class",
                "machine_confidence",
                "orchestrator_run",
                "slick_timestamp",
                "validated",
            ],
            postgresql_where=sa.text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    slick_timestamp: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    """Acquisition time of the scene the slick was seen in."""
    geometry: Mapped[object] = mapped_column(_geography("GEOMETRY"))
    """The outline, a MultiPolygon (see the module docstring for the declared type)."""
    machine_confidence: Mapped[float | None] = mapped_column(sa.Float, index=True)
    human_confidence: Mapped[float | None] = mapped_column(sa.Float)
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true(), index=True)
    """False once a review replaced this row."""
    validated: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    """True when a person reviewed it."""
    slick: Mapped[list[int] | None] = mapped_column(ARRAY(sa.BigInteger))
    """Ids of the precursor rows this one replaces (review history)."""
    notes: Mapped[str | None] = mapped_column(sa.Text)
    meta: Mapped[dict | list | None] = mapped_column(JSONB)
    orchestrator_run: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orchestrator_run.id"), index=True
    )
    slick_class: Mapped[int] = mapped_column(sa.ForeignKey("slick_class.id"), index=True)
    reviewer: Mapped[str | None] = mapped_column(sa.Text)
    """Who made this row by a review (``None`` for detections and plain SQL edits)."""
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())

    # derived by the trigger slick_derive (never set them yourself)
    area: Mapped[float | None] = mapped_column(sa.Float)
    """Area on the spheroid, m²."""
    perimeter: Mapped[float | None] = mapped_column(sa.Float)
    """Perimeter on the spheroid, m."""
    centroid: Mapped[object | None] = mapped_column(_geography("POINT"))
    polsby_popper: Mapped[float | None] = mapped_column(sa.Float)
    """4π·area/perimeter², 1 for a disc, near 0 for a thin line."""
    fill_factor: Mapped[float | None] = mapped_column(sa.Float)
    """Area over the area of the oriented (minimum-area) enclosing rectangle."""
    length: Mapped[float | None] = mapped_column(sa.Float)
    """Long side of the oriented enclosing rectangle, m (in a local equal-area projection)."""
    geometry_count: Mapped[int | None] = mapped_column(sa.Integer)
    largest_area: Mapped[float | None] = mapped_column(sa.Float)
    """Area of the largest part, m²."""
    median_area: Mapped[float | None] = mapped_column(sa.Float)
    """Median area of the parts, m²."""

    # generated for map clients (web mercator)
    geometry_3857: Mapped[object | None] = mapped_column(
        Geometry(geometry_type="MULTIPOLYGON", srid=3857, spatial_index=False),
        sa.Computed("st_transform((geometry)::geometry, 3857)", persisted=True),
    )
    centroid_3857: Mapped[object | None] = mapped_column(
        Geometry(geometry_type="POINT", srid=3857, spatial_index=False),
        sa.Computed("st_transform((centroid)::geometry, 3857)", persisted=True),
    )


class AoiType(Base):
    """A family of areas of interest: EEZ, IHO sea areas, MPA, user-drawn."""

    __tablename__ = "aoi_type"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    short_name: Mapped[str] = mapped_column(sa.Text, unique=True)
    long_name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    citation: Mapped[str | None] = mapped_column(sa.Text)
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    update_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class Aoi(Base):
    """An area of interest; ``slick_to_aoi`` links it to the slicks it intersects."""

    __tablename__ = "aoi"
    __table_args__ = (
        sa.UniqueConstraint("type", "ext_id"),
        sa.Index("ix_aoi_geometry", "geometry", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    type: Mapped[int] = mapped_column(sa.ForeignKey("aoi_type.id"), index=True)
    name: Mapped[str] = mapped_column(sa.Text)
    ext_id: Mapped[str | None] = mapped_column(sa.Text)
    """Identifier in the source data set (an EEZ's MRGID, a WDPA id, ...)."""
    geometry: Mapped[object] = mapped_column(_geography("MULTIPOLYGON"))
    properties: Mapped[dict | None] = mapped_column(JSONB)
    owner: Mapped[str | None] = mapped_column(sa.Text)
    """For USER areas: the API key name that made it."""
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class SlickToAoi(Base):
    """Which areas of interest a slick intersects (kept by triggers on ``slick`` and ``aoi``)."""

    __tablename__ = "slick_to_aoi"

    slick: Mapped[int] = mapped_column(
        sa.ForeignKey("slick.id", ondelete="CASCADE"), primary_key=True
    )
    aoi: Mapped[int] = mapped_column(
        sa.ForeignKey("aoi.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SourceType(Base):
    """A kind of potential polluter: VESSEL, INFRA, DARK, NATURAL."""

    __tablename__ = "source_type"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    short_name: Mapped[str] = mapped_column(sa.Text, unique=True)
    long_name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    citation: Mapped[str | None] = mapped_column(sa.Text)


class Source(Base):
    """A potential polluter, identified in an external data set (an MMSI, an infrastructure id)."""

    __tablename__ = "source"
    __table_args__ = (sa.UniqueConstraint("type", "ext_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    type: Mapped[int] = mapped_column(sa.ForeignKey("source_type.id"), index=True)
    ext_id: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class SourceInfra(Base):
    """Details of an offshore-infrastructure source."""

    __tablename__ = "source_infra"
    __table_args__ = (sa.Index("ix_source_infra_geometry", "geometry", postgresql_using="gist"),)

    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    geometry: Mapped[object] = mapped_column(_geography("POINT"))
    structure_type: Mapped[str | None] = mapped_column(sa.Text)
    operator: Mapped[str | None] = mapped_column(sa.Text)
    first_seen: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    properties: Mapped[dict | None] = mapped_column(JSONB)


class SourceVessel(Base):
    """Details of a vessel source."""

    __tablename__ = "source_vessel"

    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    mmsi: Mapped[str | None] = mapped_column(sa.Text, index=True)
    imo: Mapped[str | None] = mapped_column(sa.Text)
    flag: Mapped[str | None] = mapped_column(sa.Text)
    shiptype: Mapped[str | None] = mapped_column(sa.Text)
    length_m: Mapped[float | None] = mapped_column(sa.Float)
    properties: Mapped[dict | None] = mapped_column(JSONB)


class SlickToSource(Base):
    """A candidate source of a slick, with its association scores and its human review."""

    __tablename__ = "slick_to_source"
    __table_args__ = (sa.UniqueConstraint("slick", "source"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    slick: Mapped[int] = mapped_column(sa.ForeignKey("slick.id", ondelete="CASCADE"), index=True)
    source: Mapped[int] = mapped_column(sa.ForeignKey("source.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    coincidence_score: Mapped[float | None] = mapped_column(sa.Float)
    collision_risk: Mapped[float | None] = mapped_column(sa.Float)
    rank: Mapped[int | None] = mapped_column(sa.Integer)
    geojson_fc: Mapped[dict | None] = mapped_column(JSONB)
    """The evidence as a GeoJSON FeatureCollection (an AIS track, an infrastructure point)."""
    geometry: Mapped[object | None] = mapped_column(_geography("GEOMETRY"))
    code_version: Mapped[str | None] = mapped_column(sa.Text)
    hitl_verification: Mapped[bool | None] = mapped_column(sa.Boolean)
    hitl_confidence: Mapped[float | None] = mapped_column(sa.Float)
    hitl_user: Mapped[str | None] = mapped_column(sa.Text)
    hitl_time: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    hitl_notes: Mapped[str | None] = mapped_column(sa.Text)
    create_time: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())


class ApiKey(Base):
    """An API key of the service. Only a SHA-256 of the key is kept; the key is shown once."""

    __tablename__ = "api_key"
    __table_args__ = (
        sa.Index(
            "uq_api_key_name_unrevoked",
            "name",
            unique=True,
            postgresql_where=sa.text("revoked IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    """Who or what holds the key."""
    key_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    """Hex SHA-256 of the key."""
    key_prefix: Mapped[str] = mapped_column(sa.Text)
    """First characters of the key, to recognise it in listings."""
    scopes: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default=sa.text("'{}'"))
    """What the key may do (``review``, ``orchestrate``, ``admin``, ...)."""
    created: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now())
    revoked: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
