"""Render a window of a planned scene: sigma0 VV and VH, incidence, labels.

The order of a pixel's making: clean sea sigma0 from the coarse wind grid; wind texture through the
GMF slope; look-alike modulation (rain cores, films, fronts, wakes, internal waves); oil damping;
land; bright targets; the noise floor; speckle; nodata. Every random number comes from the plan or
from generators keyed by the scene's own tiles, so any window gives the same pixels as the whole.

Labels. A pixel is oil when the slick changes what the sensor sees there by at least
:data:`LABEL_CONTRAST_DB`: ``10 log10((sea + noise) / (sea * damping + noise)) >= 1.5 dB``, where
``damping = 1 - cover * (1 - 10^(-D/10))`` holds the slick's covered share of the pixel (``cover``)
and its damping ``D`` at the local wind. So thin slicks are labelled where they cover enough of a
pixel at that pixel size, slicks in calm water (where the sea is already at the noise floor) or in
strong wind are not labelled, and the label matches the darkening a model can see. Look-alike pixels
are those darkened by 1.5 dB or more by a look-alike feature, plus sea with wind under
:data:`~catalog.simulate.wind.LOW_WIND_MS` (dark on its own), never oil or land.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from catalog.simulate.backscatter import LAND_SPREAD_DB, LAND_VH_DB, LAND_VV_DB, noise_floor
from catalog.simulate.features import wave_packet_db
from catalog.simulate.geometry import incidence_deg
from catalog.simulate.noise import fractal_noise, lattice_noise, line_noise
from catalog.simulate.plan import ScenePlan
from catalog.simulate.speckle import enl_for_pixel_size, speckle
from catalog.simulate.strokes import cover
from catalog.simulate.wind import LOW_WIND_MS

LABEL_CONTRAST_DB = 1.5
"""Least darkening (dB) a slick or look-alike must cause at a pixel for the pixel to be labelled."""

_DB = np.float32(np.log(10.0) / 10.0)
_STREAM_TEXTURE = 100
_STREAM_SPECKLE_VV = 201
_STREAM_SPECKLE_VH = 202
_STREAM_LAND = 400
_STREAM_PATCH = 500
_TEXTURE_OCTAVES_M = (250.0, 600.0, 1500.0, 4000.0)
_TEXTURE_WEIGHTS = (0.09, 0.06, 0.02, 0.02)


def from_db(x: np.ndarray) -> np.ndarray:
    """dB to linear, float32 (``exp`` is vectorized for float32 where ``10 **`` is not)."""
    return np.exp(x.astype(np.float32, copy=False) * _DB)


@dataclass
class Window:
    """Rendered arrays of one window."""

    vv: np.ndarray
    """VV sigma0, linear, float32, NaN = nodata."""
    vh: np.ndarray
    """VH sigma0, linear, float32, NaN = nodata."""
    incidence: np.ndarray
    """Incidence angle (degrees), float32."""
    classes: np.ndarray
    """uint8: 0 background, 1 INFRA, 2 NATURAL, 3 VESSEL."""
    lookalike: np.ndarray
    """bool: dark look-alike (not oil)."""
    land: np.ndarray
    """bool: land."""
    valid: np.ndarray
    """bool: inside the product's data area."""
    slick_pixels: np.ndarray
    """Labelled pixels per slick of the plan (int64, one per slick)."""


def _texture(
    plan: ScenePlan, rows: np.ndarray, cols: np.ndarray, a: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """Small-scale wind modulation in ln(wind) units: gusts, streaks, convective cells."""
    px = plan.raster.pixel_size
    tx = plan.texture
    seed = plan.seed
    spacings = tuple(o / px for o in _TEXTURE_OCTAVES_M)
    weights = tuple(w * tx["fine"] for w in _TEXTURE_WEIGHTS)
    out = fractal_noise(seed, _STREAM_TEXTURE, rows, cols, spacings, weights)
    if tx["streaks"] > 0:
        beta = math.radians(plan.wind.mean_direction - plan.swath.heading_deg)
        across = -a * np.float32(math.sin(beta)) + s * np.float32(math.cos(beta))
        wobble = np.float32(600.0) * lattice_noise(
            seed, _STREAM_TEXTURE + 1, rows, cols, 6000.0 / px
        )
        streak = line_noise(seed, _STREAM_TEXTURE + 2, across + wobble, tx["streak_spacing"] / 2)
        fade = 0.6 + 0.4 * lattice_noise(seed, _STREAM_TEXTURE + 3, rows, cols, 15000.0 / px)
        out += np.float32(tx["streaks"]) * streak * fade
    if tx["cells"] > 0 and tx["cell_size"] / px >= 1.0:
        cells = np.abs(lattice_noise(seed, _STREAM_TEXTURE + 4, rows, cols, tx["cell_size"] / px))
        out += np.float32(tx["cells"]) * (np.float32(0.8) - cells)
    return out


def render_window(plan: ScenePlan, window: tuple[int, int, int, int]) -> Window:
    """Render ``window`` = ``(row_off, col_off, height, width)`` of the planned scene."""
    r0, c0, h, w = window
    rows = np.arange(r0, r0 + h)
    cols = np.arange(c0, c0 + w)
    raster, swath, wind = plan.raster, plan.swath, plan.wind
    px = raster.pixel_size
    a, s = raster.frame_coords(rows, cols)
    valid = swath.valid(a, s)
    theta = incidence_deg(s)

    # clean sea (dB): open wind, calm patches mixed in per pixel so their edges stay sharp
    vv_db = wind.window("vv_db", rows, cols)
    vv_slope = wind.window("vv_slope", rows, cols)
    vh_db = wind.window("vh_db", rows, cols)
    speed = wind.window("speed", rows, cols)
    if wind.patch is not None:
        patch = wind.window("patch", rows, cols)
        patch += fractal_noise(
            plan.seed,
            _STREAM_PATCH,
            rows,
            cols,
            (2500.0 / px, 700.0 / px, 250.0 / px),
            (0.2, 0.12, 0.06),
        )
        m = wind.calm_share(patch)
        if m.any():
            vv_db += m * (wind.window("calm_vv_db", rows, cols) - vv_db)
            vv_slope += m * (wind.window("calm_vv_slope", rows, cols) - vv_slope)
            vh_db += m * (wind.window("calm_vh_db", rows, cols) - vh_db)
            speed += m * (wind.window("calm_speed", rows, cols) - speed)
    # wind texture through the GMF slope (dB)
    tex = _texture(plan, rows, cols, a, s)
    vv_db += vv_slope * tex
    vh_db += np.where(speed >= 8.0, np.float32(0.580), np.float32(1.2)) * speed * tex
    la_db = -wind.window("rain_db", rows, cols)  # look-alike modulation, dB (negative darkens)
    for packet in plan.packets:
        if packet.amplitude_db > 0:
            mod = wave_packet_db(packet, a, s)
            if mod is not None:
                la_db += mod

    n = h * w
    la_flat = la_db.reshape(-1)
    oil = np.ones(n, dtype=np.float32)
    oil_class = np.zeros(n, dtype=np.uint8)
    oil_slick = np.full(n, -1, dtype=np.int32)
    bright_cover = np.zeros(n, dtype=np.float32)
    bright_power = np.zeros(n, dtype=np.float32)
    for stroke in plan.strokes:
        cov = cover(stroke, raster, window)
        if cov is None:
            continue
        if stroke.layer == "bright":
            np.add.at(bright_cover, cov.index, cov.cover.astype(np.float32))
            np.add.at(
                bright_power,
                cov.index,
                (cov.cover * 10.0 ** (cov.strength / 10.0)).astype(np.float32),
            )
            continue
        factor = 1.0 - cov.cover * (1.0 - 10.0 ** (-cov.strength / 10.0))
        if stroke.layer == "lookalike":
            # overlapping look-alikes add up in dB; within one stroke keep the strongest (joints)
            order = np.lexsort((factor, cov.index))
            idx, first = np.unique(cov.index[order], return_index=True)
            la_flat[idx] += (10.0 * np.log10(np.maximum(factor[order][first], 1e-3))).astype(
                np.float32
            )
        else:
            f = factor.astype(np.float32)
            np.minimum.at(oil, cov.index, f)
            won = f <= oil[cov.index]
            oil_class[cov.index[won]] = stroke.class_id
            oil_slick[cov.index[won]] = stroke.slick

    la_lin = from_db(la_db)
    sea_vv = from_db(vv_db + la_db)
    sea_vh = from_db(vh_db + la_db)
    oil = oil.reshape(h, w)
    nv, nh = noise_floor(swath, a, s)

    if plan.coast is not None:
        land_frac = plan.coast.land(a, s, rows, cols, px)
    else:
        land_frac = np.zeros((h, w), dtype=np.float32)
    land = land_frac >= 0.5

    # labels before land and targets: the contrast a slick makes against its own sea
    contrast = 10.0 * np.log10((sea_vv + nv) / (sea_vv * oil + nv))
    is_oil = (contrast >= LABEL_CONTRAST_DB) & ~land & valid
    classes = np.where(is_oil, oil_class.reshape(h, w), 0).astype(np.uint8)
    la_contrast = 10.0 * np.log10((sea_vv / la_lin + nv) / (sea_vv + nv))
    lookalike = (
        ((la_contrast >= LABEL_CONTRAST_DB) | (speed < LOW_WIND_MS)) & ~is_oil & ~land & valid
    )
    labelled = oil_slick.reshape(h, w)[is_oil]
    slick_pixels = np.bincount(labelled[labelled >= 0], minlength=len(plan.slicks)).astype(np.int64)

    vv = sea_vv * oil
    vh = sea_vh * (1.0 - (1.0 - oil) * np.float32(0.7))
    if plan.coast is not None and land_frac.any():
        land_tex = fractal_noise(
            plan.seed,
            _STREAM_LAND,
            rows,
            cols,
            (8000 / px, 2000 / px, 500 / px, 120 / px),
            (0.5, 0.5, 0.45, 0.35),
        )
        land_vv = (
            np.float32(LAND_VV_DB + plan.texture["land_vv"]) + np.float32(LAND_SPREAD_DB) * land_tex
        )
        land_vh = land_vv + np.float32(LAND_VH_DB - LAND_VV_DB)
        vv = vv * (1 - land_frac) + from_db(land_vv) * land_frac
        vh = vh * (1 - land_frac) + from_db(land_vh) * land_frac
    bc = np.minimum(bright_cover, 1.0).reshape(h, w)
    if bc.any():
        bp = bright_power.reshape(h, w)
        vv = vv * (1 - bc) + bp
        vh = vh * (1 - bc) + bp * np.float32(10 ** (-0.6))

    enl = enl_for_pixel_size(px)
    vv = (vv + nv) * speckle(plan.seed, _STREAM_SPECKLE_VV, rows, cols, enl=enl)
    vh = (vh + nh) * speckle(plan.seed, _STREAM_SPECKLE_VH, rows, cols, enl=enl)
    vv[~valid] = np.nan
    vh[~valid] = np.nan
    return Window(
        vv=vv.astype(np.float32),
        vh=vh.astype(np.float32),
        incidence=theta,
        classes=classes,
        lookalike=lookalike,
        land=land & valid,
        valid=valid,
        slick_pixels=slick_pixels,
    )
