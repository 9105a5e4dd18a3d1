"""STAC items for Sentinel-1 GRD scenes, and static catalogs of them.

Items carry the ``sar``, ``sat``, ``proj`` and ``raster`` extensions. ``proj:epsg`` is written
beside ``proj:code`` because stackstac 0.5 reads only ``proj:epsg``; both are ``null`` for
scenes georeferenced by ground control points (raw GRD measurement files).

Fields of our own, in the ``slickwatch:`` namespace:

- item property ``slickwatch:simulated`` (bool): the scene comes from ``slickwatch simulate``;
- asset field ``slickwatch:kind``: ``"dn"`` (uint16 digital numbers, like raw GRD) or
  ``"sigma0"`` (float32 linear backscatter, like analysis-ready products);
- asset field ``slickwatch:calibration_constant`` (K): for ``"dn"`` assets
  ``sigma0 = DN**2 / K**2``. Absent means the Sentinel-1 IPF constant
  (:data:`catalog.scene.S1_GRD_CALIBRATION_CONSTANT`).

Label assets (role ``labels``): ``classes`` (COG of class ids), ``lookalikes`` (COG mask),
``polygons`` (GeoJSON with class and source point).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import affine
import pystac
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from pystac.extensions.sar import (
    FrequencyBand,
    ObservationDirection,
    Polarization,
    SarExtension,
)
from pystac.extensions.sat import SatExtension
from pystac.stac_io import DefaultStacIO
from shapely.geometry.base import BaseGeometry

from catalog.errors import CatalogError, StacSourceError
from catalog.footprint import footprint_bbox, footprint_geojson, normalize_footprint
from catalog.scene_id import parse_scene_id

S1_COLLECTION = "sentinel-1-grd"
"""Default collection id of Sentinel-1 GRD items."""
SIMULATED_PROPERTY = "slickwatch:simulated"
"""Item property: ``true`` for scenes made by the simulator."""
KIND_FIELD = "slickwatch:kind"
"""Asset field: ``"dn"`` or ``"sigma0"``."""
CALIBRATION_FIELD = "slickwatch:calibration_constant"
"""Asset field: K in ``sigma0 = DN**2 / K**2`` (``"dn"`` assets only)."""
LABEL_KEYS = ("classes", "lookalikes", "polygons")
"""Keys of the label assets the simulator writes."""
C_BAND_CENTER_FREQUENCY_GHZ = 5.405
"""Sentinel-1 SAR centre frequency, GHz."""

# Nominal GRD characteristics from the Sentinel-1 User Guide (Level-1 GRD products table):
# (resolution range, resolution azimuth, pixel spacing (m), looks range, looks azimuth, ENL).
_GRD_CHARACTERISTICS: dict[tuple[str, str], tuple[float, float, float, int, int, float]] = {
    ("IW", "H"): (20.0, 22.0, 10.0, 5, 1, 4.4),
    ("IW", "M"): (88.0, 87.0, 40.0, 22, 5, 81.8),
    ("EW", "H"): (50.0, 50.0, 25.0, 3, 1, 2.8),
    ("EW", "M"): (93.0, 87.0, 40.0, 6, 2, 10.7),
}


def _media_type(href: str, *, georeferenced: bool = True) -> str:
    lower = href.lower()
    if lower.endswith((".tif", ".tiff")):
        return pystac.MediaType.COG if georeferenced else pystac.MediaType.GEOTIFF
    if lower.endswith((".geojson", ".json")):
        return pystac.MediaType.GEOJSON
    return "application/octet-stream"


def _polarization_key(key: str, channels: tuple[str, ...], scene_id: str) -> str:
    pol = key.upper()
    if pol not in channels:
        raise CatalogError(
            f"Asset {key!r} of {scene_id} is not one of the product's channels "
            f"{', '.join(channels)}: name assets by polarization ('vv', 'vh')."
        )
    return pol


def make_s1_item(
    scene_id: str,
    *,
    footprint: BaseGeometry | Mapping[str, Any],
    assets: Mapping[str, str],
    kind: Literal["dn", "sigma0"],
    epsg: int | None,
    shape: tuple[int, int] | None,
    transform: affine.Affine | None,
    calibration_constant: float | None = None,
    label_assets: Mapping[str, str] | None = None,
    properties: Mapping[str, Any] | None = None,
    simulated: bool = False,
    nodata: float | None = None,
    collection: str | None = S1_COLLECTION,
) -> pystac.Item:
    """Describe one Sentinel-1 GRD scene as a STAC item.

    Args:
        scene_id: the product id; it becomes the item id and is parsed for mode, orbit, times.
        footprint: polygon in EPSG:4326 (split at the anti-meridian when it crosses it).
        assets: polarization (``"vv"``, ``"vh"``) -> href of the measurement raster.
        kind: ``"dn"`` (uint16 digital numbers) or ``"sigma0"`` (float32 linear backscatter).
        epsg: EPSG code of the rasters' CRS; ``None`` when georeferenced by GCPs.
        shape: ``(rows, cols)`` of the rasters, pixels.
        transform: the rasters' affine transform (``None`` with GCPs).
        calibration_constant: K in ``sigma0 = DN**2 / K**2`` for ``"dn"`` assets; ``None``
            means the Sentinel-1 IPF constant.
        label_assets: label key (``classes``, ``lookalikes``, ``polygons``) -> href.
        properties: extra item properties, applied last (e.g. ``sat:orbit_state``).
        simulated: mark the scene as made by the simulator.
        nodata: nodata value of the rasters (default 0 for ``"dn"``, NaN for ``"sigma0"``).
        collection: collection id written on the item.

    Raises:
        SceneIdError: the scene id is malformed.
        CatalogError: an asset is not a channel of the product, or ``kind`` is unknown.
    """
    sid = parse_scene_id(scene_id)
    if kind not in ("dn", "sigma0"):
        raise CatalogError(f"Asset kind {kind!r} is unknown: use 'dn' or 'sigma0'.")
    if not assets:
        raise CatalogError(f"{scene_id} has no measurement assets: pass {{'vv': href, ...}}.")
    if kind == "sigma0" and calibration_constant is not None:
        raise CatalogError("A calibration constant applies to 'dn' assets only.")
    geom = normalize_footprint(footprint)
    item = pystac.Item(
        id=str(sid),
        geometry=footprint_geojson(geom),
        bbox=footprint_bbox(geom),
        datetime=sid.start,
        properties={},
        start_datetime=sid.start,
        end_datetime=sid.stop,
        collection=collection,
    )
    item.common_metadata.platform = sid.platform
    item.common_metadata.constellation = "sentinel-1"
    item.common_metadata.instruments = ["c-sar"]

    channels = sid.polarizations
    pols = [_polarization_key(key, channels, scene_id) for key in assets]
    sar = SarExtension.ext(item, add_if_missing=True)
    characteristics = _GRD_CHARACTERISTICS.get((sid.mode, sid.resolution))
    extra: dict[str, Any] = {}
    if characteristics is not None:
        res_r, res_a, spacing, looks_r, looks_a, enl = characteristics
        extra = dict(
            resolution_range=res_r,
            resolution_azimuth=res_a,
            pixel_spacing_range=spacing,
            pixel_spacing_azimuth=spacing,
            looks_range=looks_r,
            looks_azimuth=looks_a,
            looks_equivalent_number=enl,
        )
    sar.apply(
        instrument_mode=sid.mode,
        frequency_band=FrequencyBand.C,
        polarizations=[Polarization(p) for p in channels],
        product_type=sid.product_type,
        center_frequency=C_BAND_CENTER_FREQUENCY_GHZ,
        observation_direction=ObservationDirection.RIGHT,
        **extra,
    )
    sat = SatExtension.ext(item, add_if_missing=True)
    sat.apply(relative_orbit=sid.relative_orbit, absolute_orbit=sid.absolute_orbit)
    item.properties.update(
        {
            "s1:datatake_id": str(sid.datatake_id),
            "s1:product_unique_id": sid.unique_id,
            "s1:resolution": sid.resolution,
            "s1:polarization": sid.polarization,
            "s1:processing_level": str(sid.level),
            "s1:product_class": sid.product_class,
        }
    )

    proj = ProjectionExtension.ext(item, add_if_missing=True)
    if epsg is not None:
        proj.code = f"EPSG:{int(epsg)}"
    else:
        item.properties["proj:code"] = None
    # stackstac 0.5.1 reads only proj:epsg (deprecated in projection v2.0): write both.
    item.properties["proj:epsg"] = int(epsg) if epsg is not None else None
    if shape is not None:
        proj.shape = [int(shape[0]), int(shape[1])]
    if transform is not None:
        proj.transform = [float(v) for v in tuple(transform)[:6]]

    if nodata is None:
        nodata = 0 if kind == "dn" else math.nan
    data_type = DataType.UINT16 if kind == "dn" else DataType.FLOAT32
    georeferenced = epsg is not None
    RasterExtension.add_to(item)
    for key, pol in zip(assets, pols, strict=True):
        href = str(assets[key])
        asset = pystac.Asset(
            href=href,
            media_type=_media_type(href, georeferenced=georeferenced),
            roles=["data"],
            title=f"{pol} {'digital numbers' if kind == 'dn' else 'sigma0 (linear)'}",
            extra_fields={"sar:polarizations": [pol], KIND_FIELD: kind},
        )
        if kind == "dn" and calibration_constant is not None:
            asset.extra_fields[CALIBRATION_FIELD] = float(calibration_constant)
        item.add_asset(pol.lower(), asset)
        band_nodata: float | str = "nan" if math.isnan(nodata) else nodata
        RasterExtension.ext(asset).apply(
            bands=[RasterBand.create(nodata=band_nodata, data_type=data_type)]
        )

    for key, href in (label_assets or {}).items():
        item.add_asset(
            key,
            pystac.Asset(
                href=str(href),
                media_type=_media_type(str(href)),
                roles=["labels"],
                title=f"label: {key}",
            ),
        )
    if simulated:
        item.properties[SIMULATED_PROPERTY] = True
    item.properties.update(dict(properties or {}))
    return item


class _AtomicStacIO(DefaultStacIO):
    """Writes each JSON file to a temporary name beside it, then renames it into place."""

    def write_text_to_href(self, href: str, txt: str) -> None:
        path = Path(href)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(txt)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _collection_for(items: list[pystac.Item], collection_id: str) -> pystac.Collection:
    extent = pystac.Extent.from_items(items)
    collection = pystac.Collection(
        id=collection_id,
        description=f"Sentinel-1 GRD scenes ({collection_id}).",
        extent=extent,
        license="other",
        title=collection_id,
    )
    SarExtension.summaries(collection, add_if_missing=True)
    collection.summaries.add(
        "sar:instrument_mode",
        sorted({i.properties.get("sar:instrument_mode") for i in items} - {None}),
    )
    collection.summaries.add(
        "sar:polarizations",
        sorted({p for i in items for p in i.properties.get("sar:polarizations", [])}),
    )
    return collection


def make_collection(
    items: Iterable[pystac.Item], *, collection_id: str = S1_COLLECTION
) -> pystac.Collection:
    """A collection whose extent and summaries cover ``items`` (items are not added to it)."""
    items = list(items)
    if not items:
        raise CatalogError("A collection needs at least one item to compute its extent.")
    return _collection_for(items, collection_id)


def write_catalog(
    items: Iterable[pystac.Item],
    path: str | Path,
    *,
    title: str,
    description: str | None = None,
) -> Path:
    """Write a self-contained static catalog: ``catalog.json``, one collection per item
    collection id, one folder per item.

    Asset hrefs inside the catalog's folder are written relative to their item; others stay
    as they are (absolute paths or URLs). Each JSON file is written to a temporary name and
    renamed, so an interrupted write leaves no half-written file.

    Args:
        items: the items (cloned; the caller's objects are not changed).
        path: the catalog folder, or the path of its ``catalog.json``.
        title: the catalog's title.
        description: the catalog's description (default: the title).

    Returns:
        The path of ``catalog.json``.
    """
    items = [item.clone() for item in items]
    if not items:
        raise CatalogError("Nothing to write: the catalog would have no items.")
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogError(f"Item ids must be unique in a catalog; repeated: {duplicates}.")
    path = Path(path)
    root = path.parent if path.suffix == ".json" else path
    root = root.resolve()
    catalog_id = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-") or "catalog"
    catalog = pystac.Catalog(id=catalog_id, description=description or title, title=title)
    by_collection: dict[str, list[pystac.Item]] = {}
    for item in items:
        by_collection.setdefault(item.collection_id or S1_COLLECTION, []).append(item)
    for collection_id, members in by_collection.items():
        collection = _collection_for(members, collection_id)
        for item in members:
            # Absolute asset paths are needed before the item moves into the catalog tree.
            item.make_asset_hrefs_absolute()
            collection.add_item(item)
        catalog.add_child(collection)
    catalog.normalize_hrefs(str(root))
    for item in catalog.get_items(recursive=True):
        item_dir = Path(item.get_self_href()).parent
        for asset in item.assets.values():
            href = asset.href
            if "://" in href:
                continue
            if Path(href).resolve().is_relative_to(root):
                asset.href = os.path.relpath(Path(href).resolve(), item_dir)
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, stac_io=_AtomicStacIO())
    return root / "catalog.json"


def _epsg_of_code(code: Any) -> int | None:
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def restore_proj_epsg(item: pystac.Item) -> pystac.Item:
    """Put ``proj:epsg`` back beside ``proj:code`` on an item read by pystac (in place).

    pystac (1.12 and later) migrates every item with the projection extension while reading it,
    and that migration drops ``proj:epsg`` in favour of ``proj:code``; stackstac 0.5 reads only
    ``proj:epsg``. Every item that :mod:`catalog` reads goes through this function.
    """
    if not any("projection" in uri for uri in item.stac_extensions):
        return item
    props = item.properties
    if "proj:epsg" not in props and "proj:code" in props:
        props["proj:epsg"] = _epsg_of_code(props["proj:code"])
    for asset in item.assets.values():
        fields = asset.extra_fields
        if "proj:epsg" not in fields and "proj:code" in fields:
            fields["proj:epsg"] = _epsg_of_code(fields["proj:code"])
    return item


def read_catalog(path: str | Path) -> list[pystac.Item]:
    """Every item of a static catalog (recursively), with absolute asset hrefs.

    Args:
        path: the catalog folder or its root JSON file (``catalog.json`` or ``collection.json``).

    Raises:
        StacSourceError: the catalog is missing or is not STAC.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / "catalog.json", path / "collection.json"]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise StacSourceError(
                f"No catalog.json in {path}: pass a static STAC catalog folder or its root JSON "
                "(`slickwatch demo-catalog PATH` writes one)."
            )
        path = found[0]
    if not path.is_file():
        raise StacSourceError(f"STAC catalog {path} does not exist.")
    try:
        root = pystac.read_file(str(path))
    except Exception as exc:  # pystac raises many types for bad JSON and non-STAC files
        raise StacSourceError(f"{path} is not a readable STAC catalog: {exc}") from exc
    if isinstance(root, pystac.Item):
        items = [root]
    elif isinstance(root, pystac.Catalog):
        items = list(root.get_items(recursive=True))
    else:
        raise StacSourceError(f"{path} is a {type(root).__name__}, not a STAC catalog.")
    for item in items:
        item.make_asset_hrefs_absolute()
        restore_proj_epsg(item)
    return items


def item_time_range(item: pystac.Item) -> tuple[datetime, datetime]:
    """``(start, end)`` of an item: ``start_datetime``/``end_datetime``, else ``datetime``."""
    cm = item.common_metadata
    start = cm.start_datetime or item.datetime
    end = cm.end_datetime or item.datetime or start
    if start is None or end is None:
        raise StacSourceError(f"Item {item.id} has neither datetime nor start/end_datetime.")
    return start, end


def item_is_simulated(item: pystac.Item) -> bool:
    """Whether the item describes a simulated scene."""
    return bool(item.properties.get(SIMULATED_PROPERTY, False))
