"""Where the pixels are: the IW swath, its incidence angles and nodata edges, and the raster grids.

Two frames are used. The *swath frame* has metres along track (``a``, from the start of the product)
and ground range across track (``s``, from the near-range edge of sub-swath IW1, to the right of the
track because Sentinel-1 looks right). Everything the simulator draws (wind, slicks, ships, land)
lives in it. A raster maps its pixels to the swath frame with one affine transform: straight rows
and columns for ``"grd"`` (rows = azimuth time, columns = ground range, like a GRD measurement
file) and a rotation for ``"utm"`` (north-up in the local UTM zone, like an analysis-ready product).

The swath is placed on the Earth with a local UTM zone around the raster's centre: the track is a
straight line with the orbit's heading at that latitude. Over a 250 km swath this flat-Earth
placement is within a few hundred metres of a real orbit, far below what the simulator's uses need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pyproj
import shapely
from affine import Affine
from rasterio.control import GroundControlPoint

EARTH_RADIUS_M = 6_371_000.0
"""Mean Earth radius (metres)."""
ORBIT_ALTITUDE_M = 693_000.0
"""Sentinel-1 reference orbit altitude (metres)."""
ORBIT_INCLINATION_DEG = 98.18
"""Sentinel-1 orbit inclination (degrees)."""
INCIDENCE_NEAR_DEG = 29.1
"""Incidence angle at the near-range edge of the IW swath (degrees)."""
INCIDENCE_FAR_DEG = 46.0
"""Incidence angle at the far-range edge of the IW swath (degrees)."""
SWATH_WIDTH_M = 250_000.0
"""Ground width of the IW swath (metres)."""
PRODUCT_LENGTH_M = 167_000.0
"""Along-track length of one GRD product slice (metres; 16,700 lines at 10 m)."""
SUBSWATH_EDGES = (0.0, 0.337, 0.687, 1.0)
"""Where IW1 | IW2 | IW3 meet, as fractions of the swath width, measured on the real scene's seams
(columns 424 and 865 of 1,260 valid ones)."""
BURST_LENGTH_M = 20_000.0
"""Along-track length of one TOPS burst (metres): the period of the noise scalloping and of the
stair-steps at the far-range edge."""


def _ground_range_for_incidence(theta_deg: float) -> float:
    """Ground distance from nadir (metres) where a spherical Earth sees ``theta_deg`` incidence."""
    rs = EARTH_RADIUS_M + ORBIT_ALTITUDE_M
    theta = math.radians(theta_deg)
    look = math.asin(EARTH_RADIUS_M * math.sin(theta) / rs)
    return EARTH_RADIUS_M * (theta - look)


def _incidence_table() -> tuple[np.ndarray, np.ndarray]:
    """Incidence (degrees) against ground range across the swath (metres), on 1,001 points.

    The spherical-Earth geometry gives the shape of the curve; it is stretched linearly so that
    29.1 deg and 46.0 deg fall on the two edges of a 250 km swath, as Sentinel-1's IW mode
    specifies.
    """
    g0 = _ground_range_for_incidence(INCIDENCE_NEAR_DEG)
    g1 = _ground_range_for_incidence(INCIDENCE_FAR_DEG)
    s = np.linspace(-0.2 * SWATH_WIDTH_M, 1.2 * SWATH_WIDTH_M, 1001)
    beta = (g0 + s / SWATH_WIDTH_M * (g1 - g0)) / EARTH_RADIUS_M
    rs = EARTH_RADIUS_M + ORBIT_ALTITUDE_M
    rho = np.sqrt(EARTH_RADIUS_M**2 + rs**2 - 2 * EARTH_RADIUS_M * rs * np.cos(beta))
    theta = np.degrees(np.arcsin(np.clip(rs * np.sin(beta) / rho, -1, 1)))
    return s, theta


_S_TABLE, _THETA_TABLE = _incidence_table()


def incidence_deg(s: np.ndarray | float) -> np.ndarray:
    """Incidence angle (degrees) at ground range ``s`` (metres from the near-range edge)."""
    if np.ndim(s) == 0:
        return np.float32(np.interp(s, _S_TABLE, _THETA_TABLE))
    # uniform table: index arithmetic instead of np.interp's search (5x faster on big windows)
    step = np.float32(_S_TABLE[1] - _S_TABLE[0])
    u = np.clip(
        (np.asarray(s, dtype=np.float32) - np.float32(_S_TABLE[0])) / step, 0, len(_S_TABLE) - 1.001
    )
    i = u.astype(np.int32)
    f = u - i
    table = _THETA_TABLE.astype(np.float32)
    return table[i] * (1 - f) + table[i + 1] * f


def orbit_heading_deg(lat: float, pass_direction: Literal["ASCENDING", "DESCENDING"]) -> float:
    """Heading of the ground track (degrees clockwise from north) at latitude ``lat``.

    From the inclination alone (``sin(heading) = cos(i) / cos(lat)``): about -10 deg ascending and
    190 deg descending at mid-latitudes; the real Cape Hatteras scene (35.7 N) measures -10.9 deg.
    """
    ratio = math.cos(math.radians(ORBIT_INCLINATION_DEG)) / max(math.cos(math.radians(lat)), 1e-6)
    heading = math.degrees(math.asin(max(-1.0, min(1.0, ratio))))
    return heading if pass_direction == "ASCENDING" else 180.0 - heading


@lru_cache(maxsize=64)
def transformer(src_epsg: int, dst_epsg: int) -> pyproj.Transformer:
    """A pyproj transformer (x/y or lon/lat order) between two EPSG codes, made once per pair:
    making one costs milliseconds, more than rendering part of a chip."""
    return pyproj.Transformer.from_crs(src_epsg, dst_epsg, always_xy=True)


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding ``(lon, lat)``."""
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


@dataclass(frozen=True)
class SwathGeometry:
    """One IW GRD product: its swath on the Earth and its nodata edges."""

    pass_direction: Literal["ASCENDING", "DESCENDING"]
    """Orbit direction."""
    heading_deg: float
    """Ground-track heading, degrees clockwise from grid north."""
    epsg: int
    """The local UTM zone the swath is placed in."""
    anchor: tuple[float, float, float, float]
    """``(a, s, easting, northing)``: one swath-frame point and where it lies in the UTM zone."""
    subswath_start_m: tuple[float, float, float]
    """Along-track position where IW1, IW2, IW3 start (stair-step wedge at a datatake start)."""
    subswath_stop_m: tuple[float, float, float]
    """Along-track position where IW1, IW2, IW3 stop."""
    near_margin_m: float
    """Nodata strip at the near-range edge (metres)."""
    far_margin_m: tuple[float, ...]
    """Nodata strip at the far-range edge, one value per burst, repeating (metres)."""
    scallop_phase: tuple[float, float, float]
    """Phase of the burst scalloping of the noise floor in each sub-swath (radians)."""

    @property
    def look_azimuth_deg(self) -> float:
        """Azimuth the antenna looks towards (degrees clockwise from north): right of the track."""
        return (self.heading_deg + 90.0) % 360.0

    def frame_to_world(self, a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Swath-frame metres to UTM easting and northing."""
        a0, s0, e0, n0 = self.anchor
        h = math.radians(self.heading_deg)
        da, ds = np.asarray(a, dtype=np.float64) - a0, np.asarray(s, dtype=np.float64) - s0
        return e0 + da * math.sin(h) + ds * math.cos(h), n0 + da * math.cos(h) - ds * math.sin(h)

    def world_to_frame_affine(self) -> Affine:
        """Affine taking UTM ``(easting, northing)`` to swath-frame ``(s, a)``."""
        a0, s0, e0, n0 = self.anchor
        h = math.radians(self.heading_deg)
        ch, sh = math.cos(h), math.sin(h)
        # s = s0 + (E - e0) cos h - (N - n0) sin h ; a = a0 + (E - e0) sin h + (N - n0) cos h
        return Affine(ch, -sh, s0 - e0 * ch + n0 * sh, sh, ch, a0 - e0 * sh - n0 * ch)

    def subswath(self, s: np.ndarray) -> np.ndarray:
        """Sub-swath index (0 = IW1 .. 2 = IW3) of ground range ``s``; clamped outside the swath."""
        edges = np.asarray(SUBSWATH_EDGES[1:3]) * SWATH_WIDTH_M
        return np.searchsorted(edges, s).astype(np.int8)

    def valid(self, a: np.ndarray, s: np.ndarray) -> np.ndarray:
        """True where the product has data: inside the swath, after each sub-swath's start."""
        ok = s >= np.float32(self.near_margin_m)
        margins = np.asarray(self.far_margin_m)
        if float(np.max(s)) >= SWATH_WIDTH_M - margins.max():
            burst = np.floor(a / np.float32(BURST_LENGTH_M)).astype(np.int64) % len(margins)
            ok &= s < (SWATH_WIDTH_M - margins[burst]).astype(np.float32)
        a_lo, a_hi = float(np.min(a)), float(np.max(a))
        if a_lo < max(self.subswath_start_m) or a_hi >= min(self.subswath_stop_m):
            sub = self.subswath(s)
            ok &= a >= np.asarray(self.subswath_start_m, dtype=np.float32)[sub]
            ok &= a < np.asarray(self.subswath_stop_m, dtype=np.float32)[sub]
        return ok

    def valid_polygon(self) -> shapely.Geometry:
        """The data region in the swath frame (``x = s``, ``y = a``) as a polygon, bursts
        ignored."""
        far = SWATH_WIDTH_M - max(self.far_margin_m)
        parts = []
        for k in range(3):
            s0 = max(SUBSWATH_EDGES[k] * SWATH_WIDTH_M, self.near_margin_m)
            s1 = min(SUBSWATH_EDGES[k + 1] * SWATH_WIDTH_M, far)
            a0 = max(self.subswath_start_m[k], -1e9)
            a1 = min(self.subswath_stop_m[k], 1e9)
            parts.append(shapely.box(s0, a0, s1, a1))
        return shapely.union_all(parts)


@dataclass(frozen=True)
class RasterGeometry:
    """The simulated raster's grid and its relation to the swath frame and the Earth."""

    kind: Literal["grd", "utm"]
    """``"grd"``: rows are azimuth lines, columns ground range; ``"utm"``: north-up UTM grid."""
    shape: tuple[int, int]
    """Rows, columns."""
    pixel_size: float
    """Pixel size in metres (square pixels)."""
    to_frame: Affine
    """Pixel ``(col, row)`` to swath frame ``(s, a)`` (metres)."""
    to_world: Affine
    """Pixel ``(col, row)`` to UTM ``(easting, northing)`` (metres); rotated for ``"grd"``."""
    epsg: int
    """EPSG code of the UTM zone."""

    def frame_coords(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Swath-frame ``(a, s)`` of pixel centres of a window, each ``(len(rows), len(cols))``
        float32."""
        t = self.to_frame
        r = rows.astype(np.float64)[:, None] + 0.5
        c = cols.astype(np.float64)[None, :] + 0.5
        s = (t.a * c + t.b * r + t.c).astype(np.float32)
        a = (t.d * c + t.e * r + t.f).astype(np.float32)
        return a, s

    def frame_to_pixel(self, a: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Swath-frame points to fractional pixel ``(row, col)`` (pixel centres at ``i + 0.5``)."""
        inv = ~self.to_frame
        s = np.asarray(s, dtype=np.float64)
        a = np.asarray(a, dtype=np.float64)
        return inv.d * s + inv.e * a + inv.f, inv.a * s + inv.b * a + inv.c

    def gcps(self, *, n_rows: int = 11, n_cols: int = 21) -> list[GroundControlPoint]:
        """Ground control points (lon, lat, EPSG:4326) on a grid over the raster, like a GRD
        product."""
        to_lonlat = transformer(self.epsg, 4326)
        rows = np.linspace(0, self.shape[0], n_rows)
        cols = np.linspace(0, self.shape[1], n_cols)
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        e, n = self.to_world @ (cc.ravel(), rr.ravel())
        lon, lat = to_lonlat.transform(e, n)
        return [
            GroundControlPoint(
                row=float(r), col=float(c), x=float(x), y=float(y), z=0.0, id=str(k + 1)
            )
            for k, (r, c, x, y) in enumerate(zip(rr.ravel(), cc.ravel(), lon, lat, strict=True))
        ]

    def frame_box(self) -> shapely.Geometry:
        """The raster's outline in the swath frame (``x = s``, ``y = a``)."""
        h, w = self.shape
        corners = [self.to_frame @ (c, r) for c, r in ((0, 0), (w, 0), (w, h), (0, h))]
        return shapely.Polygon(corners)
