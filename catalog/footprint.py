"""Scene footprints on the globe: anti-meridian-safe normalization, bounding boxes, local UTM.

A Sentinel-1 footprint that crosses 180° longitude is often written as one polygon whose
longitudes jump from +179.x to -179.x. Read naively, that polygon wraps the other way around the
globe (Cerulean's scene filter fails there). Every footprint that enters ``catalog`` goes through
:func:`normalize_footprint`, which splits such polygons at the anti-meridian into a MultiPolygon
(GeoJSON RFC 7946 section 3.1.9) with the ``antimeridian`` package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import antimeridian
import pyproj
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from catalog.errors import SceneReadError


def _as_geometry(footprint: BaseGeometry | Mapping[str, Any]) -> BaseGeometry:
    if isinstance(footprint, BaseGeometry):
        return footprint
    if isinstance(footprint, Mapping):
        try:
            return shape(footprint)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise SceneReadError(
                f"The footprint is not a GeoJSON geometry ({exc}); pass a Polygon or "
                "MultiPolygon in EPSG:4326 longitude/latitude."
            ) from None
    raise SceneReadError(
        f"A footprint is a shapely geometry or a GeoJSON mapping, not {type(footprint).__name__}."
    )


def _wrap_longitudes(polygon: Polygon) -> Polygon:
    """Bring longitudes outside [-180, 180] (e.g. 179 -> 181) back into range."""

    def wrap(coords: Any) -> list[tuple[float, float]]:
        return [(((x + 180.0) % 360.0) - 180.0 if abs(x) > 180 else x, y) for x, y, *_ in coords]

    return Polygon(wrap(polygon.exterior.coords), [wrap(r.coords) for r in polygon.interiors])


def normalize_footprint(footprint: BaseGeometry | Mapping[str, Any]) -> Polygon | MultiPolygon:
    """Return a valid footprint in EPSG:4326, split at the anti-meridian when it crosses it.

    Args:
        footprint: a Polygon or MultiPolygon (shapely or GeoJSON) in longitude/latitude degrees.
            A polygon crossing 180° may be given with longitudes that jump (179 -> -179) or that
            run past 180 (179 -> 181).

    Returns:
        A counter-clockwise Polygon, or a MultiPolygon with one part on each side of 180°.

    Raises:
        SceneReadError: the footprint is not a polygon, is empty, or has latitudes beyond ±90.
    """
    geom = _as_geometry(footprint)
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise SceneReadError(
            f"A scene footprint must be a non-empty Polygon or MultiPolygon, got {geom.geom_type}"
            f"{' (empty)' if geom.is_empty else ''}."
        )
    ys = shapely.get_coordinates(geom)[:, 1]
    if ys.min() < -90 or ys.max() > 90:
        raise SceneReadError(
            "The footprint has latitudes beyond ±90°: give coordinates as (longitude, latitude) "
            "in EPSG:4326."
        )
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    fixed: list[Polygon] = []
    for part in parts:
        part = shapely.geometry.polygon.orient(_wrap_longitudes(part), sign=1.0)
        result = antimeridian.fix_polygon(part, fix_winding=True)
        fixed.extend(result.geoms if isinstance(result, MultiPolygon) else [result])
    out: BaseGeometry = fixed[0] if len(fixed) == 1 else MultiPolygon(fixed)
    if not out.is_valid:
        out = shapely.make_valid(out)
        polys = [g for g in getattr(out, "geoms", [out]) if g.geom_type == "Polygon"]
        out = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    return out


def footprint_bbox(footprint: BaseGeometry) -> list[float]:
    """STAC bbox ``[west, south, east, north]`` of a normalized footprint, degrees.

    For a footprint split at the anti-meridian ``west > east`` (RFC 7946 section 5.2).
    """
    return [float(v) for v in antimeridian.bbox(footprint)]


def footprint_centroid(footprint: BaseGeometry) -> tuple[float, float]:
    """Centroid ``(lon, lat)`` in degrees, correct for footprints split at the anti-meridian."""
    c = antimeridian.centroid(footprint)
    return float(c.x), float(c.y)


def utm_crs(footprint: BaseGeometry) -> pyproj.CRS:
    """The UTM zone (WGS 84) that holds the footprint's centroid."""
    lon, lat = footprint_centroid(footprint)
    infos = query_utm_crs_info(
        datum_name="WGS 84",
        area_of_interest=AreaOfInterest(lon, lat, lon, lat),
    )
    if not infos:
        raise SceneReadError(f"No UTM zone covers ({lon:.3f}, {lat:.3f}).")
    return pyproj.CRS.from_epsg(int(infos[0].code))


def footprint_geojson(footprint: BaseGeometry) -> dict[str, Any]:
    """GeoJSON mapping of a footprint, with plain lists (JSON-ready)."""
    return json.loads(shapely.to_geojson(footprint))
