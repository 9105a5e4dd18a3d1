"""A scene plan: every random decision of a scene, drawn once from the seed, small in memory.

The plan holds the geometry, the coarse wind grid, the coastline and the vector features. Pixels
are rendered from it window by window (:mod:`catalog.simulate.render`); nothing in the plan grows
with the pixel count except the coarse grid (one node per km).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from affine import Affine

from catalog.simulate import features as ft
from catalog.simulate.coast import Coast, plan_coast
from catalog.simulate.config import SimulationConfig
from catalog.simulate.geometry import (
    PRODUCT_LENGTH_M,
    SWATH_WIDTH_M,
    RasterGeometry,
    SwathGeometry,
    orbit_heading_deg,
    transformer,
    utm_epsg,
)
from catalog.simulate.noise import generator
from catalog.simulate.strokes import Stroke
from catalog.simulate.texture import TextureParams, draw_texture
from catalog.simulate.wind import WindField, build_wind, coarse_shape

STREAM_PLAN = 1
SEAS = (
    ("Gulf of Mexico", (-94.0, 25.0, -86.0, 28.0)),
    ("US Atlantic shelf", (-75.0, 33.0, -70.0, 37.0)),
    ("North Sea", (2.0, 54.0, 6.0, 58.0)),
    ("Central Mediterranean", (15.0, 33.0, 25.0, 36.0)),
    ("Persian Gulf", (50.5, 26.0, 53.5, 27.5)),
    ("Gulf of Guinea", (2.0, 1.0, 8.0, 4.0)),
    ("South China Sea", (110.0, 8.0, 116.0, 16.0)),
    ("Arabian Sea off Oman", (58.0, 16.0, 62.0, 21.0)),
    ("Bay of Bengal", (85.0, 14.0, 90.0, 19.0)),
    ("Campos Basin", (-41.0, -24.5, -38.5, -22.5)),
    ("Black Sea", (31.0, 42.5, 37.0, 44.0)),
    ("Red Sea", (37.5, 19.0, 39.0, 22.0)),
    ("Java Sea", (108.0, -5.5, 114.0, -4.5)),
    ("Caspian Sea", (50.2, 39.0, 52.0, 42.0)),
)
"""Seas with oil traffic and production where a scene without a given centre is placed."""
CHIP_AREA_KM2 = 1700.0
"""Area of a 512 x 512 chip at 80 m; feature counts are drawn per this area."""


@dataclass(frozen=True)
class ScenePlan:
    """Everything random about a scene, decided."""

    config: SimulationConfig
    """What was asked for."""
    raster: RasterGeometry
    """The raster grid."""
    swath: SwathGeometry
    """The product's swath and nodata edges."""
    time: datetime
    """Acquisition start (UTC)."""
    center: tuple[float, float]
    """Raster centre (lon, lat)."""
    wind: WindField = field(repr=False)
    """Coarse wind and clean sigma0."""
    coast: Coast | None
    """Coastline, if any."""
    strokes: tuple[Stroke, ...] = field(repr=False)
    """Line features: oil, look-alikes, ships, platforms."""
    slicks: tuple[ft.Slick, ...] = field(repr=False)
    """The oil slicks, as the labels describe them."""
    packets: tuple[ft.WavePacket, ...] = field(repr=False)
    """Internal-wave packets."""
    texture: TextureParams = field(repr=False)
    """The scene's wind texture (gusts, cells, streaks, gravity waves)."""

    @property
    def seed(self) -> int:
        """The scene's seed."""
        return self.config.seed


def _draw_center(rng: np.random.Generator) -> tuple[float, float]:
    _, (x0, y0, x1, y1) = SEAS[int(rng.integers(len(SEAS)))]
    return float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))


def _draw_time_and_pass(
    rng: np.random.Generator, config: SimulationConfig, lon: float
) -> tuple[datetime, str]:
    """Sentinel-1 flies a dawn-dusk orbit: ascending near 18:00, descending near 06:00 local
    time."""
    if config.time is not None:
        t = config.time if config.time.tzinfo else config.time.replace(tzinfo=UTC)
        local = (t.hour + t.minute / 60 + lon / 15.0) % 24
        return t.astimezone(UTC), config.pass_direction or (
            "ASCENDING" if local >= 12 else "DESCENDING"
        )
    pass_direction = config.pass_direction or ("ASCENDING" if rng.random() < 0.5 else "DESCENDING")
    day = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 6 * 365)))
    local = (18.0 if pass_direction == "ASCENDING" else 6.0) + rng.uniform(-0.4, 0.4)
    utc_hours = (local - lon / 15.0) % 24
    t = day + timedelta(seconds=round(utc_hours * 3600))
    return t, pass_direction


def _draw_wind_speed(rng: np.random.Generator) -> float:
    kind = rng.choice(3, p=[0.15, 0.65, 0.20])
    return float(rng.uniform(*((1.5, 3.5), (3.5, 9.0), (9.0, 14.0))[kind]))


def _swath(
    rng: np.random.Generator,
    config: SimulationConfig,
    center: tuple[float, float],
    pass_direction: str,
):
    """Place the raster in a product and the product on the Earth."""
    rows, cols = config.shape
    px = config.pixel_size
    height, width = rows * px, cols * px
    lon, lat = center
    heading = orbit_heading_deg(lat, pass_direction)
    epsg = utm_epsg(lon, lat)
    e_c, n_c = transformer(4326, epsg).transform(lon, lat)

    across = width if config.geometry == "grd" else max(width, height)
    if config.swath_position is not None:
        s_c = config.swath_position * SWATH_WIDTH_M
    elif across >= 0.9 * SWATH_WIDTH_M:
        s_c = SWATH_WIDTH_M / 2 + rng.uniform(-1.0, 1.0) * 1000.0
    else:
        s_c = rng.uniform(0.05, 0.95) * SWATH_WIDTH_M
    along = height if config.geometry == "grd" else max(width, height)
    full_length = along >= 0.9 * PRODUCT_LENGTH_M
    a_c = along / 2 if full_length else rng.uniform(0.0, PRODUCT_LENGTH_M)
    first = rng.random() < (0.5 if full_length else 0.35)
    last = rng.random() < 0.15
    start = (0.0, rng.uniform(4e3, 9e3), rng.uniform(9e3, 16e3)) if first else (-math.inf,) * 3
    stop_len = max(PRODUCT_LENGTH_M, along)
    stop = tuple(stop_len - rng.uniform(0, 6e3, 3)) if last else (math.inf,) * 3
    swath = SwathGeometry(
        pass_direction=pass_direction,
        heading_deg=heading,
        epsg=epsg,
        anchor=(a_c, s_c, e_c, n_c),
        subswath_start_m=start,
        subswath_stop_m=stop,
        near_margin_m=rng.uniform(0.0, 400.0),
        far_margin_m=tuple(rng.uniform(1500.0, 3500.0) + rng.uniform(0, 300.0, 4)),
        scallop_phase=tuple(rng.uniform(0, 2 * np.pi, 3)),
    )
    if config.geometry == "grd":
        to_frame = Affine(px, 0.0, s_c - width / 2, 0.0, px, a_c - height / 2)
        h = math.radians(heading)
        # frame (s, a) -> world (E, N)
        frame_to_world = Affine(
            math.cos(h), math.sin(h), e_c - s_c * math.cos(h) - a_c * math.sin(h),
            -math.sin(h), math.cos(h), n_c + s_c * math.sin(h) - a_c * math.cos(h),
        )  # fmt: skip
        to_world = frame_to_world @ to_frame
    else:
        to_world = Affine(px, 0.0, e_c - width / 2, 0.0, -px, n_c + height / 2)
        to_frame = swath.world_to_frame_affine() @ to_world
    raster = RasterGeometry(
        kind=config.geometry,
        shape=config.shape,
        pixel_size=px,
        to_frame=to_frame,
        to_world=to_world,
        epsg=epsg,
    )
    return swath, raster


def build_plan(config: SimulationConfig) -> ScenePlan:
    """Draw every random decision of the scene ``config`` describes."""
    rng = generator(config.seed, STREAM_PLAN)
    center = config.center if config.center is not None else _draw_center(rng)
    time, pass_direction = _draw_time_and_pass(rng, config, center[0])
    swath, raster = _swath(rng, config, center, pass_direction)
    rows, cols = config.shape
    px = config.pixel_size
    a_c, s_c = swath.anchor[0], swath.anchor[1]
    extent = min(rows, cols) * px

    has_land = config.land if config.land is not None else rng.random() < 0.25
    coast = plan_coast(rng, config.seed, (a_c, s_c), extent) if has_land else None

    mean_speed = config.wind_speed if config.wind_speed is not None else _draw_wind_speed(rng)
    mean_dir = (
        config.wind_direction if config.wind_direction is not None else float(rng.uniform(0, 360))
    )
    frame_box = raster.frame_box()
    valid_area = frame_box.intersection(swath.valid_polygon())
    area_km2 = max(valid_area.area / 1e6, 1.0)
    scale = area_km2 / CHIP_AREA_KM2
    amin_s, amin_a, amax_s, amax_a = (
        valid_area.bounds if not valid_area.is_empty else frame_box.bounds
    )

    def random_sea_point(tries: int = 60) -> tuple[float, float] | None:
        for _ in range(tries):
            a = rng.uniform(amin_a, amax_a)
            s = rng.uniform(amin_s, amax_s)
            if not valid_area.contains(_point(s, a)):
                continue
            if coast is not None and _land_at(coast, raster, a, s) > 0.0:
                continue
            return a, s
        return None

    rain_cells = []
    if config.lookalikes:
        for _ in range(int(rng.poisson(0.35 * scale))):
            p = random_sea_point()
            if p is not None:
                rain_cells.append(ft.plan_rain_cell(rng, p))

    land_nodes = None
    if coast is not None:
        spacing = 1000.0 / px
        ni, nj = coarse_shape(raster)
        node_r = np.arange(ni) * spacing - 0.5
        node_c = np.arange(nj) * spacing - 0.5
        a_n, s_n = raster.frame_coords(node_r, node_c)
        land_nodes = coast.land(a_n, s_n, node_r, node_c, px, coarse=True).astype(np.float64)
    texture = draw_texture(rng, mean_speed, scale=float(config.extra.get("texture", 1.0)))
    wind = build_wind(
        rng,
        raster,
        heading=swath.heading_deg,
        mean_speed=mean_speed,
        mean_direction=mean_dir,
        lookalikes=config.lookalikes,
        land=land_nodes,
        rain_cells=rain_cells,
        texture=texture,
        calm_share=config.extra.get("calm"),
    )
    downwind = mean_dir + 180.0 - swath.heading_deg  # frame angle the wind blows towards

    strokes: list[Stroke] = []
    slicks: list[ft.Slick] = []
    counts = (
        dict(config.slicks)
        if config.slicks is not None
        else {
            "VESSEL": min(12, int(rng.poisson(0.5 * scale))),
            "INFRA": min(8, int(rng.poisson(0.2 * scale))),
            "NATURAL": min(8, int(rng.poisson(0.2 * scale))),
        }
    )
    planners = {
        "VESSEL": ft.plan_vessel_slick,
        "INFRA": ft.plan_infra_slick,
        "NATURAL": ft.plan_natural_slick,
    }
    for name in ("VESSEL", "INFRA", "NATURAL"):
        for _ in range(int(counts.get(name, 0))):
            p = random_sea_point()
            if p is None:
                continue
            s, slick = planners[name](rng, len(slicks), p, wind.speed_at, downwind)
            strokes += s
            slicks.append(slick)

    n_ships = (
        config.ships
        if config.ships is not None
        else int(rng.poisson(rng.choice([0.5, 2.0, 6.0]) * scale))
    )
    for _ in range(n_ships):
        p = random_sea_point()
        if p is not None:
            strokes += ft.plan_ship(rng, p, rng.uniform(0, 360))

    packets = []
    if config.lookalikes:
        for _ in range(int(rng.poisson(0.5 * scale))):
            p = random_sea_point()
            if p is not None:
                strokes += ft.plan_biogenic_films(rng, p, rng.uniform(3e3, 20e3), wind.speed_at)
        for _ in range(int(rng.poisson(0.3 * scale))):
            p = random_sea_point()
            if p is not None:
                strokes += ft.plan_convergence_line(rng, p, wind.speed_at)
        for _ in range(int(rng.poisson(0.25 * scale))):
            p = random_sea_point()
            if p is not None:
                packets.append(
                    ft.plan_wave_packet(
                        rng, p, float(wind.speed_at(np.array([p[0]]), np.array([p[1]]))[0])
                    )
                )

    return ScenePlan(
        config=config,
        raster=raster,
        swath=swath,
        time=time,
        center=(float(center[0]), float(center[1])),
        wind=wind,
        coast=coast,
        strokes=tuple(strokes),
        slicks=tuple(slicks),
        packets=tuple(packets),
        texture=texture,
    )


def _point(x: float, y: float):
    import shapely

    return shapely.Point(x, y)


def _land_at(coast: Coast, raster: RasterGeometry, a: float, s: float) -> float:
    row, col = raster.frame_to_pixel(np.array([a]), np.array([s]))
    r = np.array([int(np.floor(row[0]))])
    c = np.array([int(np.floor(col[0]))])
    return float(
        coast.land(
            np.array([[a]], np.float32), np.array([[s]], np.float32), r, c, raster.pixel_size
        )[0, 0]
    )
