"""Land: a mainland with a fractal, bending coastline, sounds and bays cut into it, sometimes a
barrier island chain with a lagoon behind it, small islands; and what the radar sees on land.

The coastline is the zero level of a field ``F`` (metres towards land) made of a gently curved shore
plus fractal noise laid on the scene's pixel grid, so a window of any size draws the same coast and
the shore has detail down to a few pixels. Sounds and estuaries (water inside the land, like Pamlico
Sound behind Cape Hatteras) are where a second field rises within some kilometres of the shore. A
barrier island follows the shore some kilometres out to sea, with a lagoon behind it.

Land backscatter (VV; VH is 5.5 dB lower) is a patchwork like real land at C band: regional
variation (forest, farmland: +-2 dB over tens of kilometres), rectangular parcels (fields,
100-600 m, +-1.7 dB), towns (+2.5 dB, with corner reflectors up to +16 dB), wetlands and marsh
along the shore (-6 dB) and bright dunes and houses on barrier islands. Around -9 dB median, -15
to 0 dB, as on the real scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from catalog.simulate.noise import fractal_noise, lattice_noise

_STREAM = 300
_OCTAVES_M = (100_000.0, 40_000.0, 15_000.0, 5_000.0, 1_600.0, 500.0, 160.0, 50.0)
_WEIGHTS = (1.0, 0.62, 0.38, 0.24, 0.15, 0.09, 0.055, 0.035)
_COARSE_M = 5_000.0
"""Octaves at least this long make the coarse coastline of the wind grid."""
_BARRIER_M = 1_600.0
"""Octaves at least this long make the line barrier islands follow (islands are shaped by
longshore drift, smoother than the mainland shore)."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _hash_uniform(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """Uniform 0..1 (float32) per integer cell ``(i, j)``: a 32-bit integer hash (Wang/Murmur-style
    mixing), so a cell's value depends on the cell alone, whatever window asks for it. numpy's
    generators draw sequences, not values at arbitrary cells, hence this."""
    h = (i.astype(np.int64) * 0x9E3779B1 + j.astype(np.int64) * 0x85EBCA77 + seed * 0xC2B2AE3D) & (
        0xFFFFFFFF
    )
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    h = (h * 0x297A2D39) & 0xFFFFFFFF
    h ^= h >> 15
    return (h.astype(np.float32) * np.float32(1.0 / 4294967296.0)).astype(np.float32)


@dataclass(frozen=True)
class Coast:
    """A coastline across the scene, and the land behind it."""

    seed: int
    """Seed of the coastline noise."""
    origin: tuple[float, float]
    """Reference point ``(a, s)`` (metres), the raster centre."""
    normal: float
    """Frame angle (degrees) pointing from the sea to the land."""
    offset: float
    """Distance (metres) from ``origin`` to the mean shoreline along ``normal`` (negative: the
    shore passes behind the origin, so the origin is on land)."""
    roughness: float
    """Amplitude of the shoreline's wiggles (metres)."""
    barrier: tuple[float, float] | None
    """``(distance seaward of the shore, half-width)`` of a barrier island chain (metres)."""
    islands: tuple[tuple[float, float, float], ...]
    """Small islands ``(a, s, radius)`` (metres)."""
    bend: float = 0.0
    """Curvature of the mean shoreline (1/metres; positive bends the shore towards the land)."""
    sounds: float = 0.0
    """Share of the near-shore land that is sounds, bays and estuaries (0..0.5)."""
    sound_depth: float = 15_000.0
    """How far inland (metres) sounds reach."""
    brightness: float = -9.3
    """Median VV sigma0 of the land (dB)."""
    parcel_size: float = 400.0
    """Typical side of a field parcel (metres)."""
    parcel_angle: float = 0.0
    """Orientation of the parcel grid (degrees)."""
    towns: float = 0.1
    """Share of the land built up."""

    def field(
        self,
        a: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        *,
        min_octave_m: float = 0.0,
    ) -> np.ndarray:
        """``F`` (metres, positive on the mainland) at a window, with the noise octaves of at
        least ``min_octave_m`` metres (:data:`_COARSE_M`: the wind grid's coastline;
        :data:`_BARRIER_M`: the line a barrier island follows)."""
        n = math.radians(self.normal)
        da = a - np.float32(self.origin[0])
        ds = s - np.float32(self.origin[1])
        proj = da * np.float32(math.cos(n)) + ds * np.float32(math.sin(n))
        along = -da * np.float32(math.sin(n)) + ds * np.float32(math.cos(n))
        spacing = tuple(o / pixel_size for o in _OCTAVES_M)
        weights = tuple(
            w if o >= min_octave_m else 0.0 for o, w in zip(_OCTAVES_M, _WEIGHTS, strict=True)
        )
        noise = fractal_noise(self.seed, _STREAM, rows, cols, spacing, weights)
        return (
            proj
            + np.float32(self.bend) * along * along
            - np.float32(self.offset)
            + np.float32(self.roughness) * noise
        )

    def fine_bound(self) -> float:
        """Largest change (metres, about 4 sigma) the octaves under 5 km can add to ``F``."""
        return (
            4.0
            * self.roughness
            * float(
                np.sqrt(
                    sum(w * w for o, w in zip(_OCTAVES_M, _WEIGHTS, strict=True) if o < _COARSE_M)
                )
            )
        )

    def _sound(
        self,
        f: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        coarse: bool,
    ) -> np.ndarray:
        """Share (0..1) of water inside the land: sounds and estuaries near the shore."""
        octaves = (12_000.0, 4_000.0, 1_300.0, 400.0)
        weights = tuple(
            w if (not coarse or o >= _COARSE_M) else 0.0
            for o, w in zip(octaves, (1.0, 0.5, 0.25, 0.12), strict=True)
        )
        g = fractal_noise(
            self.seed, _STREAM + 9, rows, cols, tuple(o / pixel_size for o in octaves), weights
        )
        level = np.float32(1.15 * math.sqrt(2.0) * _erfinv(1.0 - 2.0 * self.sounds))
        near = _smoothstep((np.float32(self.sound_depth) - f) / np.float32(3000.0))
        return _smoothstep((g - level) / np.float32(0.08) + np.float32(0.5)) * near

    def land(
        self,
        a: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        *,
        coarse: bool = False,
    ) -> np.ndarray:
        """Land cover fraction (0..1, float32) of a window; soft only over the last pixel."""
        return self.land_and_field(a, s, rows, cols, pixel_size, coarse=coarse)[0]

    def land_and_field(
        self,
        a: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        *,
        coarse: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(land fraction, F, barrier share)`` of a window (float32 each)."""
        f = self.field(a, s, rows, cols, pixel_size, min_octave_m=_COARSE_M if coarse else 0.0)
        scale = np.float32(max(pixel_size, 1.0) if not coarse else 1000.0)
        land = np.clip(f / scale + np.float32(0.5), 0.0, 1.0)
        if self.sounds > 0:
            land *= np.float32(1.0) - self._sound(f, rows, cols, pixel_size, coarse)
        barrier = np.zeros_like(land)
        if self.barrier is not None:
            dist, half = self.barrier
            wiggle = np.float32(0.0)
            if not coarse:
                wiggle = np.float32(0.45 * half) * lattice_noise(
                    self.seed, _STREAM + 7, rows, cols, 3000.0 / pixel_size
                )
            line = (
                f if coarse else self.field(a, s, rows, cols, pixel_size, min_octave_m=_BARRIER_M)
            )
            band = np.float32(half) + wiggle - np.abs(line + np.float32(dist))
            barrier = np.clip(band / scale + np.float32(0.5), 0.0, 1.0)
            land = np.maximum(land, barrier)
        if self.islands:
            # lobed, not round: the radius wanders by a third with km-scale noise
            lobes = np.float32(1.0) + np.float32(0.35) * fractal_noise(
                self.seed,
                _STREAM + 8,
                rows,
                cols,
                (2500.0 / pixel_size, 800.0 / pixel_size),
                (1.0, 0.5),
            )
        for ia, is_, radius in self.islands:
            r = np.sqrt((a - np.float32(ia)) ** 2 + (s - np.float32(is_)) ** 2)
            edge = np.float32(radius) * lobes - r
            land = np.maximum(land, np.clip(edge / scale + 0.5, 0.0, 1.0))
        return land.astype(np.float32), f, barrier

    def backscatter_db(
        self,
        a: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        *,
        f: np.ndarray,
        barrier: np.ndarray,
    ) -> np.ndarray:
        """VV sigma0 (dB, float32) of the land at a window's pixels (meaningful on land only)."""
        seed = self.seed
        regional = fractal_noise(
            seed,
            _STREAM + 20,
            rows,
            cols,
            (25_000.0 / pixel_size, 6_000.0 / pixel_size),
            (1.4, 0.9),
        )
        out = np.float32(self.brightness) + regional
        # field parcels: a rotated grid of rectangles, each of its own brightness
        t = math.radians(self.parcel_angle)
        u = (a * np.float32(math.cos(t)) + s * np.float32(math.sin(t))) / np.float32(
            self.parcel_size
        )
        v = (-a * np.float32(math.sin(t)) + s * np.float32(math.cos(t))) / np.float32(
            self.parcel_size * 1.7
        )
        if self.parcel_size > 0.5 * pixel_size:
            parcels = _hash_uniform(np.floor(u), np.floor(v), seed)
            out += np.float32(3.5) * (parcels - np.float32(0.5))
        # towns: bright, with strong point targets
        town_noise = lattice_noise(seed, _STREAM + 21, rows, cols, 2_500.0 / pixel_size)
        level = np.float32(np.sqrt(2.0) * _erfinv(1.0 - 2.0 * self.towns))
        town = _smoothstep((town_noise - level) / np.float32(0.35))
        if town.any():
            # buildings: most blocks a few dB up, a few corner reflectors far brighter
            block = np.float32(max(60.0, pixel_size))
            points = _hash_uniform(np.floor(a / block), np.floor(s / block), seed + 1)
            points *= points
            bright = np.float32(2.5) + np.float32(14.0) * points * points
            out += town * bright
        # marsh and wetlands along the shore; dunes and houses on barrier islands
        wet = fractal_noise(seed, _STREAM + 22, rows, cols, (3_000.0 / pixel_size,), (1.0,))
        marsh = _smoothstep((np.float32(3000.0) - f) / np.float32(2000.0)) * _smoothstep(
            (wet + np.float32(0.2)) / np.float32(0.6)
        )
        out -= np.float32(6.0) * marsh * (np.float32(1.0) - town)
        out += np.float32(4.0) * barrier
        return out


def _erfinv(y: float) -> float:
    """Inverse error function (scalar) by Newton steps on :func:`math.erf`."""
    y = min(max(y, -0.999999), 0.999999)
    x = 0.0
    for _ in range(60):
        step = (math.erf(x) - y) / (2.0 / math.sqrt(math.pi) * math.exp(-x * x))
        x -= step
        if abs(step) < 1e-10:
            break
    return x


def plan_coast(
    rng: np.random.Generator, seed: int, origin: tuple[float, float], extent: float
) -> Coast:
    """A coast crossing a raster of ``extent`` metres (its smaller side), covering 5-40 % of it."""
    barrier = None
    if rng.random() < 0.4:
        barrier = (rng.uniform(2e3, 15e3), rng.uniform(100.0, 400.0))
    islands = []
    for _ in range(int(rng.integers(0, 4))):
        islands.append(
            (
                origin[0] + rng.normal(0, extent / 3),
                origin[1] + rng.normal(0, extent / 3),
                rng.uniform(300, 4000),
            )
        )
    return Coast(
        seed=seed,
        origin=origin,
        normal=rng.uniform(0, 360),
        offset=extent * rng.uniform(0.1, 0.45),
        roughness=rng.uniform(0.04, 0.14) * max(extent, 30e3),
        barrier=barrier,
        islands=tuple(islands),
        bend=float(rng.normal(0.0, 1.5) / max(extent, 30e3)),
        sounds=float(rng.uniform(0.05, 0.35) if rng.random() < 0.6 else 0.0),
        sound_depth=float(rng.uniform(4e3, 25e3)),
        brightness=float(-9.3 + rng.normal(0.0, 1.0)),
        parcel_size=float(np.exp(rng.uniform(np.log(100.0), np.log(600.0)))),
        parcel_angle=float(rng.uniform(0, 90)),
        towns=float(rng.uniform(0.01, 0.06)),
    )
