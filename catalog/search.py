"""Search Sentinel-1 scenes in a STAC API or a local static catalog through one call.

Both paths share pystac-client's parsing of ``bbox``, ``intersects`` and ``datetime`` (a date
such as ``"2020-11-21"`` means the whole day, ``"2020-11-01/.."`` is open-ended), match items whose
time range meets the search range and whose footprint meets the area, keep scenes of the wanted
beam mode that hold every wanted polarization, and return them in one order: start time, then id.
So the same query against an API and against a static copy of its items gives the same list.

A bbox whose west edge is east of its east edge crosses the anti-meridian; it is sent to APIs as
a two-part ``intersects`` geometry, because a plain envelope would wrap the other way round.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
import shapely
from shapely.geometry import MultiPolygon, box, shape
from shapely.geometry.base import BaseGeometry

from catalog.errors import SceneNotFoundError, SearchParameterError, StacSourceError
from catalog.footprint import normalize_footprint
from catalog.stac import item_time_range, read_catalog, restore_proj_epsg

logger = logging.getLogger(__name__)

_PAGE_SIZE = 100
_PARSE_URL = "http://parameters.invalid/search"  # never requested: only parameters are parsed


def is_api(source: str | Path) -> bool:
    """Whether ``source`` is a STAC API (an http(s) URL not ending in ``.json``)."""
    text = str(source)
    return text.startswith(("http://", "https://")) and not text.lower().endswith(".json")


def _parameters(bbox: Any, intersects: Any, datetime_: Any) -> dict[str, Any]:
    from pystac_client import ItemSearch

    try:
        return ItemSearch(
            _PARSE_URL, bbox=bbox, intersects=intersects, datetime=datetime_
        ).get_parameters()
    except Exception as exc:  # pystac-client raises bare Exception for bad datetimes
        raise SearchParameterError(
            f"Bad search parameter: {exc}. Use bbox 'W,S,E,N' in degrees and datetime like "
            "'2020-11-21', '2020-11-01/2020-11-30' or '2020-11-01T00:00:00Z/..'."
        ) from None


def _bbox_geometry(bbox: Sequence[float]) -> BaseGeometry:
    if len(bbox) == 6:
        bbox = (bbox[0], bbox[1], bbox[3], bbox[4])
    if len(bbox) != 4:
        raise SearchParameterError(f"A bbox has 4 numbers W,S,E,N (or 6 with heights), got {bbox}.")
    west, south, east, north = map(float, bbox)
    if not (-90 <= south <= north <= 90) or not (-180 <= west <= 180 and -180 <= east <= 180):
        raise SearchParameterError(
            f"bbox {list(bbox)} is not W,S,E,N in degrees (-180..180, -90..90, south <= north)."
        )
    if west > east:  # crosses the anti-meridian
        return MultiPolygon([box(west, south, 180.0, north), box(-180.0, south, east, north)])
    return box(west, south, east, north)


def _parse_time(text: str) -> datetime | None:
    if text in ("..", ""):
        return None
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _time_range(formatted: str | None) -> tuple[datetime | None, datetime | None] | None:
    if formatted is None:
        return None
    if "/" in formatted:
        start, end = formatted.split("/", 1)
        return _parse_time(start), _parse_time(end)
    t = _parse_time(formatted)
    return t, t


def _wants(item: pystac.Item, *, mode: str | None, polarizations: Sequence[str]) -> bool:
    props = item.properties
    if mode is not None and props.get("sar:instrument_mode") != mode:
        return False
    have = {str(p).upper() for p in props.get("sar:polarizations", [])}
    return all(p in have for p in polarizations)


def _sort_key(item: pystac.Item) -> tuple[datetime, str]:
    start, _ = item_time_range(item)
    return start, item.id


def _filter_local(
    items: Iterable[pystac.Item],
    *,
    area: BaseGeometry | None,
    times: tuple[datetime | None, datetime | None] | None,
    collections: Sequence[str] | None,
    ids: Sequence[str] | None,
) -> list[pystac.Item]:
    out = []
    for item in items:
        if ids is not None and item.id not in ids:
            continue
        if collections is not None and item.collection_id not in collections:
            continue
        if times is not None:
            start, end = item_time_range(item)
            lo, hi = times
            if (hi is not None and start > hi) or (lo is not None and end < lo):
                continue
        if area is not None and (
            item.geometry is None or not normalize_footprint(item.geometry).intersects(area)
        ):
            continue
        out.append(item)
    return out


def _cql2_filter(mode: str | None, polarizations: Sequence[str]) -> dict[str, Any] | None:
    args: list[dict[str, Any]] = []
    if mode is not None:
        args.append({"op": "=", "args": [{"property": "sar:instrument_mode"}, mode]})
    if polarizations:
        args.append(
            {"op": "a_contains", "args": [{"property": "sar:polarizations"}, list(polarizations)]}
        )
    if not args:
        return None
    return args[0] if len(args) == 1 else {"op": "and", "args": args}


def _search_api(
    url: str,
    *,
    bbox: Any,
    intersects: Any,
    datetime_: str | None,
    collections: Sequence[str] | None,
    ids: Sequence[str] | None,
    mode: str | None,
    polarizations: Sequence[str],
    limit: int | None,
) -> list[pystac.Item]:
    from pystac_client import Client
    from pystac_client.conformance import ConformanceClasses
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(url)
    except Exception as exc:  # APIError, requests' connection errors, non-STAC answers
        raise StacSourceError(
            f"Cannot open the STAC API at {url} ({type(exc).__name__}: {exc}). Check the URL and "
            "that the server runs, or pass a static catalog folder instead."
        ) from None
    kwargs: dict[str, Any] = {"limit": _PAGE_SIZE}
    if bbox is not None:
        area = _bbox_geometry(bbox)
        if isinstance(area, MultiPolygon):
            kwargs["intersects"] = shapely.geometry.mapping(area)
        else:
            kwargs["bbox"] = bbox
    if intersects is not None:
        kwargs["intersects"] = intersects
    if datetime_ is not None:
        kwargs["datetime"] = datetime_
    if collections is not None:
        kwargs["collections"] = list(collections)
    if ids is not None:
        kwargs["ids"] = list(ids)
    server_filters = client.conforms_to(ConformanceClasses.FILTER)
    cql2 = _cql2_filter(mode, polarizations)
    if server_filters and cql2 is not None:
        kwargs["filter"] = cql2
        kwargs["filter_lang"] = "cql2-json"
    if client.conforms_to(ConformanceClasses.SORT):
        kwargs["sortby"] = [
            {"field": "properties.datetime", "direction": "asc"},
            {"field": "id", "direction": "asc"},
        ]
        if limit is not None and (server_filters or cql2 is None):
            kwargs["max_items"] = limit
    try:
        return [restore_proj_epsg(item) for item in client.search(**kwargs).items()]
    except APIError as exc:
        raise StacSourceError(f"STAC API {url} rejected the search: {exc}") from None
    except Exception as exc:
        raise StacSourceError(
            f"Searching the STAC API at {url} failed ({type(exc).__name__}: {exc})."
        ) from None


def search_scenes(
    source: str | Path,
    *,
    bbox: Sequence[float] | str | None = None,
    intersects: dict[str, Any] | BaseGeometry | None = None,
    datetime: Any = None,
    collections: Sequence[str] | str | None = None,
    mode: str | None = "IW",
    polarizations: Sequence[str] = ("VV",),
    limit: int | None = None,
    ids: Sequence[str] | None = None,
) -> list[pystac.Item]:
    """Find Sentinel-1 items in a STAC API or a static catalog.

    Args:
        source: a STAC API root URL, or a static catalog (folder, ``catalog.json``, or an http(s)
            URL ending in ``.json``).
        bbox: ``[west, south, east, north]`` in degrees (or ``"W,S,E,N"``); ``west > east``
            crosses the anti-meridian.
        intersects: a GeoJSON geometry (or shapely geometry) in EPSG:4326.
        datetime: a datetime, a ``"start/end"`` string (``..`` for open), a date (whole day),
            or a ``(start, end)`` pair, as pystac-client takes it.
        collections: collection ids to search in (default: all).
        mode: beam mode to keep (``"IW"``); ``None`` keeps all modes.
        polarizations: channels every kept scene must hold (default ``("VV",)``).
        limit: at most this many items (the first in time order).
        ids: only these item ids.

    Returns:
        The matching items, ordered by start time, then id.

    Raises:
        SearchParameterError: a parameter is malformed.
        StacSourceError: the source cannot be reached or read.
    """
    if limit is not None and limit < 1:
        raise SearchParameterError(f"limit must be at least 1, got {limit}.")
    if isinstance(collections, str):
        collections = [collections]
    if isinstance(intersects, BaseGeometry):
        intersects = shapely.geometry.mapping(intersects)
    pols = tuple(str(p).upper() for p in polarizations)
    params = _parameters(bbox, intersects, datetime)
    bbox_list = list(params["bbox"]) if "bbox" in params else None
    area: BaseGeometry | None = _bbox_geometry(bbox_list) if bbox_list is not None else None
    if intersects is not None:
        try:
            aoi = shape(intersects)
        except Exception as exc:
            raise SearchParameterError(f"intersects is not a GeoJSON geometry: {exc}") from None
        if aoi.geom_type in ("Polygon", "MultiPolygon"):
            aoi = normalize_footprint(aoi)
        area = aoi if area is None else area.intersection(aoi)
    times = _time_range(params.get("datetime"))

    if is_api(source):
        found = _search_api(
            str(source),
            bbox=bbox_list,
            intersects=intersects,
            datetime_=params.get("datetime"),
            collections=collections,
            ids=ids,
            mode=mode,
            polarizations=pols,
            limit=limit,
        )
    else:
        found = read_catalog(source) if not str(source).startswith("http") else _read_remote(source)
    # Applied to API results too: the same semantics whatever the server supports.
    items = _filter_local(found, area=area, times=times, collections=collections, ids=ids)
    items = [i for i in items if _wants(i, mode=mode, polarizations=pols)]
    items.sort(key=_sort_key)
    logger.debug("search %s: %d items", source, len(items))
    return items[:limit] if limit is not None else items


def _read_remote(url: str | Path) -> list[pystac.Item]:
    try:
        root = pystac.read_file(str(url))
    except Exception as exc:
        raise StacSourceError(f"Cannot read the static catalog at {url}: {exc}") from None
    if isinstance(root, pystac.Item):
        return [restore_proj_epsg(root)]
    if not isinstance(root, pystac.Catalog):
        raise StacSourceError(f"{url} is not a STAC catalog.")
    items = list(root.get_items(recursive=True))
    for item in items:
        item.make_asset_hrefs_absolute()
        restore_proj_epsg(item)
    return items


def find_item(source: str | Path | None, scene_id: str) -> pystac.Item:
    """The item of one scene id in a STAC API or static catalog.

    Raises:
        SceneNotFoundError: no source given, or the scene is not in it.
        StacSourceError: the source cannot be reached or read.
    """
    if source is None:
        raise SceneNotFoundError(
            f"To resolve the scene id {scene_id} a STAC source is needed: pass --stac URL|PATH "
            "(a STAC API or a static catalog) or set SLICKWATCH_STAC_URL."
        )
    items = search_scenes(source, ids=[scene_id], mode=None, polarizations=())
    if not items:
        raise SceneNotFoundError(
            f"Scene {scene_id} is not in {source}. Check the id, or search the source with "
            "`slickwatch search --stac SOURCE`."
        )
    return items[0]
