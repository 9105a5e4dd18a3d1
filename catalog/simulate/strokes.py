"""Line features with a width (slicks, films, wakes, ships), drawn with partial-pixel coverage.

A stroke is a polyline in the swath frame with a half-width and a strength at each vertex. Drawing
it on a window gives, for each pixel it touches, the fraction of the pixel it covers. The fraction
is the
overlap of the pixel (seen across the line) with the stroke's cross-section, so a 30 m wide slick on
80 m pixels covers each pixel it crosses by about 3/8 and stays visible, dimmer, rather than
flickering in and out as a point-sampled raster would. No rasterizer of the ecosystem gives partial
cover of variable-width lines (``rasterio.features.rasterize`` burns whole pixels), hence this
module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from catalog.simulate.geometry import RasterGeometry

Layer = Literal["oil", "lookalike", "bright"]


@dataclass(frozen=True)
class Stroke:
    """A polyline feature with a per-vertex half-width and strength."""

    layer: Layer
    """``"oil"``: damps the sea (strength = damping, dB); ``"lookalike"``: changes the sea by
    ``-strength`` dB (positive darkens, negative brightens); ``"bright"``: a hard target whose
    sigma0 is ``strength`` dB."""
    a: np.ndarray = field(repr=False)
    """Vertices' along-track positions (metres, swath frame)."""
    s: np.ndarray = field(repr=False)
    """Vertices' ground-range positions (metres, swath frame)."""
    half_width: np.ndarray = field(repr=False)
    """Half-width at each vertex (metres)."""
    strength: np.ndarray = field(repr=False)
    """Strength at each vertex (dB), see ``layer``."""
    edge: float = 0.0
    """Width of a soft edge (metres): 0 for the sharp edge of oil, about the width for films."""
    capped: bool = False
    """Flat ends with partial cover along the line too (ships, platforms: one segment)."""
    class_id: int = 0
    """Class of an oil stroke (1 INFRA, 2 NATURAL, 3 VESSEL)."""
    slick: int = -1
    """Index of the slick an oil stroke belongs to."""


@dataclass
class Coverage:
    """Pixels of a window touched by one stroke."""

    index: np.ndarray
    """Flat indices into the window."""
    cover: np.ndarray
    """Covered fraction of each pixel (0..1]."""
    strength: np.ndarray
    """Stroke strength at each pixel (dB)."""


_MAX_ELEMENTS = 1 << 21
"""Most pixel-segment pairs evaluated at once (bounds memory for long strokes at 10 m)."""


def _overlap(center: np.ndarray, half: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Overlap of ``[center - width/2, center + width/2]`` with ``[-half, half]``, over
    ``width``."""
    lo = np.maximum(center - width / 2, -half)
    hi = np.minimum(center + width / 2, half)
    return np.clip((hi - lo) / width, np.float32(0.0), np.float32(1.0))


def _resample(pts: np.ndarray, hw: np.ndarray, st: np.ndarray, step: np.ndarray):
    """Split segments longer than ``step`` (pixels), interpolating width and strength."""
    seg = np.hypot(*(pts[1:] - pts[:-1]).T)
    n = np.maximum(1, np.ceil(seg / np.maximum(step[:-1], 1.0)).astype(int))
    i = np.repeat(np.arange(len(n)), n)
    start = np.cumsum(n) - n
    t = (np.arange(i.size) - start[i]) / n[i]
    i = np.append(i, len(pts) - 2)
    t = np.append(t, 1.0)
    j = np.minimum(i + 1, len(pts) - 1)

    def lerp(v):
        return (
            v[i] * (1 - t)[(...,) + (None,) * (v.ndim - 1)]
            + v[j] * t[(...,) + (None,) * (v.ndim - 1)]
        )

    return lerp(pts), lerp(hw), lerp(st)


def cover(
    stroke: Stroke,
    raster: RasterGeometry,
    window: tuple[int, int, int, int],
) -> Coverage | None:
    """Pixels of ``window`` (``row_off, col_off, height, width``) that ``stroke`` covers.

    Returns ``None`` when the stroke misses the window.
    """
    r_off, c_off, h, w = window
    px = raster.pixel_size
    rows, cols = raster.frame_to_pixel(stroke.a, stroke.s)
    pts = np.stack([rows - r_off, cols - c_off], axis=1)  # window pixel units, centres at i + 0.5
    hw = np.asarray(stroke.half_width, dtype=np.float64) / px
    st = np.asarray(stroke.strength, dtype=np.float64)
    soft = stroke.edge / px
    if len(pts) == 1:
        pts, hw, st = np.repeat(pts, 2, 0), np.repeat(hw, 2), np.repeat(st, 2)
    reach = float(hw.max()) + soft + 1.5
    if (
        pts[:, 0].max() + reach < 0
        or pts[:, 0].min() - reach > h
        or pts[:, 1].max() + reach < 0
        or pts[:, 1].min() - reach > w
    ):
        return None
    if not stroke.capped:
        pts, hw, st = _resample(pts, hw, st, np.maximum(3.0, hw))
    p0, p1 = pts[:-1], pts[1:]
    seg_reach = (np.maximum(hw[:-1], hw[1:]) + soft + 1.5)[:, None]
    lo = np.floor(np.minimum(p0, p1) - seg_reach).astype(np.int64)
    hi = np.ceil(np.maximum(p0, p1) + seg_reach).astype(np.int64)
    keep = (hi[:, 0] >= 0) & (lo[:, 0] < h) & (hi[:, 1] >= 0) & (lo[:, 1] < w)
    if not keep.any():
        return None
    # segments in order of their box size, so that each chunk's box fits its segments closely
    sizes = (hi - lo).max(axis=1) + 1
    seg = np.flatnonzero(keep)
    seg = seg[np.argsort(sizes[seg], kind="stable")]
    f32 = np.float32
    d01 = (p1 - p0).astype(f32)
    hwf, stf = hw.astype(f32), st.astype(f32)
    width = f32(np.sqrt(1.0 + soft * soft))
    out_i, out_c, out_s = [], [], []
    k0 = 0
    while k0 < len(seg):
        box = int(sizes[seg[min(len(seg) - 1, k0)]])
        per_chunk = max(1, _MAX_ELEMENTS // (box * box))
        ks = seg[k0 : k0 + per_chunk]
        box = int(sizes[ks].max())
        k0 += len(ks)
        grid = np.arange(box)
        rr = lo[ks, 0][:, None, None] + grid[None, :, None]
        cc = lo[ks, 1][:, None, None] + grid[None, None, :]
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        inside &= (rr <= hi[ks, 0][:, None, None]) & (cc <= hi[ks, 1][:, None, None])
        # offsets in float64 (window-local positions would round differently per window)
        qr = (rr + (0.5 - p0[ks, 0])[:, None, None]).astype(f32)
        qc = (cc + (0.5 - p0[ks, 1])[:, None, None]).astype(f32)
        vr = d01[ks, 0][:, None, None]
        vc = d01[ks, 1][:, None, None]
        length2 = np.maximum(vr * vr + vc * vc, f32(1e-12))
        t_raw = (qr * vr + qc * vc) / length2
        t = np.clip(t_raw, f32(0.0), f32(1.0))
        h0, h1 = hwf[ks][:, None, None], hwf[ks + 1][:, None, None]
        s0, s1 = stf[ks][:, None, None], stf[ks + 1][:, None, None]
        half = h0 + (h1 - h0) * t
        val = s0 + (s1 - s0) * t
        if stroke.capped:
            length = np.sqrt(length2)
            across = np.abs(qr * vc - qc * vr) / length
            along = t_raw * length - length / 2
            c = _overlap(across, half, width) * _overlap(along, length / 2, f32(1.0))
        else:
            dr = qr - t * vr
            dc = qc - t * vc
            dist = np.sqrt(dr * dr + dc * dc)
            c = _overlap(dist, half, width)
        sel = inside & (c > f32(1e-3))
        out_i.append((rr * w + cc)[sel])
        out_c.append(c[sel])
        out_s.append(val[sel])
    index = np.concatenate(out_i)
    if index.size == 0:
        return None
    return Coverage(index=index, cover=np.concatenate(out_c), strength=np.concatenate(out_s))
