"""Simulate a scene in memory: the entry point for training chips and small scenes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from catalog.simulate.config import SimulationConfig
from catalog.simulate.features import SLICK_CLASSES
from catalog.simulate.geometry import transformer
from catalog.simulate.plan import ScenePlan, build_plan
from catalog.simulate.render import render_window

IN_MEMORY_LIMIT_PX = 40_000_000
"""Largest raster :func:`simulate` renders in memory; write bigger ones with ``write_scene``."""


@dataclass
class SimulatedScene:
    """A simulated scene's pixels and labels, in memory."""

    vv: np.ndarray
    """VV sigma0, linear, float32, NaN = nodata."""
    vh: np.ndarray
    """VH sigma0, linear, float32, NaN = nodata."""
    incidence: np.ndarray
    """Incidence angle (degrees), float32."""
    classes: np.ndarray
    """uint8 class map: 0 background, 1 INFRA, 2 NATURAL, 3 VESSEL (Cerulean's)."""
    lookalike: np.ndarray
    """bool: look-alike dark features (not oil)."""
    land: np.ndarray
    """bool: land."""
    crs: CRS
    """The local UTM zone. For ``"utm"`` rasters it is the raster's CRS; ``"grd"`` rasters have
    none (they carry ``gcps``) and ``transform`` gives their pixels' UTM positions."""
    transform: Affine
    """Pixel to ``crs`` coordinates; north-up for ``"utm"``, rotated for ``"grd"``."""
    config: SimulationConfig
    """What was asked for."""
    gcps: list[GroundControlPoint] | None = None
    """Ground control points (EPSG:4326) of a ``"grd"`` raster; ``None`` for ``"utm"``."""
    plan: ScenePlan | None = field(default=None, repr=False)
    """The plan the pixels were rendered from (time, footprint, wind...)."""
    slick_pixels: np.ndarray | None = field(default=None, repr=False)
    """Labelled pixels per slick of the plan."""
    oil_power: np.ndarray | None = field(default=None, repr=False)
    """Share of its clean power each sea pixel keeps under oil (1 without; see ``render``)."""
    oil_class: np.ndarray | None = field(default=None, repr=False)
    """Class of the slick darkening each pixel, labelled or not (0 none)."""

    @cached_property
    def polygons(self) -> gpd.GeoDataFrame:
        """One row per slick: ``class``, ``class_id``, ``geometry`` (EPSG:4326 outline, clipped to
        the data area), ``source`` (point, EPSG:4326), ``source_kind``, ``wind_speed`` (m/s),
        ``damping_db``, ``length_m``, ``labelled_px`` (pixels of the class raster) and
        ``visible`` (``labelled_px > 0``). Built on first use (a GeoDataFrame costs more than
        rendering a small chip, and training does not need it)."""
        return slick_table(self.plan, self.slick_pixels)

    @property
    def valid(self) -> np.ndarray:
        """bool: pixels with data."""
        return ~np.isnan(self.vv)


def slick_table(plan: ScenePlan, labelled_px: np.ndarray) -> gpd.GeoDataFrame:
    """The scene's slicks as a GeoDataFrame in EPSG:4326 (see :attr:`SimulatedScene.polygons`)."""
    to_lonlat = transformer(plan.raster.epsg, 4326)
    swath = plan.swath

    def frame_to_lonlat(xy: np.ndarray) -> np.ndarray:
        e, n = swath.frame_to_world(xy[:, 1], xy[:, 0])
        lon, lat = to_lonlat.transform(e, n)
        return np.stack([lon, lat], axis=1)

    area = plan.raster.frame_box().intersection(swath.valid_polygon())
    records = []
    for slick in plan.slicks:
        outline = shapely.make_valid(slick.outline.intersection(area))
        records.append(
            {
                "slick": slick.index,
                "class": slick.class_name,
                "class_id": SLICK_CLASSES[slick.class_name],
                "geometry": shapely.transform(outline, frame_to_lonlat),
                "source": shapely.transform(
                    shapely.Point(slick.source[1], slick.source[0]), frame_to_lonlat
                ),
                "source_kind": slick.source_kind,
                "wind_speed": round(slick.wind_speed, 2),
                "damping_db": round(slick.damping_db, 2),
                "length_m": round(slick.length_m, 1),
                "labelled_px": int(labelled_px[slick.index]),
                "visible": bool(labelled_px[slick.index] > 0),
            }
        )
    columns = [
        "slick",
        "class",
        "class_id",
        "geometry",
        "source",
        "source_kind",
        "wind_speed",
        "damping_db",
        "length_m",
        "labelled_px",
        "visible",
    ]
    if not records:
        frame = gpd.GeoDataFrame([], columns=columns, geometry="geometry", crs="EPSG:4326")
        frame["source"] = gpd.GeoSeries(frame["source"], crs="EPSG:4326")
        return frame
    data = {c: [r[c] for r in records] for c in columns if c not in ("geometry", "source")}
    frame = gpd.GeoDataFrame(
        data,
        geometry=gpd.GeoSeries([r["geometry"] for r in records], crs="EPSG:4326"),
    )
    frame.insert(6, "source", gpd.GeoSeries([r["source"] for r in records], crs="EPSG:4326"))
    return frame[columns]


def simulate(config: SimulationConfig) -> SimulatedScene:
    """Simulate the scene ``config`` describes, in memory.

    For chips and small scenes (up to about 40 Mpx); larger scenes go to disk window by window with
    :func:`catalog.simulate.write_scene`. Given the same config the result is identical, and equal
    to what ``write_scene`` writes.
    """
    rows, cols = config.shape
    if rows * cols > IN_MEMORY_LIMIT_PX:
        from catalog.simulate.errors import InvalidSimulationConfig

        raise InvalidSimulationConfig(
            f"shape {config.shape} is {rows * cols / 1e6:.0f} Mpx, too big to hold in memory: "
            "use write_scene (slickwatch simulate) for scenes over 40 Mpx."
        )
    plan = build_plan(config)
    win = render_window(plan, (0, 0, rows, cols))
    raster = plan.raster
    return SimulatedScene(
        vv=win.vv,
        vh=win.vh,
        incidence=win.incidence,
        classes=win.classes,
        lookalike=win.lookalike,
        land=win.land,
        crs=CRS.from_epsg(raster.epsg),
        transform=raster.to_world,
        config=config,
        gcps=raster.gcps() if raster.kind == "grd" else None,
        plan=plan,
        slick_pixels=win.slick_pixels,
        oil_power=win.oil_power,
        oil_class=win.oil_class,
    )
