"""Sentinel-1 product identifiers: ``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<uid>``.

The naming convention is ESA's (Sentinel-1 Product Specification, section "Product naming"):

    MMM_BB_TTTR_LFPP_YYYYMMDDTHHMMSS_YYYYMMDDTHHMMSS_OOOOOO_DDDDDD_CCCC

mission, beam mode, product type and resolution class, processing level, product class and
polarization, start and stop time (UTC), absolute orbit, mission datatake id (hexadecimal) and
product unique id (hexadecimal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from catalog.errors import SceneIdError

MISSIONS = ("S1A", "S1B", "S1C", "S1D")
"""Sentinel-1 units."""
MODES = ("IW", "EW", "SM", "WV", "S1", "S2", "S3", "S4", "S5", "S6")
"""Beam modes: Interferometric Wide, Extra Wide, StripMap (also as its beams S1-S6), Wave."""
PRODUCT_TYPES = ("GRD", "SLC", "RAW", "OCN", "ETA")
"""Product types (``ETA`` is the SM/EW calibration product)."""
RESOLUTIONS = {"F": "full", "H": "high", "M": "medium", "_": "not applicable"}
"""Resolution classes of GRD products (``_`` for SLC, RAW, OCN)."""
LEVELS = ("0", "1", "2")
"""Processing levels."""
PRODUCT_CLASSES = {"S": "standard", "A": "annotation", "N": "noise", "C": "calibration"}
"""Product classes."""
POLARIZATION_CHANNELS: dict[str, tuple[str, ...]] = {
    "SH": ("HH",),
    "SV": ("VV",),
    "DH": ("HH", "HV"),
    "DV": ("VV", "VH"),
    "HH": ("HH",),
    "HV": ("HV",),
    "VV": ("VV",),
    "VH": ("VH",),
}
"""Polarization code of the id -> the channels the product holds."""

# Relative orbit = (absolute - offset) mod 175 + 1: Sentinel-1 repeats its ground track every
# 175 orbits (12 days); the offsets are each unit's absolute orbit number at relative orbit 1
# (ESA's published relation for S1A and S1B; S1C flies in S1A's orbit shifted by 180 degrees).
# S1D's offset is not published in a source we could check, so its relative orbit is unknown.
_RELATIVE_ORBIT_OFFSETS = {"S1A": 73, "S1B": 27, "S1C": 172}
_ORBITS_PER_CYCLE = 175

_TIME_FORMAT = "%Y%m%dT%H%M%S"
_EXAMPLE = "S1A_IW_GRDH_1SDV_20230523T224049_20230523T224114_048667_05DA7A_91D1"


@dataclass(frozen=True)
class SceneId:
    """The parts of a Sentinel-1 product identifier."""

    mission: str
    """Unit: ``S1A``, ``S1B``, ``S1C`` or ``S1D``."""
    mode: str
    """Beam mode: ``IW``, ``EW``, ``SM``, ``WV`` (or a StripMap beam ``S1`` ... ``S6``)."""
    product_type: str
    """``GRD``, ``SLC``, ``RAW``, ``OCN``."""
    resolution: str
    """Resolution class: ``F`` full, ``H`` high, ``M`` medium, ``_`` not applicable."""
    level: int
    """Processing level, 0 to 2."""
    product_class: str
    """``S`` standard, ``A`` annotation (``N``, ``C`` for noise and calibration products)."""
    polarization: str
    """Polarization code: ``DV``, ``DH``, ``SV``, ``SH`` or a single channel ``VV``, ``HH``, ..."""
    start: datetime
    """Sensing start, UTC (timezone-aware)."""
    stop: datetime
    """Sensing stop, UTC (timezone-aware)."""
    absolute_orbit: int
    """Absolute orbit number at sensing start."""
    datatake_id: int
    """Mission datatake id (parsed from its six hexadecimal digits)."""
    unique_id: str
    """Product unique identifier: four hexadecimal digits (a checksum of the product)."""

    @property
    def relative_orbit(self) -> int | None:
        """Relative orbit (track) number, 1 to 175; ``None`` for units whose offset is unknown."""
        offset = _RELATIVE_ORBIT_OFFSETS.get(self.mission)
        if offset is None:
            return None
        return (self.absolute_orbit - offset) % _ORBITS_PER_CYCLE + 1

    @property
    def polarizations(self) -> tuple[str, ...]:
        """Channels of the product: ``("VV", "VH")`` for ``DV``, ``("HH",)`` for ``SH``, ..."""
        return POLARIZATION_CHANNELS[self.polarization]

    @property
    def platform(self) -> str:
        """STAC platform name: ``sentinel-1a`` ... ``sentinel-1d``."""
        return "sentinel-1" + self.mission[-1].lower()

    @property
    def product_type_code(self) -> str:
        """Product type with resolution class, as in the id: ``GRDH``, ``SLC_``."""
        return self.product_type + self.resolution

    def __str__(self) -> str:
        return "_".join(
            (
                self.mission,
                self.mode,
                self.product_type_code,
                f"{self.level}{self.product_class}{self.polarization}",
                self.start.strftime(_TIME_FORMAT),
                self.stop.strftime(_TIME_FORMAT),
                f"{self.absolute_orbit:06d}",
                f"{self.datatake_id:06X}",
                self.unique_id,
            )
        )


def _fail(text: str, part: str, value: str, expected: str) -> SceneIdError:
    return SceneIdError(
        f"{text!r} is not a Sentinel-1 product id: its {part} {value!r} is not {expected}. "
        f"Ids look like {_EXAMPLE}."
    )


def _parse_time(text: str, part: str, value: str) -> datetime:
    if not re.fullmatch(r"\d{8}T\d{6}", value):
        raise _fail(text, part, value, "a time like 20230523T224049")
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise _fail(text, part, value, "a valid calendar time") from None


def parse_scene_id(text: str) -> SceneId:
    """Parse a Sentinel-1 product identifier.

    A trailing ``.SAFE`` or ``.zip`` (the product folder or archive name) is accepted.

    Raises:
        SceneIdError: the id is malformed; the message names the part that is wrong.
    """
    if not isinstance(text, str):
        raise SceneIdError(f"A Sentinel-1 product id is a string, not {type(text).__name__}.")
    name = text.strip()
    for suffix in (".SAFE", ".zip"):
        name = name.removesuffix(suffix)
    parts = name.split("_")
    # SLC/RAW/OCN ids have an empty resolution, written as a doubled underscore: "SLC__1SDV".
    if len(parts) == 10 and parts[3] == "":
        parts = [*parts[:2], parts[2] + "_", *parts[4:]]
    if len(parts) != 9:
        raise SceneIdError(
            f"{text!r} is not a Sentinel-1 product id: it has {len(parts)} parts separated by "
            f"'_', expected 9 like {_EXAMPLE}."
        )
    mission, mode, type_res, lfpp, start, stop, orbit, datatake, unique = parts
    if mission not in MISSIONS:
        raise _fail(text, "mission", mission, "one of " + ", ".join(MISSIONS))
    if mode not in MODES:
        raise _fail(text, "mode", mode, "one of " + ", ".join(MODES))
    if len(type_res) != 4 or type_res[:3] not in PRODUCT_TYPES:
        raise _fail(text, "product type", type_res[:3], "one of " + ", ".join(PRODUCT_TYPES))
    if type_res[3] not in RESOLUTIONS:
        raise _fail(text, "resolution class", type_res[3], "one of F, H, M, _")
    if len(lfpp) != 4:
        raise _fail(text, "level/class/polarization field", lfpp, "four characters like 1SDV")
    if lfpp[0] not in LEVELS:
        raise _fail(text, "processing level", lfpp[0], "0, 1 or 2")
    if lfpp[1] not in PRODUCT_CLASSES:
        raise _fail(text, "product class", lfpp[1], "one of " + ", ".join(PRODUCT_CLASSES))
    if lfpp[2:] not in POLARIZATION_CHANNELS:
        raise _fail(text, "polarization", lfpp[2:], "one of " + ", ".join(POLARIZATION_CHANNELS))
    start_time = _parse_time(text, "start time", start)
    stop_time = _parse_time(text, "stop time", stop)
    if stop_time < start_time:
        raise _fail(text, "stop time", stop, f"at or after the start time {start}")
    if not re.fullmatch(r"\d{6}", orbit):
        raise _fail(text, "absolute orbit", orbit, "six decimal digits")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", datatake):
        raise _fail(text, "datatake id", datatake, "six hexadecimal digits")
    if not re.fullmatch(r"[0-9A-Fa-f]{4}", unique):
        raise _fail(text, "unique id", unique, "four hexadecimal digits")
    return SceneId(
        mission=mission,
        mode=mode,
        product_type=type_res[:3],
        resolution=type_res[3],
        level=int(lfpp[0]),
        product_class=lfpp[1],
        polarization=lfpp[2:],
        start=start_time,
        stop=stop_time,
        absolute_orbit=int(orbit),
        datatake_id=int(datatake, 16),
        unique_id=unique.upper(),
    )


def is_scene_id(text: str) -> bool:
    """Whether ``text`` parses as a Sentinel-1 product id."""
    try:
        parse_scene_id(text)
    except SceneIdError:
        return False
    return True
