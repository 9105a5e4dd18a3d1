"""The plan of a backfill: which scenes a STAC search finds, and what happens to each.

:func:`plan_backfill` searches the source (a STAC API or a static catalog) over an area and a
time range, runs every scene found through the relevancy filter, and looks up which relevant
scenes the model has already done. It writes nothing: ``slickwatch backfill --dry-run`` prints
it, and :func:`pipeline.backfill_run.run_backfill` carries it out.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pystac
import shapely
from shapely.geometry.base import BaseGeometry

from catalog.errors import CatalogError
from catalog.relevancy import check_relevancy
from catalog.search import search_scenes
from model.card import ModelCard
from model.errors import ModelError
from pipeline.backfill_errors import BackfillDatabaseError, BackfillError, BackfillParameterError

logger = logging.getLogger(__name__)

Action = Literal["run", "done", "irrelevant"]
"""What the plan does with a scene: run it, skip it as done by the model, or leave it out."""


@dataclass(frozen=True)
class Candidate:
    """One scene the search found, and what the plan does with it."""

    scene_id: str
    """The STAC item id (the Sentinel-1 product id)."""
    action: Action
    """``run``, ``done`` (a successful run of the same model exists) or ``irrelevant``."""
    reasons: tuple[str, ...] = ()
    """Why it is left out: the relevancy filter's reasons, or the run that did it."""
    item: pystac.Item | None = field(default=None, compare=False, repr=False)
    """The STAC item (what the run resolves)."""
    done_run: int | None = None
    """The successful ``orchestrator_run`` row of a ``done`` scene."""


@dataclass(frozen=True)
class BackfillModel:
    """The model a backfill runs, found before any scene is run."""

    card_path: Path
    """Its ``card.json``."""
    name: str
    """``model.name``."""
    version: str
    """``model.version``."""
    model_id: int | None
    """Its ``model`` row, when registered (``None``: registered at the start of the run)."""

    @property
    def label(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill would do: the search, the model, and one candidate per scene found."""

    source: str
    """The STAC API URL or static catalog searched."""
    search: dict[str, Any]
    """The search: ``bbox`` (W, S, E, N degrees), ``aoi`` (WKT, unless very long) and
    ``aoi_bounds``, ``datetime``, ``collections``."""
    model: BackfillModel
    """The model to run."""
    candidates: tuple[Candidate, ...]
    """Every scene found (once each), in start-time order."""

    def with_action(self, action: Action) -> list[Candidate]:
        """The candidates with this action."""
        return [c for c in self.candidates if c.action == action]

    @property
    def to_run(self) -> list[Candidate]:
        """The scenes the backfill runs."""
        return self.with_action("run")

    @property
    def found(self) -> int:
        """Scenes the search found (``trigger.scene_count``)."""
        return len(self.candidates)

    @property
    def relevant(self) -> int:
        """Scenes the relevancy filter kept (``trigger.filtered_scene_count``)."""
        return sum(c.action != "irrelevant" for c in self.candidates)

    def counts(self) -> dict[str, int]:
        """Candidates per action."""
        return dict(Counter(c.action for c in self.candidates))

    def describe(self) -> list[str]:
        """One line per scene: what happens to it and why (the dry run's listing)."""
        lines = []
        for c in self.candidates:
            if c.action == "run":
                lines.append(f"run     {c.scene_id}")
            elif c.action == "done":
                lines.append(f"done    {c.scene_id}: {'; '.join(c.reasons)}")
            else:
                lines.append(f"skip    {c.scene_id}: {'; '.join(c.reasons)}")
        return lines


def _time(value: date | datetime | str | None, *, name: str) -> str:
    if value is None:
        return ".."
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BackfillParameterError(
            f"--{name} {value!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ."
        ) from None
    return text if "T" in text else parsed.date().isoformat()


def time_range(
    start: date | datetime | str | None, end: date | datetime | str | None
) -> str | None:
    """The STAC ``datetime`` of a backfill: ``start/end``, whole days for dates, ``..`` for open.

    Raises:
        BackfillParameterError: a malformed date, or ``end`` before ``start``.
    """
    if start is None and end is None:
        return None
    lo, hi = _time(start, name="start"), _time(end, name="end")
    if lo != ".." and hi != "..":
        a = datetime.fromisoformat(lo.replace("Z", "+00:00"))
        b = datetime.fromisoformat(hi.replace("Z", "+00:00"))
        if (a.tzinfo is None) != (b.tzinfo is None):
            a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
        if b < a:
            raise BackfillParameterError(f"--end {hi} is before --start {lo}: swap them.")
    return f"{lo}/{hi}"


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``"W,S,E,N"`` (degrees) as four floats.

    Raises:
        BackfillParameterError: not four numbers in range.
    """
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        west, south, east, north = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise BackfillParameterError(
            f"--bbox {text!r} is not W,S,E,N: give four numbers in degrees, e.g. -91,26,-89,28."
        ) from None
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south < north <= 90):
        raise BackfillParameterError(
            f"--bbox {text!r} is not W,S,E,N in degrees (-180..180, -90..90, south < north); "
            "a west edge east of the east edge crosses the anti-meridian."
        )
    return west, south, east, north


def read_aoi(path: str | Path) -> BaseGeometry:
    """The union of the geometries of a vector file (GeoJSON, GeoPackage, shapefile), EPSG:4326.

    Raises:
        BackfillParameterError: unreadable, empty, or without polygons.
    """
    import geopandas as gpd

    path = Path(path)
    if not path.is_file():
        raise BackfillParameterError(f"--aoi {path}: no such file.")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise BackfillParameterError(
            f"--aoi {path} is not a readable vector file ({exc}): give GeoJSON or GeoPackage."
        ) from None
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geoms = frame.geometry.dropna()
    geoms = geoms[~geoms.is_empty & geoms.geom_type.isin(["Polygon", "MultiPolygon"])]
    if geoms.empty:
        raise BackfillParameterError(
            f"--aoi {path} holds no polygon: the area of a backfill is a (Multi)Polygon."
        )
    return shapely.make_valid(shapely.union_all(geoms.to_numpy()))


def resolve_backfill_model(
    model: str | Path | None, database_url: str | None = None
) -> BackfillModel:
    """The model a backfill runs: a card path, a registered ``name[:version]``, or the default.

    ``None`` means the newest registered model, else the shipped one (as for API jobs).

    Raises:
        BackfillError: the model cannot be found or read.
    """
    from model.registry import resolve_model

    try:
        if model is not None and Path(model).exists():
            card_path = Path(model)
            card_path = (card_path / "card.json" if card_path.is_dir() else card_path).resolve()
            card = ModelCard.load(card_path)
        elif database_url is not None:
            resolved = resolve_model(str(model) if model is not None else None, database_url)
            card, card_path = resolved.card, resolved.card_path
        elif model is None:
            from model.predictor import SHIPPED_DIR

            card_path = (SHIPPED_DIR / "card.json").resolve()
            card = ModelCard.load(card_path)
        else:
            raise BackfillError(
                f"--model {model!r} is neither a model card nor a folder holding one, and "
                "without a database no registered name can be looked up."
            )
    except ModelError as exc:
        raise BackfillError(f"Cannot use model {model or '(default)'}: {exc}") from exc
    model_id = None
    if database_url is not None:
        from pipeline.backfill_records import registered_model_id

        model_id = registered_model_id(database_url, name=card.name, version=card.version)
    return BackfillModel(
        card_path=card_path, name=card.name, version=card.version, model_id=model_id
    )


def check_migrated(database_url: str) -> None:
    """Make sure the database is migrated to the newest revision.

    Raises:
        BackfillDatabaseError: it is not (or cannot be reached).
    """
    from sqlalchemy.exc import DBAPIError

    from schema.migrate import current, heads

    try:
        revision = current(database_url)
    except DBAPIError as exc:
        raise BackfillDatabaseError(
            f"Cannot reach the database: {str(exc.orig or exc).strip().splitlines()[0]}. "
            "Check 'slickwatch db status', or SLICKWATCH_DATABASE_URL."
        ) from exc
    if revision not in heads():
        raise BackfillDatabaseError(
            f"The database is at revision {revision or 'none (empty)'}, not the newest: run "
            "'slickwatch db migrate' first."
        )


def _short_wkt(area: BaseGeometry | None, *, limit: int = 20_000) -> str | None:
    """The area's WKT for the trigger row, unless it is longer than ``limit`` characters."""
    if area is None:
        return None
    wkt = shapely.to_wkt(area, rounding_precision=6)
    return wkt if len(wkt) <= limit else None


def plan_backfill(
    source: str | Path,
    *,
    bbox: Sequence[float] | str | None = None,
    aoi: BaseGeometry | dict[str, Any] | str | Path | None = None,
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    collections: Sequence[str] | None = None,
    database_url: str | None = None,
    model: str | Path | BackfillModel | None = None,
) -> BackfillPlan:
    """Search, filter, and find what is done: what a backfill would do. Writes nothing.

    Args:
        source: a STAC API URL, or a static catalog (folder, ``catalog.json`` or its URL).
        bbox: ``W,S,E,N`` in degrees (a string or four numbers).
        aoi: the area as a geometry (shapely or GeoJSON, EPSG:4326) or a vector file; with
            ``bbox`` too, scenes must meet both.
        start, end: the time range (dates are whole days; ``None`` is open).
        collections: collection ids to search (default: all).
        database_url: the database to look up done scenes in; ``None``: every relevant scene
            is planned to run.
        model: a model card (file or folder), a registered ``name[:version]``, a resolved
            :class:`BackfillModel`, or ``None`` (newest registered, else shipped).

    Raises:
        BackfillParameterError: a malformed area, date range or source.
        BackfillDatabaseError: the database cannot be reached or is not migrated.
        BackfillError: the model cannot be found.
    """
    if bbox is None and aoi is None:
        raise BackfillParameterError("Give the area of the backfill: --bbox W,S,E,N or --aoi FILE.")
    box = parse_bbox(bbox) if bbox is not None else None
    area: BaseGeometry | None = None
    if isinstance(aoi, str | Path):
        area = read_aoi(aoi)
    elif isinstance(aoi, dict):
        area = shapely.geometry.shape(aoi.get("geometry", aoi))
    elif aoi is not None:
        area = aoi
    when = time_range(start, end)
    if database_url is not None:
        check_migrated(database_url)
    chosen = (
        model if isinstance(model, BackfillModel) else resolve_backfill_model(model, database_url)
    )
    try:
        # every mode and channel: the relevancy filter says why a scene is left out
        items = search_scenes(
            source,
            bbox=list(box) if box else None,
            intersects=area,
            datetime=when,
            collections=list(collections) if collections else None,
            mode=None,
            polarizations=(),
        )
    except CatalogError as exc:
        raise BackfillParameterError(str(exc)) from exc
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.id in seen:
            logger.debug("%s found twice (several collections); kept once", item.id)
            continue
        seen.add(item.id)
        unique.append(item)
    relevancy = {item.id: check_relevancy(item) for item in unique}
    relevant_ids = [i.id for i in unique if relevancy[i.id]]
    done: dict[str, int] = {}
    if database_url is not None and chosen.model_id is not None:
        from pipeline.backfill_records import done_scenes

        done = done_scenes(database_url, model_id=chosen.model_id, scene_ids=relevant_ids)
    candidates = []
    for item in unique:
        verdict = relevancy[item.id]
        if not verdict:
            candidates.append(Candidate(item.id, "irrelevant", verdict.reasons, item=item))
        elif item.id in done:
            reason = f"done by {chosen.label} in run {done[item.id]}"
            candidates.append(
                Candidate(item.id, "done", (reason,), item=item, done_run=done[item.id])
            )
        else:
            candidates.append(Candidate(item.id, "run", item=item))
    search = {
        "bbox": list(box) if box else None,
        "aoi": _short_wkt(area),
        "aoi_bounds": list(area.bounds) if area is not None else None,
        "datetime": when,
        "collections": list(collections) if collections else None,
    }
    plan = BackfillPlan(
        source=str(source), search=search, model=chosen, candidates=tuple(candidates)
    )
    logger.info(
        "backfill plan over %s: %d found, %d relevant, %s",
        source,
        plan.found,
        plan.relevant,
        plan.counts(),
    )
    return plan
