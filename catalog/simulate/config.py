"""What a simulated scene should be: the one record a user fills in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from catalog.simulate.errors import InvalidSimulationConfig
from catalog.simulate.features import SLICK_CLASSES


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that decides a simulated scene; the same config always gives the same pixels."""

    seed: int
    """Seed of every random draw."""
    shape: tuple[int, int] = (512, 512)
    """Raster rows, columns."""
    pixel_size: float = 80.0
    """Pixel size (metres)."""
    geometry: Literal["grd", "utm"] = "utm"
    """``"grd"``: swath geometry like a GRD measurement file (rows = azimuth, columns = range),
    written as uint16 DN with GCPs; ``"utm"``: north-up float32 sigma0 in the local UTM zone."""
    center: tuple[float, float] | None = None
    """Raster centre ``(lon, lat)``; ``None`` draws a point in a sea with oil traffic."""
    time: datetime | None = None
    """Acquisition start (UTC); ``None`` draws one near the local dawn or dusk pass time."""
    wind_speed: float | None = None
    """Scene-mean 10 m wind (m/s); ``None`` draws from a realistic mix (calm to 14 m/s)."""
    wind_direction: float | None = None
    """Direction the wind blows from (degrees clockwise from north); ``None`` draws one."""
    slicks: Mapping[str, int] | None = None
    """Slicks per class, e.g. ``{"VESSEL": 2, "INFRA": 0, "NATURAL": 1}``; ``None`` draws a mix
    scaled to the area (often none in a chip)."""
    lookalikes: bool = True
    """Draw look-alikes: low-wind patches, fronts, rain cells, films, internal waves, wakes."""
    land: bool | None = None
    """Put a coastline in the scene; ``None``: in about a quarter of scenes."""
    swath_position: float | None = None
    """Where the raster's centre sits across the swath, 0 near range .. 1 far range; ``None``:
    the middle for rasters as wide as the swath, else drawn in 0.05..0.95."""
    pass_direction: Literal["ASCENDING", "DESCENDING"] | None = None
    """Orbit direction; ``None`` follows ``time`` (dusk passes ascend) or is drawn."""
    ships: int | None = None
    """Ships without slicks; ``None`` draws a traffic density."""
    mission: str = "S1A"
    """Mission of the product id (``S1A`` .. ``S1D``)."""
    extra: Mapping[str, float] = field(default_factory=dict)
    """Expert knobs: ``"texture"`` scales the wind texture (default 1.0); ``"calm"`` sets the share
    of the scene that is calm (0..0.9; default drawn to suit the wind)."""

    def __post_init__(self) -> None:
        rows, cols = self.shape
        if rows < 16 or cols < 16:
            raise InvalidSimulationConfig(
                f"shape {self.shape} is too small: use at least 16 x 16 pixels."
            )
        if rows * cols > 2_000_000_000:
            raise InvalidSimulationConfig(
                f"shape {self.shape} is beyond 2 Gpx: use a larger pixel size."
            )
        if not 1.0 <= self.pixel_size <= 2000.0:
            raise InvalidSimulationConfig(f"pixel_size {self.pixel_size} m is out of 1..2000 m.")
        if self.geometry not in ("grd", "utm"):
            raise InvalidSimulationConfig(f"geometry {self.geometry!r}: use 'grd' or 'utm'.")
        if self.wind_speed is not None and not 0.0 <= self.wind_speed <= 30.0:
            raise InvalidSimulationConfig(f"wind_speed {self.wind_speed} m/s is out of 0..30 m/s.")
        if self.swath_position is not None and not 0.0 <= self.swath_position <= 1.0:
            raise InvalidSimulationConfig(f"swath_position {self.swath_position} is out of 0..1.")
        if self.center is not None:
            lon, lat = self.center
            if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
                raise InvalidSimulationConfig(
                    f"center {self.center}: give (lon, lat) with |lat| < 80 (UTM)."
                )
        if self.slicks is not None:
            unknown = set(self.slicks) - set(SLICK_CLASSES)
            if unknown:
                raise InvalidSimulationConfig(
                    f"slick classes {sorted(unknown)} unknown: use {sorted(SLICK_CLASSES)}."
                )
            if any(int(n) < 0 for n in self.slicks.values()):
                raise InvalidSimulationConfig("slick counts must be >= 0.")
        if self.ships is not None and self.ships < 0:
            raise InvalidSimulationConfig("ships must be >= 0.")
        if self.mission not in ("S1A", "S1B", "S1C", "S1D"):
            raise InvalidSimulationConfig(f"mission {self.mission!r}: use S1A, S1B, S1C or S1D.")
        if self.pass_direction not in (None, "ASCENDING", "DESCENDING"):
            raise InvalidSimulationConfig(
                f"pass_direction {self.pass_direction!r}: use ASCENDING or DESCENDING."
            )

    def __dask_tokenize__(self) -> tuple:
        return (
            type(self).__name__,
            self.seed,
            self.shape,
            self.pixel_size,
            self.geometry,
            self.center,
            self.time.isoformat() if self.time else None,
            self.wind_speed,
            self.wind_direction,
            tuple(sorted(self.slicks.items())) if self.slicks is not None else None,
            self.lookalikes,
            self.land,
            self.swath_position,
            self.pass_direction,
            self.ships,
            self.mission,
            tuple(sorted(self.extra.items())),
        )
