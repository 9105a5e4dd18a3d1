"""Which scenes are worth running: Cerulean's scene filter, with a reason for every rejection.

A scene is relevant when it is a GRD product in IW mode at high resolution, holds a VV channel,
and its footprint meets the ocean.

Ocean source: ``catalog/data/ocean_lowres.geojson``, Natural Earth's ocean polygon (public domain,
the same file Cerulean uses). For this question -- does a 250 km footprint touch the sea at all --
an exact polygon intersection is both cheap (one prepared-geometry test) and exact up to the
polygon's few-km coastline error; ``global-land-mask`` (1 km) would need a point sample of the
footprint and a 1 GB array in memory for the same answer. Fine coastlines matter for masking
pixels, which :mod:`catalog.land` does. Footprints crossing the anti-meridian are split into two
parts first (:func:`catalog.footprint.normalize_footprint`); read as one polygon they would wrap
round the globe and meet the ocean whatever they cover.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pystac
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from catalog.errors import CatalogError, SceneIdError
from catalog.footprint import normalize_footprint
from catalog.scene import Scene
from catalog.scene_id import RESOLUTIONS, parse_scene_id

OCEAN_PATH = Path(__file__).parent / "data" / "ocean_lowres.geojson"
"""The shipped Natural Earth ocean polygon (EPSG:4326)."""


@dataclass(frozen=True)
class Relevancy:
    """Whether a scene is worth running, and why not when it is not."""

    relevant: bool
    """True when the scene passes every check."""
    reasons: tuple[str, ...]
    """One line per failed check (empty when relevant)."""

    def __bool__(self) -> bool:
        return self.relevant


@lru_cache(maxsize=4)
def ocean_polygon(path: Path = OCEAN_PATH) -> BaseGeometry:
    """The ocean as one valid, prepared (Multi)Polygon in EPSG:4326."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CatalogError(f"Cannot read the ocean polygon {path}: {exc}") from None
    geoms = [shape(f["geometry"]) for f in doc["features"]] if "features" in doc else [shape(doc)]
    # Natural Earth's ring orientation makes the shapely polygon invalid as read; repair it.
    ocean = shapely.make_valid(shapely.union_all(geoms))
    shapely.prepare(ocean)
    return ocean


@dataclass(frozen=True)
class _Facts:
    product_type: str | None
    mode: str | None
    resolution: str | None
    polarizations: tuple[str, ...]
    footprint: BaseGeometry | None


def _facts_of_item(item: pystac.Item) -> _Facts:
    props = item.properties
    try:
        sid = parse_scene_id(item.id)
    except SceneIdError:
        sid = None
    pols = props.get("sar:polarizations")
    polarizations = tuple(str(p).upper() for p in pols) if pols else ()
    if not polarizations and sid is not None:
        polarizations = sid.polarizations
    return _Facts(
        product_type=props.get("sar:product_type") or (sid.product_type if sid else None),
        mode=props.get("sar:instrument_mode") or (sid.mode if sid else None),
        resolution=props.get("s1:resolution") or (sid.resolution if sid else None),
        polarizations=polarizations,
        footprint=normalize_footprint(item.geometry) if item.geometry else None,
    )


def _facts(scene_or_item: Scene | pystac.Item | dict[str, Any]) -> _Facts:
    if isinstance(scene_or_item, Scene):
        sid = scene_or_item.sid
        return _Facts(
            sid.product_type, sid.mode, sid.resolution, sid.polarizations, scene_or_item.footprint
        )
    if isinstance(scene_or_item, pystac.Item):
        return _facts_of_item(scene_or_item)
    if isinstance(scene_or_item, dict):
        return _facts_of_item(pystac.Item.from_dict(scene_or_item))
    raise CatalogError(
        f"check_relevancy takes a Scene or a STAC item, not {type(scene_or_item).__name__}; "
        "resolve references first with catalog.scene.resolve_scene."
    )


def check_relevancy(
    scene_or_item: Scene | pystac.Item | dict[str, Any],
    *,
    ocean: BaseGeometry | None = None,
) -> Relevancy:
    """Check a scene against the filter: GRD, IW, high resolution, a VV channel, meets the ocean.

    Args:
        scene_or_item: a :class:`~catalog.scene.Scene`, a ``pystac.Item`` or an item dict.
        ocean: the ocean (EPSG:4326); default the shipped Natural Earth polygon.

    Returns:
        ``Relevancy(relevant, reasons)``; every failed check adds one reason.
    """
    facts = _facts(scene_or_item)
    reasons: list[str] = []
    if facts.product_type != "GRD":
        reasons.append(f"product type {facts.product_type}: only GRD products are processed")
    if facts.mode != "IW":
        reasons.append(
            f"beam mode {facts.mode}: only IW (Interferometric Wide) scenes are processed"
        )
    if facts.resolution != "H":
        name = RESOLUTIONS.get(facts.resolution or "", "unknown")
        reasons.append(
            f"resolution class {facts.resolution} ({name}): only high resolution (GRDH) "
            "is processed"
        )
    if "VV" not in facts.polarizations:
        have = ", ".join(facts.polarizations) or "none"
        reasons.append(f"no VV channel (channels: {have})")
    if facts.footprint is None:
        reasons.append("no footprint: cannot tell whether the scene meets the ocean")
    else:
        sea = ocean if ocean is not None else ocean_polygon()
        if not sea.intersects(facts.footprint):
            reasons.append("footprint does not meet the ocean (it covers only land)")
    return Relevancy(relevant=not reasons, reasons=tuple(reasons))
