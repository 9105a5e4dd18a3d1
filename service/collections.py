"""The OGC API collections: what each one serves, as a SQL ``SELECT`` over the slickwatch schema.

Each collection is one :class:`CollectionSpec`: a name, its texts for the landing page, and a
function that builds the SQLAlchemy ``SELECT`` its rows come from. Every select has an ``id``
column, at most one geometry column named ``geometry`` (``geometry(..., 4326)``, never
``geography``: PostGIS's geography type has no envelope intersection with a ``geometry`` bbox and
OGC clients expect planar lon/lat), and plain JSON-able columns.

- ``slicks``: the ``slick_plus`` view (active oil slicks, with class, scene, model and AOIs).
- ``scenes``: ``sentinel1_grd`` with the footprint as geometry.
- ``runs`` (restricted: an API key with the ``read`` scope): ``orchestrator_run`` with the scene's
  footprint, scene id, model name and the count of active slicks it produced.
- ``aois``: areas of interest with their type.
- ``classes`` and ``models``: the class vocabulary and the registered models (no geometry).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import Engine

from schema import models as m

RESTRICTED_SCOPE = "read"
"""Scope an API key needs to read restricted collections."""


@dataclass(frozen=True)
class CollectionSpec:
    """One collection of the OGC API."""

    name: str
    """Collection id in URLs (``/collections/<name>``)."""
    title: str
    """Human title."""
    description: str
    """One paragraph for the landing page and the OpenAPI document."""
    keywords: tuple[str, ...]
    """Keywords for catalogues."""
    select: Callable[[Engine], sa.Select]
    """Builds the ``SELECT`` of the rows (given the engine, for views it must reflect)."""
    time_field: str | None = None
    """Column the ``datetime`` parameter filters on (``None``: no temporal filter)."""
    has_geometry: bool = True
    """Whether the select has a ``geometry`` column."""
    restricted: bool = False
    """Whether reading items needs an API key with :data:`RESTRICTED_SCOPE`."""
    title_field: str | None = None
    """Column shown as the item's title in HTML pages."""


def _geometry(expression: sa.ColumnElement, kind: str) -> sa.ColumnElement:
    return sa.cast(expression, Geometry(kind, srid=4326, spatial_index=False)).label("geometry")


@functools.cache
def _reflect_view(engine: Engine, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=engine)


def _slicks(engine: Engine) -> sa.Select:
    # the scene footprint (GeoJSON) would double each slick's size; it is in ``scenes``
    view = _reflect_view(engine, "slick_plus")
    return sa.select(*(c for c in view.c if c.name != "scene_footprint"))


def _scenes(engine: Engine) -> sa.Select:
    g = m.Sentinel1Grd
    return sa.select(
        g.id,
        g.scene_id,
        g.mission,
        g.mode,
        g.product_type,
        g.polarization,
        g.absolute_orbit,
        g.relative_orbit,
        g.datatake_id,
        g.start_time,
        g.stop_time,
        g.url,
        g.simulated,
        g.create_time,
        _geometry(g.footprint, "POLYGON"),
    )


def _runs(engine: Engine) -> sa.Select:
    r, g, model = m.OrchestratorRun, m.Sentinel1Grd, m.Model
    slick_count = (
        sa.select(sa.func.count())
        .select_from(m.Slick)
        .where(m.Slick.orchestrator_run == r.id, m.Slick.active)
        .scalar_subquery()
        .label("slick_count")
    )
    return (
        sa.select(
            r.id,
            r.sentinel1_grd,
            g.scene_id,
            r.model,
            model.name.label("model_name"),
            model.version.label("model_version"),
            r.trigger,
            r.run_start,
            r.run_end,
            r.success,
            r.error,
            r.code_version,
            r.parameters,
            r.timings,
            r.statistics,
            slick_count,
            _geometry(g.footprint, "POLYGON"),
        )
        .select_from(r)
        .join(g, g.id == r.sentinel1_grd)
        .join(model, model.id == r.model)
    )


def _aois(engine: Engine) -> sa.Select:
    a, t = m.Aoi, m.AoiType
    return (
        sa.select(
            a.id,
            t.short_name.label("aoi_type"),
            a.name,
            a.ext_id,
            a.properties,
            a.owner,
            a.create_time,
            _geometry(a.geometry, "MULTIPOLYGON"),
        )
        .select_from(a)
        .join(t, t.id == a.type)
    )


def _classes(engine: Engine) -> sa.Select:
    c = m.SlickClass
    return sa.select(c.id, c.short_name, c.long_name, c.description, c.color, c.parent)


def _models(engine: Engine) -> sa.Select:
    x = m.Model
    return sa.select(
        x.id,
        x.name,
        x.version,
        x.description,
        x.file_hash,
        x.layers,
        x.class_map,
        x.thresholds,
        x.resolution_m,
        x.tile_size_px,
        x.metrics,
        x.create_time,
    )


COLLECTIONS: dict[str, CollectionSpec] = {
    spec.name: spec
    for spec in (
        CollectionSpec(
            name="slicks",
            title="Oil slicks",
            description=(
                "Active oil slicks detected in Sentinel-1 scenes (reviewed or not), with their "
                "class, machine and human confidence, scene, model, areas of interest and shape "
                "attributes (areas in m², lengths in m). Slicks classified NOT_OIL are left out."
            ),
            keywords=("oil slick", "Sentinel-1", "SAR", "pollution"),
            select=_slicks,
            time_field="slick_timestamp",
            title_field="class_short_name",
        ),
        CollectionSpec(
            name="scenes",
            title="Sentinel-1 scenes",
            description="Sentinel-1 GRD scenes known to slickwatch, with their footprints.",
            keywords=("Sentinel-1", "GRD", "footprint"),
            select=_scenes,
            time_field="start_time",
            title_field="scene_id",
        ),
        CollectionSpec(
            name="runs",
            title="Detection runs",
            description=(
                "One row per run of a model on a scene: parameters, code version, timings, "
                "outcome and the number of active slicks it produced; geometry is the scene "
                "footprint. Needs an API key with the 'read' scope."
            ),
            keywords=("provenance",),
            select=_runs,
            time_field="run_start",
            restricted=True,
            title_field="scene_id",
        ),
        CollectionSpec(
            name="aois",
            title="Areas of interest",
            description="Areas of interest (EEZ, sea areas, protected areas, user areas).",
            keywords=("area of interest", "EEZ", "MPA"),
            select=_aois,
            title_field="name",
        ),
        CollectionSpec(
            name="classes",
            title="Slick classes",
            description="The class vocabulary of slicks, a tree (parent ids), with map colours.",
            keywords=("classification",),
            select=_classes,
            has_geometry=False,
            title_field="short_name",
        ),
        CollectionSpec(
            name="models",
            title="Models",
            description="Registered segmentation models: inputs, classes, thresholds, metrics.",
            keywords=("model", "segmentation"),
            select=_models,
            has_geometry=False,
            title_field="name",
        ),
    )
}
"""Every collection of the service, by name."""


def restricted_collections() -> frozenset[str]:
    """Names of the collections whose items need an API key."""
    return frozenset(name for name, spec in COLLECTIONS.items() if spec.restricted)
