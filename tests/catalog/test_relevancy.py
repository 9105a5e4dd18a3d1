"""The scene filter: IW, GRDH, a VV channel, a footprint meeting the sea; each refusal says why."""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import Polygon

from catalog.relevancy import check_relevancy, ocean_polygon
from catalog.scene import resolve_scene
from catalog.stac import make_s1_item

REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


def _item(scene_id: str, footprint, assets=None):  # noqa: ANN001, ANN202
    return make_s1_item(
        scene_id,
        footprint=footprint,
        assets=assets or {"vv": "vv.tif"},
        kind="dn",
        epsg=None,
        shape=None,
        transform=None,
    )


def test_the_real_scene_is_relevant(real_vv: Path) -> None:
    verdict = check_relevancy(resolve_scene(real_vv))
    assert verdict.relevant and verdict.reasons == () and bool(verdict)


def test_each_failed_check_gives_its_reason(sample_items) -> None:  # noqa: ANN001
    items = sample_items.items
    ew = check_relevancy(items["arctic_ew"])
    assert not ew.relevant
    assert ew.reasons == (
        "beam mode EW: only IW (Interferometric Wide) scenes are processed",
        "no VV channel (channels: HH, HV)",
    )
    assert check_relevancy(items["north_sea_hh"]).reasons == ("no VV channel (channels: HH)",)
    assert check_relevancy(items["med_medium"]).reasons == (
        "resolution class M (medium): only high resolution (GRDH) is processed",
    )
    assert check_relevancy(items["chukotka_land"]).reasons == (
        "footprint does not meet the ocean (it covers only land)",
    )
    assert check_relevancy(items["gulf"]).relevant
    assert check_relevancy(items["hatteras"].to_dict()).relevant  # a plain item dict works too


def test_slc_products_are_refused() -> None:
    slc = "S1A_IW_SLC__1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"
    verdict = check_relevancy(_item(slc, shapely.box(-74, 35, -73, 36), {"vv": "vv.tif"}))
    assert verdict.reasons[0] == "product type SLC: only GRD products are processed"
    assert any("resolution class _" in r for r in verdict.reasons)


def test_footprints_across_the_anti_meridian_are_judged_by_what_they_cover(
    sample_items,  # noqa: ANN001
) -> None:
    # Chukotka: land on both sides of 180°. Read as one polygon its longitudes run -179.5 ->
    # 179.5 the long way round the globe and it meets the ocean; split, it meets none.
    ring = [(179.5, 66.8), (-179.5, 66.8), (-179.5, 67.2), (179.5, 67.2)]
    assert ocean_polygon().intersects(Polygon(ring))  # the naive reading is wrong
    land = check_relevancy(_item(REAL_ID, Polygon(ring)))
    assert land.reasons == ("footprint does not meet the ocean (it covers only land)",)
    # the same polygon written with longitudes past 180 is understood the same way
    past = [(179.5, 66.8), (180.5, 66.8), (180.5, 67.2), (179.5, 67.2)]
    assert check_relevancy(_item(REAL_ID, Polygon(past))).reasons == land.reasons
    # off Fiji, across 180° over the sea: relevant
    assert check_relevancy(sample_items.items["fiji"]).relevant
    # a strip across 180° whose only sea is east of it still meets the ocean
    strip = [(179.3, 65.8), (-178.5, 65.8), (-178.5, 66.2), (179.3, 66.2)]
    assert check_relevancy(_item(REAL_ID, Polygon(strip))).relevant


def test_inland_footprints_are_refused_and_coastal_ones_kept() -> None:
    kansas = check_relevancy(_item(REAL_ID, shapely.box(-99.0, 38.0, -97.0, 39.5)))
    assert kansas.reasons == ("footprint does not meet the ocean (it covers only land)",)
    # mostly land, touching the sea at the Oregon coast
    oregon = check_relevancy(_item(REAL_ID, shapely.box(-124.5, 44.0, -121.0, 45.0)))
    assert oregon.relevant
