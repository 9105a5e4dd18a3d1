"""Review operations on slicks: validate, reclassify, merge, split, note, and history.

Each operation is the Python form of one "human in the loop" SQL snippet of the seed README, run as
one transaction: the slicks it touches are locked (``FOR UPDATE NOWAIT``), checked (they exist, they
are active), deactivated, and replaced by new rows whose ``slick`` column lists their precursors.
Rows are never edited in place, so ``slick_history(id)`` (and :func:`history`) can always walk back.

The new rows are ``validated`` (a person looked at them), carry the ``reviewer`` and, when given,
the ``human_confidence`` (else the precursor's). Classes are named by ``slick_class.short_name``.

Errors (all :class:`~schema.errors.ReviewError`, raised before anything is written):
:class:`~schema.errors.UnknownSlick`, :class:`~schema.errors.InactiveSlick` (names the successor
to review instead), :class:`~schema.errors.ReviewConflict` (another reviewer holds the slick right
now), :class:`~schema.errors.InvalidReview` (bad class, confidence or geometry).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import shapely
import shapely.errors
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from schema.database import engine_for
from schema.errors import InactiveSlick, InvalidReview, ReviewConflict, UnknownSlick

log = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of ``FOR UPDATE NOWAIT`` on a row another transaction holds."""

PART_TOLERANCE = 1e-6
"""Relative area (of a part) that may lie outside the original or overlap another part."""

_COPY_COLUMNS = (
    "slick_timestamp, geometry, machine_confidence, human_confidence, active, validated, slick, "
    "notes, meta, orchestrator_run, slick_class, reviewer"
)


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a slick's lineage, as ``slick_history(id)`` returns it."""

    id: int
    """The slick row."""
    depth: int
    """0 for the slick asked about, 1 for its precursors, 2 for theirs, ..."""
    create_time: datetime
    """When this row was written (detection or review)."""
    slick_timestamp: datetime
    """Acquisition time of the scene."""
    active: bool
    """Whether this row is current (not replaced by a review)."""
    validated: bool
    """Whether a person reviewed it."""
    slick_class: str
    """Class short name."""
    machine_confidence: float | None
    """The model's confidence, 0-1."""
    human_confidence: float | None
    """The reviewer's confidence, 0-1."""
    notes: str | None
    """Free text."""
    reviewer: str | None
    """Who wrote this row by a review."""
    precursors: tuple[int, ...]
    """Ids of the rows this one replaced."""
    area: float | None
    """Area, m²."""


def _engine(db: Engine | str | None) -> Engine:
    return db if isinstance(db, Engine) else engine_for(db)


def _check_confidence(value: float | None) -> None:
    if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
        raise InvalidReview(f"human_confidence must be a number from 0 to 1, not {value!r}.")


def _class_id(conn: Connection, short_name: str | None) -> int | None:
    if short_name is None:
        return None
    found = conn.execute(
        sa.text("SELECT id FROM slick_class WHERE short_name = :name"), {"name": short_name}
    ).scalar_one_or_none()
    if found is None:
        names = conn.execute(sa.text("SELECT short_name FROM slick_class ORDER BY id")).scalars()
        raise InvalidReview(f"Unknown slick class {short_name!r}. Use one of: {', '.join(names)}.")
    return int(found)


def _lock(conn: Connection, ids: Sequence[int]) -> dict[int, sa.Row]:
    """Lock the rows of ``ids``; make sure all exist and are active."""
    try:
        rows = conn.execute(
            sa.text(
                "SELECT id, active, slick_class FROM slick WHERE id = ANY(:ids) "
                "ORDER BY id FOR UPDATE NOWAIT"
            ),
            {"ids": list(ids)},
        ).all()
    except DBAPIError as exc:
        code = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
        if code == LOCK_NOT_AVAILABLE:
            raise ReviewConflict(
                f"Slick {', '.join(map(str, ids))} is being reviewed by someone else right now. "
                "Nothing was changed; look at its history and try again in a moment."
            ) from exc
        raise
    found = {int(row.id): row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownSlick(f"No slick with id {', '.join(map(str, missing))}. Nothing was changed.")
    for slick_id in ids:
        if not found[slick_id].active:
            successors = conn.execute(
                sa.text("SELECT id FROM slick WHERE :id = ANY(slick) ORDER BY id"),
                {"id": slick_id},
            ).scalars()
            later = ", ".join(map(str, successors)) or "none"
            raise InactiveSlick(
                f"Slick {slick_id} is no longer active: a review replaced it (by {later}). "
                "Nothing was changed; review the active slick instead."
            )
    return found


def _deactivate(conn: Connection, ids: Sequence[int]) -> None:
    conn.execute(
        sa.text("UPDATE slick SET active = false WHERE id = ANY(:ids)"), {"ids": list(ids)}
    )


def _replace_one(
    slick_id: int,
    *,
    human_confidence: float | None,
    slick_class: str | None,
    notes: str | None,
    replace_notes: bool,
    reviewer: str | None,
    db: Engine | str | None,
) -> int:
    """Deactivate one slick and insert its reviewed copy (the README's validate/class/note SQL)."""
    _check_confidence(human_confidence)
    with _engine(db).begin() as conn:
        _lock(conn, [slick_id])
        class_id = _class_id(conn, slick_class)
        _deactivate(conn, [slick_id])
        new_id = conn.execute(
            sa.text(
                f"INSERT INTO slick ({_COPY_COLUMNS}) "
                "SELECT slick_timestamp, geometry, machine_confidence, "
                "COALESCE(CAST(:human_confidence AS float8), human_confidence), true, true, "
                "ARRAY[id], CASE WHEN :replace_notes THEN CAST(:notes AS text) ELSE notes END, "
                "meta, orchestrator_run, COALESCE(CAST(:class_id AS integer), slick_class), "
                ":reviewer FROM slick WHERE id = :id RETURNING id"
            ),
            {
                "id": slick_id,
                "human_confidence": human_confidence,
                "class_id": class_id,
                "notes": notes,
                "replace_notes": replace_notes,
                "reviewer": reviewer,
            },
        ).scalar_one()
    log.info("slick %d replaced by %d (%s)", slick_id, new_id, reviewer or "anonymous")
    return int(new_id)


def validate(
    slick_id: int,
    *,
    human_confidence: float,
    slick_class: str | None = None,
    reviewer: str | None = None,
    db: Engine | str | None = None,
) -> int:
    """Confirm a slick, with the reviewer's confidence (and its class, if it changes).

    Args:
        slick_id: the active slick.
        human_confidence: 0 to 1.
        slick_class: class short name; ``None`` keeps the slick's class.
        reviewer: who reviews.
        db: engine or URL; ``None`` for the configured database.

    Returns:
        The id of the new, validated row.
    """
    return _replace_one(
        slick_id,
        human_confidence=human_confidence,
        slick_class=slick_class,
        notes=None,
        replace_notes=False,
        reviewer=reviewer,
        db=db,
    )


def reclassify(
    slick_id: int,
    slick_class: str,
    *,
    human_confidence: float | None = None,
    reviewer: str | None = None,
    db: Engine | str | None = None,
) -> int:
    """Give a slick another class (short name, e.g. ``NATURAL``). Returns the new row's id."""
    return _replace_one(
        slick_id,
        human_confidence=human_confidence,
        slick_class=slick_class,
        notes=None,
        replace_notes=False,
        reviewer=reviewer,
        db=db,
    )


def note(
    slick_id: int,
    text: str,
    *,
    human_confidence: float | None = None,
    reviewer: str | None = None,
    db: Engine | str | None = None,
) -> int:
    """Set a slick's notes (an action taken, a NOAA reference, ...). Returns the new row's id.

    The text replaces the notes, as the README's SQL does; earlier notes stay in the history.
    """
    if not text or not text.strip():
        raise InvalidReview("A note needs some text.")
    return _replace_one(
        slick_id,
        human_confidence=human_confidence,
        slick_class=None,
        notes=text,
        replace_notes=True,
        reviewer=reviewer,
        db=db,
    )


def merge(
    slick_ids: Sequence[int],
    *,
    slick_class: str | None = None,
    human_confidence: float | None = None,
    reviewer: str | None = None,
    db: Engine | str | None = None,
) -> int:
    """Merge two or more slicks into one (the README's "combine" SQL).

    The new slick has the union of the outlines, the latest timestamp, the lowest machine
    confidence, the notes joined by commas and the metadata as a JSON array (both in id order),
    and the latest run.

    Args:
        slick_ids: the active slicks to merge (at least two).
        slick_class: class short name; ``None`` keeps the common class (an error if they differ).
        human_confidence: 0 to 1; ``None`` takes the lowest of the precursors'.
        reviewer: who reviews.
        db: engine or URL.

    Returns:
        The id of the merged slick.
    """
    ids = list(dict.fromkeys(int(i) for i in slick_ids))
    if len(ids) < 2:
        raise InvalidReview(f"Merging needs at least two different slicks, got {ids}.")
    _check_confidence(human_confidence)
    with _engine(db).begin() as conn:
        rows = _lock(conn, ids)
        class_id = _class_id(conn, slick_class)
        if class_id is None:
            classes = {row.slick_class for row in rows.values()}
            if len(classes) > 1:
                raise InvalidReview(
                    f"Slicks {ids} have different classes; say which class the merged slick has "
                    "(slick_class=...)."
                )
            class_id = classes.pop()
        _deactivate(conn, ids)
        new_id = conn.execute(
            sa.text(
                f"INSERT INTO slick ({_COPY_COLUMNS}) "
                "SELECT MAX(slick_timestamp), ST_Union(geometry::geometry), "
                "MIN(machine_confidence), "
                "COALESCE(CAST(:human_confidence AS float8), MIN(human_confidence)), true, true, "
                "CAST(:ids AS bigint[]), string_agg(notes, ',' ORDER BY id), "
                "jsonb_agg(meta ORDER BY id), MAX(orchestrator_run), :class_id, :reviewer "
                "FROM slick WHERE id = ANY(:ids) RETURNING id"
            ),
            {
                "ids": ids,
                "human_confidence": human_confidence,
                "class_id": class_id,
                "reviewer": reviewer,
            },
        ).scalar_one()
    log.info("slicks %s merged into %d", ids, new_id)
    return int(new_id)


def split(
    slick_id: int,
    parts: Sequence[shapely.Geometry | str] | int,
    *,
    slick_class: str | None = None,
    human_confidence: float | None = None,
    reviewer: str | None = None,
    db: Engine | str | None = None,
) -> list[int]:
    """Split one slick into several (the README's "break" SQL).

    Args:
        slick_id: the active slick.
        parts: the new outlines (shapely geometries or WKT, EPSG:4326), each polygonal, inside the
            slick and not overlapping one another; or a number ``n`` of parts to cut it into: a
            slick of at least ``n`` separate polygons is grouped at the ``n - 1`` widest gaps along
            its long axis, a more compact one is cut across its long axis into ``n`` equal lengths.
        slick_class: class short name of the parts; ``None`` keeps the slick's.
        human_confidence: 0 to 1; ``None`` keeps the slick's.
        reviewer: who reviews.
        db: engine or URL.

    Returns:
        The ids of the new slicks, in the order of ``parts``.
    """
    _check_confidence(human_confidence)
    with _engine(db).begin() as conn:
        _lock(conn, [slick_id])
        class_id = _class_id(conn, slick_class)
        wkb = conn.execute(
            sa.text("SELECT ST_AsBinary(geometry::geometry) FROM slick WHERE id = :id"),
            {"id": slick_id},
        ).scalar_one()
        original = shapely.from_wkb(bytes(wkb))
        if isinstance(parts, int) and not isinstance(parts, bool):
            geometries = _cut(original, parts)
        else:
            geometries = [_as_geometry(p, i) for i, p in enumerate(parts)]
        _check_parts(original, geometries)
        _deactivate(conn, [slick_id])
        new_ids = conn.execute(
            sa.text(
                f"INSERT INTO slick ({_COPY_COLUMNS}) "
                "SELECT s.slick_timestamp, "
                "ST_Multi(ST_GeomFromWKB(decode(p.wkb, 'hex'), 4326)), s.machine_confidence, "
                "COALESCE(CAST(:human_confidence AS float8), s.human_confidence), true, true, "
                "ARRAY[s.id], s.notes, s.meta, s.orchestrator_run, "
                "COALESCE(CAST(:class_id AS integer), s.slick_class), :reviewer "
                "FROM slick AS s, unnest(CAST(:parts AS text[])) WITH ORDINALITY AS p(wkb, n) "
                "WHERE s.id = :id ORDER BY p.n RETURNING id"
            ),
            {
                "id": slick_id,
                "parts": [shapely.to_wkb(g, hex=True) for g in geometries],
                "human_confidence": human_confidence,
                "class_id": class_id,
                "reviewer": reviewer,
            },
        ).scalars()
        new_ids = sorted(int(i) for i in new_ids)
    log.info("slick %d split into %s", slick_id, new_ids)
    return new_ids


def history(slick_id: int, *, db: Engine | str | None = None) -> list[HistoryEntry]:
    """The slick and all the rows it came from, nearest first (``slick_history(id)``)."""
    with _engine(db).connect() as conn:
        rows = conn.execute(
            sa.text("SELECT * FROM slick_history(:id)"), {"id": slick_id}
        ).mappings()
        entries = [
            HistoryEntry(
                id=row["id"],
                depth=row["depth"],
                create_time=row["create_time"],
                slick_timestamp=row["slick_timestamp"],
                active=row["active"],
                validated=row["validated"],
                slick_class=row["class_short_name"],
                machine_confidence=row["machine_confidence"],
                human_confidence=row["human_confidence"],
                notes=row["notes"],
                reviewer=row["reviewer"],
                precursors=tuple(row["slick"] or ()),
                area=row["area"],
            )
            for row in rows
        ]
    if not entries:
        raise UnknownSlick(f"No slick with id {slick_id}.")
    return entries


# ---------------------------------------------------------------------------------- split helpers


def _as_geometry(part: shapely.Geometry | str, index: int) -> shapely.Geometry:
    if isinstance(part, str):
        try:
            part = shapely.from_wkt(part)
        except shapely.errors.GEOSException as exc:
            raise InvalidReview(f"Part {index + 1} is not readable WKT: {exc}") from exc
    if not isinstance(part, shapely.Geometry):
        raise InvalidReview(f"Part {index + 1} is a {type(part).__name__}, not a geometry.")
    return part


def _check_parts(original: shapely.Geometry, parts: Sequence[shapely.Geometry]) -> None:
    """Each part polygonal, valid, inside the original; parts not overlapping one another.

    The checks are planar in degrees: they compare areas of the same small region, so the ratio is
    what matters, not the unit.
    """
    if len(parts) < 2:
        raise InvalidReview(f"A split needs at least two parts, got {len(parts)}.")
    for i, part in enumerate(parts, start=1):
        if part.is_empty or part.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidReview(f"Part {i} is a {part.geom_type}; parts must be polygons.")
        if not part.is_valid:
            raise InvalidReview(
                f"Part {i} is not a valid polygon: {shapely.is_valid_reason(part)}."
            )
        outside = part.difference(original).area
        if outside > PART_TOLERANCE * part.area:
            raise InvalidReview(
                f"Part {i} reaches outside the slick ({outside / part.area:.1%} of its area). "
                "Parts must lie inside the slick they split."
            )
    total = sum(p.area for p in parts)
    union = shapely.union_all(parts).area
    if total - union > PART_TOLERANCE * total:
        raise InvalidReview(
            f"The parts overlap one another ({(total - union) / total:.1%} of their area)."
        )


def _local_transformers(geometry: shapely.Geometry):  # noqa: ANN202 - (forward, inverse)
    """Lon/lat to a local equal-area plane centred on ``geometry`` (metres), and back."""
    from pyproj import CRS, Transformer

    centre = geometry.centroid
    local = CRS.from_proj4(
        f"+proj=laea +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m +no_defs"
    )
    forward = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    inverse = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    return forward, inverse


def _cut(original: shapely.Geometry, n: int) -> list[shapely.Geometry]:
    """``n`` parts of ``original``: grouped at the widest gaps, or cut across its long axis.

    Directions and distances come from a local equal-area plane; the parts themselves are made of
    the original's own polygons (grouping) or of its intersection with slabs whose corners are
    mapped back to longitude/latitude (cutting), so they lie exactly inside it.
    """
    if n < 2:
        raise InvalidReview(f"A split needs at least two parts, got n={n}.")
    forward, inverse = _local_transformers(original)
    local = shapely.transform(original, forward.transform, interleaved=False)
    corners = list(local.minimum_rotated_rectangle.exterior.coords)[:3]
    sides = [
        (corners[1][0] - corners[0][0], corners[1][1] - corners[0][1]),
        (corners[2][0] - corners[1][0], corners[2][1] - corners[1][1]),
    ]
    ux, uy = max(sides, key=lambda v: math.hypot(*v))
    norm = math.hypot(ux, uy) or 1.0
    ux, uy = ux / norm, uy / norm
    polygons = list(shapely.get_parts(original))
    local_polygons = list(shapely.get_parts(local))
    if len(polygons) >= n:
        order = sorted(
            range(len(polygons)),
            key=lambda i: float(shapely.get_coordinates(local_polygons[i]).mean(axis=0) @ (ux, uy)),
        )
        extents = [shapely.get_coordinates(local_polygons[i]) @ (ux, uy) for i in order]
        gaps = [extents[k + 1].min() - extents[k].max() for k in range(len(order) - 1)]
        cuts = sorted(sorted(range(len(gaps)), key=lambda k: -gaps[k])[: n - 1])
        groups, start = [], 0
        for cut in [*cuts, len(order) - 1]:
            groups.append(shapely.union_all([polygons[i] for i in order[start : cut + 1]]))
            start = cut + 1
    else:
        coords = shapely.get_coordinates(local)
        along, across = coords @ (ux, uy), coords @ (-uy, ux)
        lo, hi = along.min(), along.max()
        a0, a1 = across.min() - 1.0, across.max() + 1.0
        groups = []
        for k in range(n):
            s0 = lo + (hi - lo) * k / n - (1.0 if k == 0 else 0.0)
            s1 = lo + (hi - lo) * (k + 1) / n + (1.0 if k == n - 1 else 0.0)
            slab = shapely.Polygon(
                [
                    inverse.transform(s * ux - a * uy, s * uy + a * ux)
                    for s, a in ((s0, a0), (s1, a0), (s1, a1), (s0, a1))
                ]
            )
            groups.append(original.intersection(slab))
    parts = []
    for i, group in enumerate(groups, start=1):
        polygonal = [
            g for g in shapely.get_parts(group) if g.geom_type == "Polygon" and not g.is_empty
        ]
        if not polygonal:
            raise InvalidReview(
                f"Cutting the slick into {n} parts leaves part {i} empty; give the parts instead."
            )
        parts.append(shapely.MultiPolygon(polygonal))
    return parts
