"""The wind over the scene and the sea's clean backscatter, on a coarse grid of the scene.

The plan holds the wind on nodes about 1 km apart: a scene-mean speed and direction, broad
variability, patches of calm (the large dark areas of real scenes), atmospheric fronts, rain-cell
gust fronts, and the wind shadow in the lee of land. CMOD5.N (VV) and C-2PO (VH) turn it into clean
sigma0 on the same nodes, together with the slope of sigma0 (dB) against ln(wind): finer wind
texture (streaks, convective cells, gusts) is added per pixel through that slope, so it is strong
where the sea is calm and the GMF is steep, as on real scenes. Calm patches are mixed in per pixel
(their own clean sigma0 is on the nodes too) so that their edges stay sharp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from catalog.simulate.backscatter import cmod5n, vh_sigma0_db
from catalog.simulate.features import RainCell
from catalog.simulate.geometry import RasterGeometry, incidence_deg
from catalog.simulate.noise import spectral_field

LOW_WIND_MS = 3.0
"""Below this wind speed (m/s) the sea is dark on its own: a look-alike area."""
NODE_SPACING_M = 1000.0
"""Spacing of the coarse wind grid (metres)."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def interp_grid(grid: np.ndarray, rows: np.ndarray, cols: np.ndarray, spacing: float) -> np.ndarray:
    """Bilinear interpolation of a node grid (node ``i`` at pixel edge ``i * spacing``) at the pixel
    centres of a window, separably; float32 ``(len(rows), len(cols))``."""

    def weights(idx: np.ndarray, n: int):
        u = (idx.astype(np.float64) + 0.5) / spacing
        i = np.clip(np.floor(u).astype(np.int64), 0, n - 2)
        f = np.clip(u - i, 0.0, 1.0).astype(np.float32)
        return i, f

    g = grid.astype(np.float32, copy=False)
    ir, fr = weights(rows, g.shape[0])
    ic, fc = weights(cols, g.shape[1])
    along = g[ir] * (1 - fr)[:, None] + g[ir + 1] * fr[:, None]
    return along[:, ic] * (1 - fc) + along[:, ic + 1] * fc


@dataclass(frozen=True)
class WindField:
    """Wind and clean sea backscatter on the coarse node grid of a scene."""

    spacing: float
    """Node spacing in pixels."""
    raster: RasterGeometry = field(repr=False)
    """The raster the nodes are laid on."""
    speed: np.ndarray = field(repr=False)
    """10 m wind speed (m/s)."""
    direction: np.ndarray = field(repr=False)
    """Direction the wind blows from (degrees clockwise from north)."""
    vv_db: np.ndarray = field(repr=False)
    """Clean VV sigma0 (dB)."""
    vv_slope: np.ndarray = field(repr=False)
    """d(VV dB) / d(ln wind)."""
    vh_db: np.ndarray = field(repr=False)
    """Clean VH sigma0 (dB)."""
    vh_slope: np.ndarray = field(repr=False)
    """d(VH dB) / d(ln wind)."""
    rain_db: np.ndarray = field(repr=False)
    """Damping by rain-cell cores (dB, >= 0)."""
    patch: np.ndarray | None = field(default=None, repr=False)
    """Calm-patch field (unit variance); calm where it exceeds ``patch_level``; ``None``: no
    patches."""
    patch_level: float = 0.0
    """Threshold of ``patch``."""
    patch_edge: float = 0.2
    """Softness of the patches' edges, in ``patch`` units."""
    calm_speed: np.ndarray | None = field(default=None, repr=False)
    """Wind speed inside calm patches (m/s)."""
    calm_vv_db: np.ndarray | None = field(default=None, repr=False)
    """Clean VV sigma0 inside calm patches (dB)."""
    calm_vv_slope: np.ndarray | None = field(default=None, repr=False)
    """d(VV dB) / d(ln wind) inside calm patches."""
    calm_vh_db: np.ndarray | None = field(default=None, repr=False)
    """Clean VH sigma0 inside calm patches (dB)."""
    mean_speed: float = 0.0
    """Scene-mean wind speed asked for (m/s)."""
    mean_direction: float = 0.0
    """Scene-mean wind direction (from, degrees)."""

    def window(self, name: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """A node field interpolated to a window's pixels."""
        return interp_grid(getattr(self, name), rows, cols, self.spacing)

    def calm_share(self, patch: np.ndarray) -> np.ndarray:
        """How calm (0 open sea .. 1 inside a calm patch) a value of the patch field is."""
        return _smoothstep(
            (patch - np.float32(self.patch_level)) / np.float32(self.patch_edge) + np.float32(0.5)
        )

    def speed_at(self, a: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Wind speed (m/s) at swath-frame points (bilinear between nodes, calm patches
        included)."""
        row, col = self.raster.frame_to_pixel(a, s)
        coords = np.stack([np.ravel(row) / self.spacing, np.ravel(col) / self.spacing])
        out = ndimage.map_coordinates(self.speed, coords, order=1, mode="nearest")
        if self.patch is not None:
            m = self.calm_share(
                ndimage.map_coordinates(self.patch, coords, order=1, mode="nearest")
            )
            out = (
                out * (1 - m)
                + ndimage.map_coordinates(self.calm_speed, coords, order=1, mode="nearest") * m
            )
        return out.reshape(np.shape(a))


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
) -> WindField:
    """Draw the scene's wind on the node grid and turn it into clean sigma0.

    Args:
        rng: the plan's generator.
        raster: the raster grid.
        heading: ground-track heading (degrees).
        mean_speed, mean_direction: scene-mean wind (m/s; degrees from).
        lookalikes: add calm patches, fronts and rain cells.
        land: land fraction on the node grid, or ``None``.
        rain_cells: rain cells (swath frame) to imprint.
    """
    spacing = NODE_SPACING_M / raster.pixel_size
    ni = int(math.ceil(raster.shape[0] / spacing)) + 2
    nj = int(math.ceil(raster.shape[1] / spacing)) + 2
    rr, cc = np.meshgrid(np.arange(ni) * spacing, np.arange(nj) * spacing, indexing="ij")
    s_n, a_n = raster.to_frame @ (cc, rr)
    shape = (ni, nj)

    broad = spectral_field(rng, shape, spacing=NODE_SPACING_M, scale=40e3)
    meso = spectral_field(rng, shape, spacing=NODE_SPACING_M, scale=8e3)
    log_u = (
        np.log(max(mean_speed, 0.3))
        + rng.uniform(0.08, 0.25) * broad
        + rng.uniform(0.04, 0.12) * meso
    )
    speed = np.exp(log_u)
    direction = mean_direction + rng.uniform(4.0, 15.0) * spectral_field(
        rng, shape, spacing=NODE_SPACING_M, scale=30e3
    )
    rain_db = np.zeros(shape)
    patch = calm = None
    patch_level, patch_edge = 0.0, 0.2

    if lookalikes:
        # calm patches: the large dark areas of real scenes, with ragged edges
        calm_share = float(np.clip(rng.beta(1.2, 3.0) * (1.6 if mean_speed < 6 else 0.6), 0.0, 0.6))
        if calm_share > 0.02:
            patch = spectral_field(rng, shape, spacing=NODE_SPACING_M, scale=rng.uniform(6e3, 25e3))
            patch += 0.35 * spectral_field(rng, shape, spacing=NODE_SPACING_M, scale=4e3)
            patch /= patch.std()
            patch_level = float(np.quantile(patch, 1.0 - calm_share))
            patch_edge = float(rng.uniform(0.05, 0.4))
            calm = rng.uniform(0.4, 2.2) * np.exp(0.3 * meso)
        # atmospheric fronts: a jump in speed and a turn of direction across a curved line
        for _ in range(int(rng.poisson(0.6))):
            beta = math.radians(rng.uniform(0, 360))
            p0 = (rng.uniform(a_n.min(), a_n.max()), rng.uniform(s_n.min(), s_n.max()))
            da, ds = a_n - p0[0], s_n - p0[1]
            v = da * math.cos(beta) + ds * math.sin(beta)
            along = -da * math.sin(beta) + ds * math.cos(beta)
            v = v + rng.uniform(-1, 1) * along**2 / 200e3 + 1500 * meso
            side = 1.0 / (1.0 + np.exp(-v / rng.uniform(400, 3000)))
            speed = speed * (1 + (rng.uniform(0.45, 1.6) - 1) * side)
            direction = direction + rng.uniform(-40, 40) * side
        for cell in rain_cells:
            r = np.hypot(a_n - cell.center[0], s_n - cell.center[1])
            ring = np.exp(-(((r - cell.radius) / (0.35 * cell.radius)) ** 2))
            speed = speed * (1 + cell.gust * ring)
            rain_db = rain_db + cell.core_db * np.exp(-((r / (0.45 * cell.radius)) ** 2))

    if land is not None and land.max() > 0:
        # wind shadow downwind of land, decaying over 5-30 km
        reach = rng.uniform(5e3, 30e3)
        upwind = np.radians(mean_direction - heading)  # frame angle the wind comes from
        step_a, step_s = math.cos(upwind) * NODE_SPACING_M, math.sin(upwind) * NODE_SPACING_M
        inv = ~raster.to_frame
        dc = inv.a * step_s + inv.b * step_a
        dr = inv.d * step_s + inv.e * step_a
        ii, jj = np.meshgrid(
            np.arange(ni, dtype=np.float64), np.arange(nj, dtype=np.float64), indexing="ij"
        )
        shadow = np.zeros(shape)
        for k in range(1, int(3 * reach / NODE_SPACING_M) + 1):
            shifted = ndimage.map_coordinates(
                land,
                [ii + k * dr / spacing, jj + k * dc / spacing],
                order=1,
                mode="constant",
                cval=0.0,
            )
            shadow = np.maximum(shadow, shifted * math.exp(-k * NODE_SPACING_M / reach))
        speed = speed * (1 - rng.uniform(0.6, 0.9) * shadow)
    speed = np.maximum(speed, 0.2)

    theta = incidence_deg(s_n).astype(np.float64)
    phi = direction - (heading + 90.0)
    vv, vv_slope = _gmf(speed, phi, theta)
    extra = {}
    if patch is not None:
        calm = np.minimum(speed, calm)
        calm_vv, calm_slope = _gmf(calm, phi, theta)
        extra = {
            "patch": patch.astype(np.float32),
            "patch_level": patch_level,
            "patch_edge": patch_edge,
            "calm_speed": calm.astype(np.float32),
            "calm_vv_db": calm_vv,
            "calm_vv_slope": calm_slope,
            "calm_vh_db": vh_sigma0_db(calm).astype(np.float32),
        }
    return WindField(
        spacing=spacing,
        raster=raster,
        speed=speed.astype(np.float32),
        direction=direction.astype(np.float32),
        vv_db=vv.astype(np.float32),
        vv_slope=vv_slope,
        vh_db=vh_sigma0_db(speed).astype(np.float32),
        vh_slope=(np.where(speed >= 8.0, 0.580, 1.2) * speed).astype(np.float32),
        rain_db=rain_db.astype(np.float32),
        mean_speed=mean_speed,
        mean_direction=mean_direction,
        **extra,
    )


def _gmf(speed: np.ndarray, phi: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CMOD5.N sigma0 (dB) and its slope against ln(wind) (dB per unit, clipped to 0..40)."""
    vv = 10 * np.log10(cmod5n(speed, phi, theta))
    step = 1.15
    up = 10 * np.log10(cmod5n(speed * step, phi, theta))
    down = 10 * np.log10(cmod5n(speed / step, phi, theta))
    slope = (up - down) / (2 * math.log(step))
    return vv.astype(np.float32), np.clip(slope, 0.0, 40.0).astype(np.float32)
