"""Land: a mainland with a rough coastline, sometimes a barrier island chain and small islands.

The coastline is the zero level of a field ``F`` (metres towards land) made of a straight shore plus
fractal noise laid on the scene's pixel grid, so a window of any size draws the same coast and the
shore has detail down to a few pixels. A barrier island (like the Outer Banks in the real scene)
follows the same shape some kilometres out to sea, with a lagoon behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from catalog.simulate.noise import fractal_noise, lattice_noise

_STREAM = 300
_OCTAVES_M = (40_000.0, 15_000.0, 5_000.0, 1_600.0, 500.0, 160.0, 50.0)
_WEIGHTS = (1.0, 0.55, 0.3, 0.16, 0.08, 0.04, 0.02)


@dataclass(frozen=True)
class Coast:
    """A coastline across the scene."""

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

    def field(
        self,
        a: np.ndarray,
        s: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        pixel_size: float,
        *,
        coarse: bool = False,
    ) -> np.ndarray:
        """``F`` (metres, positive on the mainland) at a window; ``coarse`` keeps octaves >= 5
        km."""
        n = math.radians(self.normal)
        proj = (a - np.float32(self.origin[0])) * np.float32(math.cos(n)) + (
            s - np.float32(self.origin[1])
        ) * np.float32(math.sin(n))
        spacing = tuple(o / pixel_size for o in _OCTAVES_M)
        weights = tuple(
            w if (not coarse or o >= 5_000.0) else 0.0
            for o, w in zip(_OCTAVES_M, _WEIGHTS, strict=True)
        )
        noise = fractal_noise(self.seed, _STREAM, rows, cols, spacing, weights)
        return proj - np.float32(self.offset) + np.float32(self.roughness) * noise

    def fine_bound(self) -> float:
        """Largest change (metres, about 4 sigma) the octaves under 5 km can add to ``F``."""
        return (
            4.0
            * self.roughness
            * float(
                np.sqrt(
                    sum(w * w for o, w in zip(_OCTAVES_M, _WEIGHTS, strict=True) if o < 5_000.0)
                )
            )
        )

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
        f = self.field(a, s, rows, cols, pixel_size, coarse=coarse)
        scale = np.float32(max(pixel_size, 1.0) if not coarse else 1000.0)
        land = np.clip(f / scale + 0.5, 0.0, 1.0)
        if self.barrier is not None:
            dist, half = self.barrier
            wiggle = np.float32(0.0)
            if not coarse:
                wiggle = np.float32(0.35 * half) * lattice_noise(
                    self.seed, _STREAM + 7, rows, cols, 3000.0 / pixel_size
                )
            band = np.float32(half) + wiggle - np.abs(f + np.float32(dist))
            land = np.maximum(land, np.clip(band / scale + 0.5, 0.0, 1.0))
        for ia, is_, radius in self.islands:
            r = np.sqrt((a - np.float32(ia)) ** 2 + (s - np.float32(is_)) ** 2)
            land = np.maximum(land, np.clip((np.float32(radius) - r) / scale + 0.5, 0.0, 1.0))
        return land.astype(np.float32)


def plan_coast(
    rng: np.random.Generator, seed: int, origin: tuple[float, float], extent: float
) -> Coast:
    """A coast crossing a raster of ``extent`` metres (its smaller side), covering 5-40 % of it."""
    barrier = None
    if rng.random() < 0.4:
        barrier = (rng.uniform(2e3, 15e3), rng.uniform(250.0, 900.0))
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
        roughness=rng.uniform(0.03, 0.12) * extent,
        barrier=barrier,
        islands=tuple(islands),
    )
