"""Sentinel-1 product ids: every part parsed, every malformed part named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalog.errors import SceneIdError
from catalog.scene_id import is_scene_id, parse_scene_id

EXAMPLE = "S1A_IW_GRDH_1SDV_20230523T224049_20230523T224114_048667_05DA7A_91D1"
REAL = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


def test_every_part_of_an_id_is_parsed() -> None:
    sid = parse_scene_id(EXAMPLE)
    assert (sid.mission, sid.mode, sid.product_type, sid.resolution) == ("S1A", "IW", "GRD", "H")
    assert (sid.level, sid.product_class, sid.polarization) == (1, "S", "DV")
    assert sid.start == datetime(2023, 5, 23, 22, 40, 49, tzinfo=UTC)
    assert sid.stop == datetime(2023, 5, 23, 22, 41, 14, tzinfo=UTC)
    assert sid.absolute_orbit == 48667
    assert sid.datatake_id == 0x05DA7A == 383610
    assert sid.unique_id == "91D1"
    assert sid.polarizations == ("VV", "VH")
    assert sid.platform == "sentinel-1a"
    assert str(sid) == EXAMPLE


def test_datatake_id_agrees_with_the_real_product_metadata(real_info: dict) -> None:
    sid = parse_scene_id(real_info["id"])
    assert sid.datatake_id == real_info["missionDataTakeId"] == 270700
    assert sid.absolute_orbit == real_info["absoluteOrbitNumber"]
    assert sid.unique_id == real_info["productUniqueIdentifier"]
    assert sid.mission == real_info["missionId"]
    assert sid.start == datetime.fromisoformat(real_info["startTime"]).replace(tzinfo=UTC)


def test_relative_orbit_follows_the_175_orbit_repeat_cycle() -> None:
    sid = parse_scene_id(REAL)
    assert sid.relative_orbit == (35353 - 73) % 175 + 1 == 106
    # S1A's relative orbit 1 starts at absolute orbit 73; one cycle later the track repeats.
    first = parse_scene_id(REAL.replace("035353", "000073"))
    assert first.relative_orbit == 1
    assert parse_scene_id(REAL.replace("035353", f"{35353 + 175:06d}")).relative_orbit == 106
    assert parse_scene_id(REAL.replace("S1A", "S1B", 1)).relative_orbit == (35353 - 27) % 175 + 1
    assert parse_scene_id(REAL.replace("S1A", "S1D", 1)).relative_orbit is None


@pytest.mark.parametrize(
    ("pol", "channels"),
    [("SV", ("VV",)), ("SH", ("HH",)), ("DH", ("HH", "HV")), ("VV", ("VV",)), ("HV", ("HV",))],
)
def test_polarization_codes_give_their_channels(pol: str, channels: tuple[str, ...]) -> None:
    assert parse_scene_id(EXAMPLE.replace("1SDV", f"1S{pol}")).polarizations == channels


def test_slc_ids_with_an_empty_resolution_and_product_folder_names_parse() -> None:
    slc = parse_scene_id("S1B_IW_SLC__1SDV_20210810T044826_20210810T044859_028179_035C9B_6C5A")
    assert (slc.product_type, slc.resolution, slc.mission) == ("SLC", "_", "S1B")
    assert str(slc) == "S1B_IW_SLC__1SDV_20210810T044826_20210810T044859_028179_035C9B_6C5A"
    assert str(parse_scene_id(EXAMPLE + ".SAFE")) == EXAMPLE
    assert str(parse_scene_id(EXAMPLE + ".zip")) == EXAMPLE


@pytest.mark.parametrize(
    ("bad", "part"),
    [
        (EXAMPLE.replace("S1A", "S2A", 1), "mission 'S2A'"),
        (EXAMPLE.replace("_IW_", "_XX_"), "mode 'XX'"),
        (EXAMPLE.replace("GRDH", "GRXH"), "product type 'GRX'"),
        (EXAMPLE.replace("GRDH", "GRDQ"), "resolution class 'Q'"),
        (EXAMPLE.replace("1SDV", "3SDV"), "processing level '3'"),
        (EXAMPLE.replace("1SDV", "1XDV"), "product class 'X'"),
        (EXAMPLE.replace("1SDV", "1SXY"), "polarization 'XY'"),
        (EXAMPLE.replace("20230523T224049", "20231345T224049"), "start time '20231345T224049'"),
        (EXAMPLE.replace("20230523T224049", "2023-05-23T22"), "start time"),
        (EXAMPLE.replace("20230523T224114", "20230523T224000"), "stop time '20230523T224000'"),
        (EXAMPLE.replace("048667", "48667"), "absolute orbit '48667'"),
        (EXAMPLE.replace("05DA7A", "05DZ7A"), "datatake id '05DZ7A'"),
        (EXAMPLE.replace("91D1", "91D"), "unique id '91D'"),
        (EXAMPLE.rsplit("_", 1)[0], "8 parts"),
        ("not-an-id", "1 parts"),
    ],
)
def test_a_malformed_id_names_its_bad_part(bad: str, part: str) -> None:
    with pytest.raises(SceneIdError, match=part) as info:
        parse_scene_id(bad)
    assert "S1A_IW_GRDH_1SDV_" in str(info.value)  # the message shows what an id looks like
    assert not is_scene_id(bad)


def test_a_non_string_is_refused_with_a_clear_error() -> None:
    with pytest.raises(SceneIdError, match="is a string, not int"):
        parse_scene_id(42)  # type: ignore[arg-type]
