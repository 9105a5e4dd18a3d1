"""Normalized radar cross section of the sea, the land and the instrument's noise floor (C band).

VV over the sea is CMOD5.N. No maintained, light PyPI implementation exists: ``xsarsea`` has one but
pulls numba, llvmlite, opencv and h5netcdf (hundreds of MB, a JIT compile in every Dask worker)
for a
30-line formula, so the formula is written here from its publication:

    Hersbach, H. (2010). Comparison of C-band scatterometer CMOD5.N equivalent neutral winds with
    ECMWF. J. Atmos. Oceanic Technol. 27, 721-736, Table 1 (the 28 CMOD5.N coefficients).

VH over the sea follows the C-2PO model (Zhang et al. 2011, IEEE TGRS 49(11), 4766-4774):
``sigma0_VH [dB] = 0.580 U10 - 35.652``, nearly independent of incidence and direction.

The noise floor (NESZ) and the land levels are fitted to the real Cape Hatteras scene in
``../shared/data/real`` with the calibration constant :data:`CALIBRATION_CONSTANT`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from catalog.scene import S1_GRD_CALIBRATION_CONSTANT
from catalog.simulate.geometry import BURST_LENGTH_M, SUBSWATH_EDGES, SWATH_WIDTH_M, SwathGeometry

CALIBRATION_CONSTANT = S1_GRD_CALIBRATION_CONSTANT
"""K of simulated GRD files, ``sigma0 = DN**2 / K**2``: the catalog's constant (600), so that real
and simulated DN calibrate alike. With K = 600 the real scene's land reads -9.3 dB VV / -14.8 dB VH
and its noise floor -25 to -31 dB, the published levels."""

_CMOD5N = np.array(
        [ 0.0, -0.6878, -0.7957, 0.3380, -0.1728, 0.0000, 0.0040, 0.1103, 0.0159, 6.7329,
        2.7713, -2.2885, 0.4971, -0.7250, 0.0450, 0.0066, 0.3222, 0.0120, 22.7000, 2.0813,
        3.0000, 8.3659, -3.3428, 1.3236, 6.2437, 2.3893, 0.3249, 4.1590, 1.6930,
    ]
)  # fmt: skip
"""CMOD5.N coefficients c1..c28 (index 0 unused), Hersbach (2010), Table 1."""


def _cmod5n_terms(
    wind_speed: np.ndarray, incidence_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CMOD5.N's ``(B0, B1, B2)``: ``sigma0 = B0 (1 + B1 cos phi + B2 cos 2 phi) ** 1.6``."""
    c = _CMOD5N
    v = np.maximum(np.asarray(wind_speed, dtype=np.float64), 0.05)
    x = (np.asarray(incidence_deg, dtype=np.float64) - 40.0) / 25.0
    xx = x * x
    a0 = c[1] + c[2] * x + c[3] * xx + c[4] * x * xx
    a1 = c[5] + c[6] * x
    a2 = c[7] + c[8] * x
    gam = c[9] + c[10] * x + c[11] * xx
    s0 = c[12] + c[13] * x
    s = a2 * v
    a3 = 1.0 / (1.0 + np.exp(-np.maximum(s, s0)))
    low = s < s0
    a3 = np.where(low, a3 * (np.maximum(s, 1e-12) / s0) ** (s0 * (1.0 - a3)), a3)
    b0 = a3**gam * 10.0 ** (a0 + a1 * v)
    b1 = c[15] * v * (0.5 + x - np.tanh(4.0 * (x + c[16] + c[17] * v)))
    b1 = (c[14] * (1.0 + x) - b1) / (np.exp(0.34 * (v - c[18])) + 1.0)
    v0 = c[21] + c[22] * x + c[23] * xx
    d1 = c[24] + c[25] * x + c[26] * xx
    d2 = c[27] + c[28] * x
    y0 = c[19]
    pn = c[20]
    a = y0 - (y0 - 1.0) / pn
    b = 1.0 / (pn * (y0 - 1.0) ** (pn - 1.0))
    v2 = v / v0 + 1.0
    v2 = np.where(v2 < y0, a + b * np.maximum(v2 - 1.0, 0.0) ** pn, v2)
    b2 = (-d1 + d2 * v2) * np.exp(-v2)
    return b0, b1, b2


def cmod5n(wind_speed: np.ndarray, phi_deg: np.ndarray, incidence_deg: np.ndarray) -> np.ndarray:
    """VV sigma0 (linear) of the sea from CMOD5.N.

    Args:
        wind_speed: 10 m equivalent-neutral wind speed (m/s).
        phi_deg: wind direction relative to the radar look direction (degrees); 0 is upwind
            (the wind blows towards the radar), 90 crosswind, 180 downwind.
        incidence_deg: local incidence angle (degrees).
    """
    b0, b1, b2 = _cmod5n_terms(wind_speed, incidence_deg)
    cs = np.cos(np.radians(phi_deg))
    cs2 = 2.0 * cs * cs - 1.0
    return b0 * np.maximum(1.0 + b1 * cs + b2 * cs2, 1e-6) ** 1.6


_TABLE_LOG_U = np.linspace(np.log(0.2), np.log(40.0), 400)
"""Wind speed nodes of the CMOD5.N table (log-spaced, 0.2-40 m/s: 1.3 % apart)."""
_TABLE_THETA = np.linspace(20.0, 55.0, 71)
"""Incidence nodes of the CMOD5.N table (0.5 deg apart)."""


def _cmod5n_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    uu, tt = np.meshgrid(np.exp(_TABLE_LOG_U), _TABLE_THETA, indexing="ij")
    b0, b1, b2 = _cmod5n_terms(uu, tt)
    return (
        (10.0 * np.log10(b0)).astype(np.float32),
        b1.astype(np.float32),
        b2.astype(np.float32),
    )


_B0_DB, _B1, _B2 = _cmod5n_table()


def cmod5n_db(wind_speed: np.ndarray, phi_deg: np.ndarray, incidence_deg: np.ndarray) -> np.ndarray:
    """CMOD5.N VV sigma0 in dB, float32, from a table of its terms (bilinear in log wind and
    incidence; within 0.02 dB of :func:`cmod5n` over 0.2-40 m/s and 20-55 deg, ten times faster
    for the plan's sea grid of a few hundred thousand nodes)."""
    lu = np.log(np.clip(np.asarray(wind_speed, dtype=np.float32), 0.2, 40.0))
    fu = (lu - np.float32(_TABLE_LOG_U[0])) * np.float32(
        (len(_TABLE_LOG_U) - 1) / (_TABLE_LOG_U[-1] - _TABLE_LOG_U[0])
    )
    ft = (np.asarray(incidence_deg, dtype=np.float32) - np.float32(_TABLE_THETA[0])) * np.float32(
        (len(_TABLE_THETA) - 1) / (_TABLE_THETA[-1] - _TABLE_THETA[0])
    )
    iu = np.clip(fu.astype(np.int32), 0, len(_TABLE_LOG_U) - 2)
    it = np.clip(ft.astype(np.int32), 0, len(_TABLE_THETA) - 2)
    wu = np.clip(fu - iu.astype(np.float32), np.float32(0.0), np.float32(1.0))
    wt = np.clip(ft - it.astype(np.float32), np.float32(0.0), np.float32(1.0))
    flat = iu * len(_TABLE_THETA) + it
    n_t = len(_TABLE_THETA)

    def lookup(table: np.ndarray) -> np.ndarray:
        t = table.ravel()
        lo = t[flat]
        lo += (t[flat + 1] - lo) * wt
        hi = t[flat + n_t]
        hi += (t[flat + n_t + 1] - hi) * wt
        return lo + (hi - lo) * wu

    cs = np.cos(np.radians(np.asarray(phi_deg, dtype=np.float32)))
    cs2 = np.float32(2.0) * cs * cs - np.float32(1.0)
    harmonic = np.maximum(1.0 + lookup(_B1) * cs + lookup(_B2) * cs2, np.float32(1e-6))
    return (lookup(_B0_DB) + np.float32(16.0) * np.log10(harmonic)).astype(np.float32)


VH_KNEE_MS = 8.0
"""Below this wind speed (m/s) VH falls faster than C-2PO, which was fitted on stronger winds."""
VH_LOW_SLOPE_DB = 1.2
"""VH slope below the knee (dB per m/s); with it the real scene's far range, where the sea at about
4 m/s sits on a -31 dB noise floor, reads as it does (C-2PO alone would lift it by 2 dB)."""


def vh_sigma0_db(wind_speed: np.ndarray) -> np.ndarray:
    """VH sigma0 (dB) of the sea: C-2PO (``0.580 U10 - 35.652``) above :data:`VH_KNEE_MS`, falling
    :data:`VH_LOW_SLOPE_DB` per m/s below it."""
    u = np.asarray(wind_speed, dtype=np.float64)
    knee = 0.580 * VH_KNEE_MS - 35.652
    return np.where(u >= VH_KNEE_MS, 0.580 * u - 35.652, knee - VH_LOW_SLOPE_DB * (VH_KNEE_MS - u))


NESZ_VH_DB = ((-24.7, 0.94, -0.84), (-27.9, 2.66, -0.61), (-31.2, 5.1, 0.82))
"""VH noise floor per sub-swath as ``(centre, curvature, tilt)`` (dB): at position ``u`` in 0..1
across the sub-swath it is ``centre + curvature (2u - 1)**2 + tilt (2u - 1)``. Least-squares fit
(0.1-0.2 dB rms) of the real scene's per-column median VH over the sea, less 0.2 dB for the sea's
own VH that sits on it."""
NESZ_VV_OFFSET_DB = -0.5
"""VV noise floor relative to VH: the real scene's calm water in VV sits at the VH floor."""
SCALLOP_DB = 0.2
"""Peak azimuth scalloping of the noise floor with the burst period (dB), from the real VH."""


_TABLE_STEP_M = 10.0
_TABLE_S = np.arange(-0.2 * SWATH_WIDTH_M, 1.2 * SWATH_WIDTH_M, _TABLE_STEP_M)
_EDGES = np.asarray(SUBSWATH_EDGES) * SWATH_WIDTH_M
_TABLE_SUB = np.clip(np.searchsorted(_EDGES[1:3], _TABLE_S), 0, 2)
_U = (
    np.clip((_TABLE_S - _EDGES[_TABLE_SUB]) / (_EDGES[_TABLE_SUB + 1] - _EDGES[_TABLE_SUB]), 0, 1)
    * 2
    - 1
)
_P = np.asarray(NESZ_VH_DB)[_TABLE_SUB]
_TABLE_BASE = (10.0 ** ((_P[:, 0] + _P[:, 1] * _U * _U + _P[:, 2] * _U) / 10.0)).astype(np.float32)


def burst_phase(raster, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of the burst phase ``2 pi a / BURST_LENGTH_M`` at a window's pixel
    centres, float32. The along-track position ``a`` is affine in (row, column), so the angle
    addition formula builds both from 1-D vectors: two outer products instead of two
    trigonometric functions per pixel."""
    t = raster.to_frame
    k = 2 * np.pi / BURST_LENGTH_M
    x = k * t.d * (np.asarray(cols, dtype=np.float64) + 0.5)
    y = k * (t.e * (np.asarray(rows, dtype=np.float64) + 0.5) + t.f)
    cx, sx = np.cos(x).astype(np.float32), np.sin(x).astype(np.float32)
    cy, sy = np.cos(y).astype(np.float32), np.sin(y).astype(np.float32)
    cos = cy[:, None] * cx[None, :]
    cos -= sy[:, None] * sx[None, :]
    sin = sy[:, None] * cx[None, :]
    sin += cy[:, None] * sx[None, :]
    return cos, sin


def noise_floor(
    swath: SwathGeometry,
    a: np.ndarray,
    s: np.ndarray,
    *,
    phase: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-equivalent sigma zero (linear, float32) of VV and VH at swath points.

    The range shape is tabulated every 10 m across the swath and looked up per pixel: far cheaper
    than evaluating sub-swath by sub-swath, the seams stay sharp to 10 m, and a pixel's value does
    not depend on the window it is rendered in. ``phase``: ``cos`` and ``sin`` of the burst phase
    at the points (:func:`burst_phase`), computed here if not given.
    """
    n = len(_TABLE_S)
    if phase is None:
        ka = np.float32(2 * np.pi / BURST_LENGTH_M) * a
        c, d = np.cos(ka), np.sin(ka)
    else:
        c, d = phase
    base, cos_t, sin_t = _scallop_tables(tuple(swath.scallop_phase))
    k = ((s - np.float32(_TABLE_S[0])) * np.float32(1 / _TABLE_STEP_M)).astype(np.int32)
    np.clip(k, 0, n - 1, out=k)
    vh = cos_t[k]
    vh *= c
    vh -= sin_t[k] * d
    vh += base[k]
    return vh * np.float32(10 ** (NESZ_VV_OFFSET_DB / 10)), vh


@lru_cache(maxsize=32)
def _scallop_tables(scallop_phase: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """The noise floor table and its burst-scalloping terms for one product's phases:
    ``vh = base + cos_t * cos(ka) - sin_t * sin(ka)``."""
    depth = 10 ** (SCALLOP_DB / 10) - 1
    phases = np.asarray(scallop_phase)[_TABLE_SUB]
    base = _TABLE_BASE.astype(np.float64)
    return (
        base.astype(np.float32),
        (base * depth * np.cos(phases)).astype(np.float32),
        (base * depth * np.sin(phases)).astype(np.float32),
    )


LAND_VV_DB = -9.3
"""Median VV sigma0 of land (dB), from the real scene's Outer Banks and mainland."""
LAND_VH_DB = -14.8
"""Median VH sigma0 of land (dB), from the real scene."""
LAND_SPREAD_DB = 3.0
"""Standard deviation of land texture (dB); the real scene's 10-90 % span is about 8 dB."""


def sigma0_to_dn(
    sigma0: np.ndarray, *, calibration_constant: float = CALIBRATION_CONSTANT
) -> np.ndarray:
    """Linear sigma0 to GRD digital numbers (uint16, 0 = nodata; valid pixels are at least 1)."""
    x = np.nan_to_num(np.asarray(sigma0, dtype=np.float32), nan=0.0)
    dn = np.sqrt(x) * np.float32(calibration_constant)
    dn = np.clip(np.rint(dn), 1, 65535)
    return np.where(np.isnan(sigma0), 0, dn).astype(np.uint16)


def dn_to_sigma0(
    dn: np.ndarray, *, calibration_constant: float = CALIBRATION_CONSTANT
) -> np.ndarray:
    """GRD digital numbers to linear sigma0 (float32, NaN where ``dn == 0``)."""
    x = dn.astype(np.float32)
    return np.where(x > 0, x * x / np.float32(calibration_constant**2), np.nan).astype(np.float32)
