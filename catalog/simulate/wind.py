"""The wind over the scene and the sea's clean backscatter, on the plan's grids.

Two grids are laid on the raster. The *coarse* grid (nodes 1 km apart) holds what spans tens of
kilometres: the scene-mean wind, broad variability, the calm-area field (elongated along the wind),
the lee of land and the shelter of sounds and lagoons. The *sea* grid (nodes ``max(pixel, 200 m)``
apart, coarser for huge scenes) holds the rest at full detail: the kilometre-scale texture of the
marine boundary layer (:mod:`catalog.simulate.texture`), the calm areas with frayed, soft edges,
atmospheric fronts, rain cells, and from them the final wind, CMOD5.N VV and C-2PO VH sigma0.
Pixels interpolate the sea grid, so a window of any size sees the same sea.

Low-wind areas are not drawn as masks: the wind itself drops (to 0.4-2.5 m/s) over areas tens of
kilometres across, with transitions over kilometres, and the steep GMF at low wind turns that into
the large dark regions, soft gradients and streaky edges of real scenes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from catalog.simulate.backscatter import cmod5n_db, vh_sigma0_db
from catalog.simulate.features import RainCell
from catalog.simulate.geometry import RasterGeometry, incidence_deg
from catalog.simulate.noise import spectral_field
from catalog.simulate.texture import TextureParams, texture_fields

LOW_WIND_MS = 3.0
"""Below this wind speed (m/s) the sea is dark on its own: a look-alike area."""
NODE_SPACING_M = 1000.0
"""Spacing of the coarse wind grid (metres)."""
SEA_SPACING_M = 200.0
"""Finest spacing of the sea grid (metres); never finer than the pixels."""
SEA_MAX_NODES = 4_000_000
"""Most nodes of the sea grid (a full 250 x 167 km scene has 1.05 million at 200 m)."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _axis_weights(u: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.clip(np.floor(u).astype(np.int64), 0, n - 2)
    f = np.clip(u - i, 0.0, 1.0).astype(np.float32)
    return i, f


def bilinear(grid: np.ndarray, u_rows: np.ndarray, u_cols: np.ndarray) -> np.ndarray:
    """Separable bilinear interpolation of ``grid`` at fractional node coordinates (1-D each),
    clamped at the edges; float32 ``(len(u_rows), len(u_cols))``."""
    g = grid.astype(np.float32, copy=False)
    ir, fr = _axis_weights(np.asarray(u_rows, dtype=np.float64), g.shape[0])
    ic, fc = _axis_weights(np.asarray(u_cols, dtype=np.float64), g.shape[1])
    lo = g[ir]
    along = lo + (g[ir + 1] - lo) * fr[:, None]
    # take() keeps C order, where fancy indexing along axis 1 would return a Fortran-ordered
    # array (whose reshape(-1) is a copy, so in-place writes through it would be lost)
    left = along.take(ic, axis=1)
    right = along.take(ic + 1, axis=1)
    right -= left
    right *= fc
    right += left
    return right


def interp_grid(grid: np.ndarray, rows: np.ndarray, cols: np.ndarray, spacing: float) -> np.ndarray:
    """Bilinear interpolation of a coarse node grid (node ``i`` at pixel edge ``i * spacing``) at
    the pixel centres of a window, separably; float32 ``(len(rows), len(cols))``."""
    return bilinear(
        grid,
        (rows.astype(np.float64) + 0.5) / spacing,
        (cols.astype(np.float64) + 0.5) / spacing,
    )


def sea_node_position(index: np.ndarray, spacing: float) -> np.ndarray:
    """Pixel coordinate (pixel centres at ``i + 0.5``) of sea-grid nodes: node 1 sits on the
    centre of pixel 0, so at one node per pixel every pixel gets its own node's value, unblurred."""
    return (np.asarray(index, dtype=np.float64) - 1.0) * spacing + 0.5


def sea_node_index(position: np.ndarray, spacing: float) -> np.ndarray:
    """Fractional sea-grid node index of pixel coordinates (inverse of
    :func:`sea_node_position`)."""
    return (np.asarray(position, dtype=np.float64) - 0.5) / spacing + 1.0


def sea_spacing_m(raster: RasterGeometry) -> float:
    """Node spacing (metres) of a raster's sea grid."""
    rows, cols = raster.shape
    px = raster.pixel_size
    spacing = max(px, SEA_SPACING_M)
    nodes = (rows * px / spacing + 3) * (cols * px / spacing + 3)
    if nodes > SEA_MAX_NODES:
        spacing *= math.sqrt(nodes / SEA_MAX_NODES)
    return spacing


@dataclass(frozen=True)
class WindField:
    """Wind and clean sea backscatter on the sea grid of a scene."""

    spacing: float
    """Sea-grid node spacing in pixels."""
    raster: RasterGeometry = field(repr=False)
    """The raster the nodes are laid on."""
    speed: np.ndarray = field(repr=False)
    """10 m wind speed (m/s), texture included."""
    base_speed: np.ndarray = field(repr=False)
    """10 m wind speed (m/s) without the kilometre-scale texture: what decides whether a place
    is a low-wind area (a look-alike), so that those areas are whole regions, not speckles."""
    front: np.ndarray = field(repr=False)
    """1 in the band along an atmospheric front on its calmer side (a look-alike), else 0."""
    vv_db: np.ndarray = field(repr=False)
    """Clean VV sigma0 (dB)."""
    vh_db: np.ndarray = field(repr=False)
    """Clean VH sigma0 (dB)."""
    rain_db: np.ndarray = field(repr=False)
    """Damping by rain-cell cores (dB, >= 0)."""
    incidence: np.ndarray = field(repr=False)
    """Incidence angle (degrees)."""
    mean_speed: float = 0.0
    """Scene-mean wind speed asked for (m/s)."""
    mean_direction: float = 0.0
    """Scene-mean wind direction (from, degrees)."""
    calm_share: float = 0.0
    """Share of the scene drawn calm (before lee and shelter)."""
    has_rain: bool = False
    """Whether any rain cell damps the sea (``rain_db`` is not all zero)."""

    def window(self, name: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """A sea-grid field interpolated to a window's pixels."""
        return self.windows((name,), rows, cols)[0]

    def windows(
        self, names: tuple[str, ...], rows: np.ndarray, cols: np.ndarray
    ) -> list[np.ndarray]:
        """Several sea-grid fields interpolated to a window's pixels, sharing the weights."""
        ir, fr = _axis_weights(sea_node_index(rows + 0.5, self.spacing), self.speed.shape[0])
        ic, fc = _axis_weights(sea_node_index(cols + 0.5, self.spacing), self.speed.shape[1])
        out = []
        for name in names:
            g = getattr(self, name)
            lo = g[ir]
            along = lo + (g[ir + 1] - lo) * fr[:, None]
            left = along.take(ic, axis=1)
            right = along.take(ic + 1, axis=1)
            right -= left
            right *= fc
            right += left
            out.append(right)
        return out

    def speed_at(self, a: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Wind speed (m/s) at swath-frame points (bilinear between sea-grid nodes)."""
        row, col = self.raster.frame_to_pixel(a, s)
        coords = np.stack(
            [
                sea_node_index(np.ravel(row), self.spacing),
                sea_node_index(np.ravel(col), self.spacing),
            ]
        )
        out = ndimage.map_coordinates(self.speed, coords, order=1, mode="nearest")
        return out.reshape(np.shape(a))


def wind_axis(raster: RasterGeometry, direction_deg: float) -> tuple[float, float]:
    """Unit vector ``(row, col)`` on the raster grid of a wind blowing from ``direction_deg``."""
    toward = math.radians(direction_deg + 180.0)
    east, north = math.sin(toward), math.cos(toward)
    inv = ~raster.to_world
    dc = inv.a * east + inv.b * north
    dr = inv.d * east + inv.e * north
    norm = math.hypot(dr, dc) or 1.0
    return dr / norm, dc / norm


def _node_frame(raster: RasterGeometry, spacing: float, shape: tuple[int, int]):
    """Swath-frame ``(a, s)`` of the sea grid's nodes."""
    rr = sea_node_position(np.arange(shape[0]), spacing)[:, None]
    cc = sea_node_position(np.arange(shape[1]), spacing)[None, :]
    t = raster.to_frame
    s = t.a * cc + t.b * rr + t.c
    a = t.d * cc + t.e * rr + t.f
    return a, s


def _lee(
    rng: np.random.Generator,
    raster: RasterGeometry,
    land: np.ndarray,
    spacing: float,
    *,
    heading: float,
    mean_direction: float,
) -> np.ndarray:
    """Wind reduction (0..1) downwind of land on the coarse grid: the lee, decaying over 5-25 km,
    and the shelter of water mostly enclosed by land (sounds, lagoons, bays)."""
    reach = rng.uniform(5e3, 25e3)
    upwind = np.radians(mean_direction - heading)  # frame angle the wind comes from
    step_a, step_s = math.cos(upwind) * NODE_SPACING_M, math.sin(upwind) * NODE_SPACING_M
    inv = ~raster.to_frame
    dc = inv.a * step_s + inv.b * step_a
    dr = inv.d * step_s + inv.e * step_a
    ni, nj = land.shape
    ii, jj = np.meshgrid(
        np.arange(ni, dtype=np.float64), np.arange(nj, dtype=np.float64), indexing="ij"
    )
    shadow = np.zeros(land.shape)
    for k in range(1, int(3 * reach / NODE_SPACING_M) + 1):
        shifted = ndimage.map_coordinates(
            land, [ii + k * dr / spacing, jj + k * dc / spacing], order=1, mode="constant", cval=0.0
        )
        shadow = np.maximum(shadow, shifted * math.exp(-k * NODE_SPACING_M / reach))
    # the shadow spreads sideways as it goes: headlands cast soft wakes, not sharp stripes
    shadow = ndimage.gaussian_filter(shadow, sigma=3.0, mode="nearest")
    enclosed = ndimage.uniform_filter(land, size=9, mode="nearest")
    shelter = _smoothstep((enclosed - 0.5) / 0.25)
    return np.maximum(rng.uniform(0.5, 0.9) * shadow, rng.uniform(0.6, 0.95) * shelter)


def _rain(
    cells: list[RainCell], a_n: np.ndarray, s_n: np.ndarray, ragged: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gust patches (ln wind) and core damping (dB) of rain cells on grid nodes; ``ragged``
    breaks both into blotches."""
    gust = np.zeros(a_n.shape, dtype=np.float32)
    core = np.zeros(a_n.shape, dtype=np.float32)
    for cell in cells:
        reach = 1.6 * cell.radius
        rows = np.flatnonzero((np.abs(a_n - cell.center[0]) < reach).any(axis=1))
        cols = np.flatnonzero((np.abs(s_n - cell.center[1]) < reach).any(axis=0))
        if rows.size == 0 or cols.size == 0:
            continue
        box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        da = a_n[box] - cell.center[0]
        ds = s_n[box] - cell.center[1]
        t = np.arctan2(ds, da)
        lobes = 1.0 + sum(
            cell.shape[2 * m] * np.cos((m + 2) * t + cell.shape[2 * m + 1]) for m in range(3)
        )
        r = np.hypot(da, ds) / (cell.radius * lobes)
        blotch = np.clip(1.0 + 0.9 * ragged[box], 0.0, 2.0)
        gust[box] += (cell.gust * np.exp(-1.2 * r * r) * blotch).astype(np.float32)
        core_r = cell.core_radius or 0.45 * cell.radius
        ca = da - cell.core_offset[0]
        cs = ds - cell.core_offset[1]
        rc = np.hypot(ca, cs) / (core_r * lobes)
        core[box] += (cell.core_db * np.exp(-1.5 * rc * rc) * blotch).astype(np.float32)
    return gust, core


def build_wind(
    rng: np.random.Generator,
    raster: RasterGeometry,
    *,
    heading: float,
    mean_speed: float,
    mean_direction: float,
    lookalikes: bool,
    land: np.ndarray | None,
    rain_cells: list[RainCell],
    texture: TextureParams,
    calm_share: float | None = None,
) -> WindField:
    """Draw the scene's wind and turn it into clean sigma0 on the sea grid.

    Args:
        rng: the plan's generator.
        raster: the raster grid.
        heading: ground-track heading (degrees).
        mean_speed, mean_direction: scene-mean wind (m/s; degrees from).
        lookalikes: add calm areas, fronts and rain cells.
        land: land fraction on the coarse grid (:func:`coarse_shape`), or ``None``.
        rain_cells: rain cells (swath frame) to imprint.
        texture: the wind texture of the scene.
        calm_share: share of the scene to make calm (0..0.9); ``None`` draws one that suits the
            wind (large at light wind, none in a gale).
    """
    px = raster.pixel_size
    c_spacing = NODE_SPACING_M / px
    c_shape = coarse_shape(raster)
    axis = wind_axis(raster, mean_direction)

    broad = spectral_field(rng, c_shape, spacing=NODE_SPACING_M, scale=40e3)
    meso = spectral_field(rng, c_shape, spacing=NODE_SPACING_M, scale=8e3, axis=axis, stretch=2.0)
    log_u = (
        np.log(max(mean_speed, 0.3))
        + rng.uniform(0.05, 0.15) * broad
        + rng.uniform(0.02, 0.06) * meso
    )
    direction = mean_direction + rng.uniform(4.0, 15.0) * spectral_field(
        rng, c_shape, spacing=NODE_SPACING_M, scale=30e3
    )
    calm_field = None
    asked = calm_share
    calm_share = 0.0
    if lookalikes:
        # calm areas: the large dark regions of real scenes, elongated along the wind
        suits = float(np.interp(mean_speed, [5.0, 8.0, 10.5], [1.4, 0.5, 0.0]))
        calm_share = float(np.clip(rng.beta(1.2, 3.0) * suits, 0.0, 0.55))
        if asked is not None:
            calm_share = float(np.clip(asked, 0.0, 0.9))
        if calm_share > 0.03:
            scale = rng.uniform(40e3, 120e3)
            calm_field = spectral_field(
                rng,
                c_shape,
                spacing=NODE_SPACING_M,
                scale=scale,
                axis=axis,
                stretch=rng.uniform(1.2, 2.2),
            )
            # isotropic detail at 40 % of the scale, so that a few long modes do not lay
            # the calm areas out in parallel bands
            calm_field += 0.4 * spectral_field(
                rng, c_shape, spacing=NODE_SPACING_M, scale=scale / 2.5
            )
    lee = None
    if land is not None and land.max() > 0:
        lee = _lee(rng, raster, land, c_spacing, heading=heading, mean_direction=mean_direction)

    # the sea grid
    spacing_m = sea_spacing_m(raster)
    spacing = spacing_m / px
    rows, cols = raster.shape
    shape = (int(math.ceil(rows / spacing)) + 3, int(math.ceil(cols / spacing)) + 3)
    u_r = sea_node_position(np.arange(shape[0]), spacing) / c_spacing
    u_c = sea_node_position(np.arange(shape[1]), spacing) / c_spacing
    a_n, s_n = _node_frame(raster, spacing, shape)
    tex, ragged = texture_fields(rng, shape, spacing_m=spacing_m, wind_axis=axis, params=texture)
    ln_base = bilinear(log_u, u_r, u_c)  # the wind without its texture, for the labels
    ln_u = ln_base + tex
    mix = np.zeros(shape, dtype=np.float32)
    if calm_field is not None:
        level = float(np.quantile(calm_field, 1.0 - calm_share))
        edge = rng.uniform(0.5, 1.5)
        fray = rng.uniform(0.1, 0.25)
        f = bilinear(calm_field, u_r, u_c) + np.float32(fray) * ragged
        mix = _smoothstep((f - np.float32(level)) / np.float32(edge) + np.float32(0.5))
    if lee is not None:
        mix = np.maximum(mix, bilinear(lee, u_r, u_c))
    if mix.any():
        calm = np.log(rng.uniform(0.3, 1.6)) + 0.1 * meso
        calm_base = bilinear(calm, u_r, u_c)
        ln_calm = calm_base + np.float32(0.3) * tex
        ln_u += mix * (np.minimum(ln_calm, ln_u) - ln_u)
        ln_base += mix * (np.minimum(calm_base, ln_base) - ln_base)
    turn = np.zeros(shape, dtype=np.float32)
    front = np.zeros(shape, dtype=np.float32)
    if lookalikes:
        # atmospheric fronts: a step in wind speed and a turn across a curved, wavy line; fronts
        # run for hundreds of km, so the chance that one crosses grows with the raster's size
        extent_km = math.hypot(rows, cols) * px / 1e3
        for _ in range(int(rng.poisson(min(1.2, 0.8 * extent_km / 300.0)))):
            beta = math.radians(rng.uniform(0, 360))
            p0 = (rng.uniform(a_n.min(), a_n.max()), rng.uniform(s_n.min(), s_n.max()))
            da, ds = a_n - p0[0], s_n - p0[1]
            v = da * math.cos(beta) + ds * math.sin(beta)
            along = -da * math.sin(beta) + ds * math.cos(beta)
            v = v + rng.uniform(-1, 1) * along**2 / 200e3 + rng.uniform(500, 3000) * ragged
            width = rng.uniform(300, 2500)
            side = 1.0 / (1.0 + np.exp(-v / width))
            jump = math.log(rng.uniform(0.5, 1.6))
            step = np.float32(jump) * side.astype(np.float32)
            ln_u += step
            ln_base += step
            if abs(jump) >= 0.2:
                # the band along the front on its calmer side reads as a dark edge: a look-alike
                dark = (v < 0) if jump > 0 else (v > 0)
                front[dark & (np.abs(v) < 2.0 * width + 2500.0)] = 1.0
            turn += np.float32(rng.uniform(-40, 40)) * side.astype(np.float32)
    gust, rain_db = _rain(rain_cells, a_n, s_n, ragged)
    ln_u += gust
    ln_base += gust
    speed = np.exp(ln_u).astype(np.float32)
    np.maximum(speed, np.float32(0.2), out=speed)

    theta = incidence_deg(s_n.astype(np.float32))
    look = heading + 90.0
    phi = bilinear(direction, u_r, u_c) + turn - np.float32(look)
    return WindField(
        spacing=spacing,
        raster=raster,
        speed=speed,
        base_speed=np.exp(ln_base).astype(np.float32),
        front=front,
        vv_db=cmod5n_db(speed, phi, theta),
        vh_db=vh_sigma0_db(speed).astype(np.float32),
        rain_db=rain_db,
        incidence=theta.astype(np.float32),
        mean_speed=mean_speed,
        mean_direction=mean_direction,
        calm_share=calm_share,
        has_rain=bool(rain_db.any()),
    )


def coarse_shape(raster: RasterGeometry) -> tuple[int, int]:
    """Nodes (rows, columns) of a raster's coarse wind grid."""
    spacing = NODE_SPACING_M / raster.pixel_size
    return (
        int(math.ceil(raster.shape[0] / spacing)) + 2,
        int(math.ceil(raster.shape[1] / spacing)) + 2,
    )
