"""Render a window of a planned scene: sigma0 VV and VH, incidence, labels.

The order of a pixel's making: clean sea sigma0 (wind, texture, calm areas, fronts, rain gusts),
interpolated from the plan's sea grid; look-alike modulation (rain cores, films, fronts, wakes,
internal waves); oil damping; land; bright targets; the noise floor; speckle; nodata. Every random
number comes from the plan or from generators keyed by the scene's own tiles, so any window gives
the same pixels as the whole.

Labels. A pixel is oil when the slick changes what the sensor sees there by at least
:data:`LABEL_CONTRAST_DB`: ``10 log10((sea + noise) / (sea * damping + noise)) >= 1.5 dB``, where
``damping = 1 - cover * (1 - 10^(-D/10))`` holds the slick's covered share of the pixel (``cover``)
and its damping ``D`` at the local wind. So thin slicks are labelled where they cover enough of a
pixel at that pixel size, slicks in calm water (where the sea is already at the noise floor) or in
strong wind are not labelled, and the label matches the darkening a model can see. Look-alike pixels
are those darkened by 1.5 dB or more by a look-alike feature, plus sea with wind under
:data:`~catalog.simulate.wind.LOW_WIND_MS` (dark on its own; the wind without its kilometre-scale
texture decides, so low-wind areas are labelled as whole regions), and the band along an
atmospheric front on its calmer side (where the mean level steps down), never oil or land.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from catalog.simulate.backscatter import LAND_VH_DB, LAND_VV_DB, burst_phase, noise_floor
from catalog.simulate.features import wave_packet_db
from catalog.simulate.plan import ScenePlan
from catalog.simulate.speckle import enl_for_pixel_size, speckle
from catalog.simulate.strokes import cover
from catalog.simulate.wind import LOW_WIND_MS

LABEL_CONTRAST_DB = 1.5
"""Least darkening (dB) a slick or look-alike must cause at a pixel for the pixel to be labelled."""

_DB = np.float32(np.log(10.0) / 10.0)
_STREAM_SPECKLE_VV = 201
_STREAM_SPECKLE_VH = 202


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
    oil_power: np.ndarray
    """float32: the share of its clean power (sea + noise, before speckle) a sea pixel keeps under
    oil, labelled or not (1 without oil). Averaged over a coarser pixel it gives the slick's
    contrast at that pixel size, as :func:`model.data.make_chip` labels chips."""
    oil_class: np.ndarray
    """uint8: the class of the slick that darkens each pixel most, labelled or not (0 none)."""


def render_window(plan: ScenePlan, window: tuple[int, int, int, int]) -> Window:
    """Render ``window`` = ``(row_off, col_off, height, width)`` of the planned scene."""
    r0, c0, h, w = window
    rows = np.arange(r0, r0 + h)
    cols = np.arange(c0, c0 + w)
    raster, swath, wind = plan.raster, plan.swath, plan.wind
    px = raster.pixel_size
    a, s = raster.frame_coords(rows, cols)
    valid = swath.valid(a, s)
    theta, vv_db, vh_db, speed, front = wind.windows(
        ("incidence", "vv_db", "vh_db", "base_speed", "front"), rows, cols
    )
    if plan.wind.has_rain:
        la_db = -wind.window("rain_db", rows, cols)  # look-alike modulation, dB (< 0 darkens)
    else:
        la_db = np.zeros((h, w), dtype=np.float32)
    for packet in plan.packets:
        if packet.amplitude_db > 0:
            mod = wave_packet_db(packet, a, s)
            if mod is not None:
                la_db += mod

    n = h * w
    la_db = np.ascontiguousarray(la_db)
    la_flat = la_db.reshape(-1)  # a view: writes land in la_db
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

    sea_vv = from_db(vv_db + la_db)
    sea_vh = from_db(vh_db + la_db)
    nv, nh = noise_floor(swath, a, s, phase=burst_phase(raster, rows, cols))

    if plan.coast is not None:
        land_frac, coast_f, barrier = plan.coast.land_and_field(a, s, rows, cols, px)
        land = land_frac >= 0.5
        sea = ~land & valid
    else:
        land = np.zeros((h, w), dtype=bool)
        sea = valid

    # labels before land and targets: the contrast a slick makes against its own sea, computed
    # where a slick or a look-alike darkens the sea at all
    sea_flat, nv_flat, sea_ok = sea_vv.reshape(-1), nv.reshape(-1), sea.reshape(-1)
    is_oil = np.zeros(n, dtype=bool)
    oil_power = np.ones(n, dtype=np.float32)
    dark = np.flatnonzero(oil < np.float32(0.999))
    if dark.size:
        sv, nvd = sea_flat[dark], nv_flat[dark]
        kept = np.where(sea_ok[dark], (sv * oil[dark] + nvd) / (sv + nvd), 1.0)
        oil_power[dark] = kept
        is_oil[dark] = (-10.0 * np.log10(kept) >= LABEL_CONTRAST_DB) & sea_ok[dark]
    lookalike = ((speed < LOW_WIND_MS) | (front > 0.5)).reshape(-1)
    shade = np.flatnonzero(la_flat <= -LABEL_CONTRAST_DB)
    if shade.size:
        sv, nvd = sea_flat[shade], nv_flat[shade]
        clean = sv / from_db(la_flat[shade])
        lookalike[shade] |= 10.0 * np.log10((clean + nvd) / (sv + nvd)) >= LABEL_CONTRAST_DB
    lookalike &= ~is_oil & sea_ok
    classes = np.where(is_oil, oil_class, 0).astype(np.uint8).reshape(h, w)
    lookalike = lookalike.reshape(h, w)
    labelled = oil_slick[is_oil]
    slick_pixels = np.bincount(labelled[labelled >= 0], minlength=len(plan.slicks)).astype(np.int64)
    is_oil = is_oil.reshape(h, w)
    oil = oil.reshape(h, w)

    vv = sea_vv
    vh = sea_vh
    if dark.size:
        at = np.divmod(dark, w)
        vv[at] *= oil[at]
        vh[at] *= np.float32(0.3) + np.float32(0.7) * oil[at]
    if plan.coast is not None and land_frac.any():
        land_vv = plan.coast.backscatter_db(a, s, rows, cols, px, f=coast_f, barrier=barrier)
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
        vv=vv.astype(np.float32, copy=False),
        vh=vh.astype(np.float32, copy=False),
        incidence=theta,
        classes=classes,
        lookalike=lookalike,
        land=land & valid,
        valid=valid,
        slick_pixels=slick_pixels,
        oil_power=oil_power.reshape(h, w),
        oil_class=np.where(oil_power < 1, oil_class, 0).astype(np.uint8).reshape(h, w),
    )
