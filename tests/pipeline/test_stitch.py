"""Vectorize + stitch on a drawn probability map: seams are exact whatever the chunking.

The map is drawn, not predicted, so that every expectation is known: a long diagonal slick that
crosses many blocks, a slick whose seed pixels are in one block and whose grown part reaches into
the next, a faint patch with no seed (dropped), two patches a few pixels apart (one slick of two
parts), a patch along land (LAND) and one along the scene's nodata border (ARTEFACT).
"""

from __future__ import annotations

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rasterio.features
import shapely
from affine import Affine
from skimage.draw import disk, line_aa, polygon

from pipeline.describe import centerline, centerlines, describe
from pipeline.grid import Grid
from pipeline.prepare import LAND, NODATA, OCEAN
from pipeline.stitch import DISTRIBUTED_FROM, group_slicks, merge_seams
from pipeline.vectorize import Thresholds, empty_parts, vectorize_blocks

GRID = Grid(epsg=32633, resolution=80.0, x0=400000.0, y0=6000000.0, shape=(300, 340))
THRESHOLDS = Thresholds(seed=153, grow=102)  # 0.6 and 0.4
CLASSES = {0: "BACKGROUND", 1: "INFRA", 2: "NATURAL", 3: "VESSEL"}


def _paint(probs: np.ndarray, rows: np.ndarray, cols: np.ndarray, p_oil: float, k: int) -> None:
    code = int(round(p_oil * 255))
    probs[:, rows, cols] = 0
    probs[0, rows, cols] = 255 - code
    probs[k, rows, cols] = code


@pytest.fixture(scope="module")
def drawn() -> tuple[np.ndarray, np.ndarray]:
    """``probs`` [4, 300, 340] uint8 and ``context`` [300, 340] uint8."""
    h, w = GRID.shape
    probs = np.zeros((4, h, w), dtype=np.uint8)
    probs[0] = 255
    context = np.full((h, w), OCEAN, dtype=np.uint8)
    # 1. a long thin vessel slick, 3 px wide, across the scene
    for offset in (-1, 0, 1):
        rr, cc, _ = line_aa(20 + offset, 10, 260 + offset, 320)
        _paint(probs, rr, cc, 0.85, 3)
    # 2. grown part (0.5, below seed) on the left of x = 150, seeded part (0.8) on the right
    rr, cc = polygon([200, 200, 206, 206], [100, 150, 150, 100], shape=(h, w))
    _paint(probs, rr, cc, 0.5, 2)
    rr, cc = polygon([200, 200, 206, 206], [150, 190, 190, 150], shape=(h, w))
    _paint(probs, rr, cc, 0.8, 2)
    # 3. a faint patch without any seed pixel: not a slick
    rr, cc = disk((60, 250), 8, shape=(h, w))
    _paint(probs, rr, cc, 0.5, 1)
    # 4. two patches 3 px apart: one slick of two parts
    rr, cc = disk((120, 60), 6, shape=(h, w))
    _paint(probs, rr, cc, 0.9, 1)
    rr, cc = disk((120, 75), 5, shape=(h, w))
    _paint(probs, rr, cc, 0.9, 1)
    # 5. land in the bottom-left corner, and a strip of "slick" along its coast
    context[250:, :60] = LAND
    probs[:, 250:, :60] = 0
    probs[0, 250:, :60] = 255
    rr, cc = polygon([240, 240, 249, 249], [5, 55, 55, 5], shape=(h, w))
    _paint(probs, rr, cc, 0.9, 2)
    # 6. nodata on the right edge, and a dark band along it (a swath edge artefact)
    context[:, 330:] = NODATA
    probs[:, :, 330:] = 0
    probs[0, :, 330:] = 255
    rr, cc = polygon([100, 100, 180, 180], [326, 329, 329, 326], shape=(h, w))
    _paint(probs, rr, cc, 0.9, 3)
    return probs, context


def _slicks(
    probs: np.ndarray,
    context: np.ndarray,
    chunks: int,
    *,
    reverse: bool = False,
    distributed_from: int = DISTRIBUTED_FROM,
):
    p = da.from_array(probs, chunks=(4, chunks, chunks))
    c = da.from_array(context, chunks=(chunks, chunks))
    (results,) = dask.compute(
        vectorize_blocks(p, c, grid=GRID, thresholds=THRESHOLDS), scheduler="threads"
    )
    if reverse:
        results = results[::-1]
    edges = {(r.row, r.col): r.edges for r in results}
    regions = merge_seams(
        [dask.delayed(r.parts) for r in results],
        edges=edges,
        n_cols=len(p.chunks[2]),
        meta=empty_parts(4, GRID.epsg),
        distributed_from=distributed_from,
    )
    pixels = {k: sum(r.pixels[k] for r in results) for k in ("ocean", "land", "nodata")}
    return group_slicks(regions, distance_m=400.0, min_area_px=4), regions, pixels


def _iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))


def test_one_block_finds_the_drawn_slicks(drawn) -> None:
    probs, context = drawn
    slicks, regions, pixels = _slicks(probs, context, chunks=512)
    assert pixels == {
        "ocean": int((context == OCEAN).sum()),
        "land": int((context == LAND).sum()),
        "nodata": int((context == NODATA).sum()),
    }
    # 7 connected regions, the seedless one dropped, the two close patches grouped: 5 slicks
    assert len(regions) == 7
    assert len(slicks) == 5
    assert sorted(slicks["parts"]) == [1, 1, 1, 1, 2]
    # the bar: grown part and seeded part are one slick; its counts are those of the drawing
    p_oil = 255 - probs[0, 195:212, 95:195].astype(int)
    north = GRID.y0 - 195 * GRID.resolution
    bar = slicks[slicks.geometry.centroid.y.between(north - 17 * 80, north)]
    assert len(bar) == 1
    assert bar["px"].iloc[0] == (p_oil >= THRESHOLDS.grow).sum()
    assert bar["seed_px"].iloc[0] == (p_oil >= THRESHOLDS.seed).sum()
    assert 0 < bar["seed_px"].iloc[0] < bar["px"].iloc[0]


@pytest.mark.parametrize("chunks", [64, 50, 37])
def test_seams_are_exact_whatever_the_chunks(drawn, chunks: int) -> None:
    probs, context = drawn
    whole, _, _ = _slicks(probs, context, chunks=512)
    cut, _, _ = _slicks(probs, context, chunks=chunks)
    assert len(cut) == len(whole)
    stats = [c for c in whole.columns if c != "geometry"]
    assert cut[stats].equals(whole[stats]), "statistics must add up exactly across seams"
    for a, b in zip(whole.geometry, cut.geometry, strict=True):
        assert _iou(a, b) == pytest.approx(1.0, abs=1e-12)
        assert len(a.geoms) == len(b.geoms)
    diagonal = cut.iloc[0]
    assert len(diagonal.geometry.geoms) == 1  # one polygon, however many blocks it crossed


def test_dissolving_on_the_cluster_or_here_gives_the_same_regions(drawn) -> None:
    probs, context = drawn
    _, here, _ = _slicks(probs, context, chunks=37)
    _, dask_geopandas, _ = _slicks(probs, context, chunks=37, distributed_from=0)
    assert (here.index == dask_geopandas.index).all() and len(here) == 7
    assert here.drop(columns="geometry").equals(dask_geopandas.drop(columns="geometry"))
    assert all(a.equals(b) for a, b in zip(here.geometry, dask_geopandas.geometry, strict=True))


def test_stitching_does_not_depend_on_block_order(drawn) -> None:
    probs, context = drawn
    forward, _, _ = _slicks(probs, context, chunks=50)
    backward, _, _ = _slicks(probs, context, chunks=50, reverse=True)
    assert forward.drop(columns="geometry").equals(backward.drop(columns="geometry"))
    assert all(a.equals(b) for a, b in zip(forward.geometry, backward.geometry, strict=True))


def test_describe_reclassifies_land_and_nodata_edges(drawn) -> None:
    probs, context = drawn
    slicks, _, _ = _slicks(probs, context, chunks=64)
    frame = describe(
        slicks,
        classes=CLASSES,
        resolution=80.0,
        scene_id="S1A_TEST",
        timestamp=np.datetime64("2024-01-01T00:00:00").astype("datetime64[s]").item(),
    )
    assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.to_epsg() == 4326
    by_class = frame.groupby("slick_class").size().to_dict()
    assert by_class == {"LAND": 1, "ARTEFACT": 1, "VESSEL": 1, "INFRA": 1, "NATURAL": 1}
    land = frame[frame["slick_class"] == "LAND"].iloc[0]
    assert land["model_class"] == "NATURAL" and "land" in land["reclassified"]
    artefact = frame[frame["slick_class"] == "ARTEFACT"].iloc[0]
    assert artefact["model_class"] == "VESSEL" and "nodata" in artefact["reclassified"]
    vessel = frame[frame["slick_class"] == "VESSEL"].iloc[0]
    assert vessel["machine_confidence"] == pytest.approx(0.85, abs=0.01)
    # the diagonal: about 394 px long (240 rows, 310 cols) at 80 m, 3 px wide
    expected_length = np.hypot(240, 310) * 80.0
    assert vessel["centerline_length_m"] == pytest.approx(expected_length, rel=0.05)
    assert vessel["length_m"] == pytest.approx(expected_length, rel=0.05)
    assert vessel["aspect_ratio_factor"] > 80  # a trail, length / width ~ 130
    assert vessel["polsby_popper"] < 0.05
    assert frame.loc[frame["parts"] == 2, "aspect_ratio_factor"].iloc[0] < 10  # two discs
    assert all(g.geom_type == "MultiPolygon" for g in frame.geometry)


def test_centerlines_of_many_slicks_equal_each_traced_alone() -> None:
    # pixel polygons on an 80 m grid: a straight one-pixel trail, an L, a single pixel, a disc
    # with a hole, and a blob big enough to be rasterized coarser than half a pixel
    mask = np.zeros((900, 900), dtype=np.uint8)
    mask[10, 10:60] = 1  # 50 px trail
    mask[100:160, 100:104] = 1
    mask[156:160, 100:180] = 1  # an L: 60 px down, 80 px across
    mask[300, 300] = 1
    rr, cc = disk((400, 400), 30)
    mask[rr, cc] = 1
    mask[395:405, 395:405] = 0
    mask[500:880, 420:880] = 1
    transform = Affine(80.0, 0, 500_000.0, 0, -80.0, 4_000_000.0)
    parts = [
        shapely.geometry.shape(g)
        for g, _ in rasterio.features.shapes(mask, mask=mask > 0, transform=transform)
    ]
    geoms = [shapely.MultiPolygon(parts[:2]), *parts]
    together = centerlines(geoms, resolution=80.0)
    alone = [centerline(g, resolution=80.0) for g in geoms]
    assert all(a.equals(b) for a, b in zip(together, alone, strict=True))
    assert [round(p.area / 6400) for p in parts[:3]] == [50, 240 + 320 - 16, 1]  # scan order
    assert alone[1].length == pytest.approx(49 * 80.0, rel=0.02)  # the trail, end to end
    assert alone[3].geom_type == "LineString" and alone[3].length <= 80.0  # a single pixel
    trail_and_l = together[0]
    assert trail_and_l.geom_type == "MultiLineString" and len(trail_and_l.geoms) == 2
    assert trail_and_l.length == pytest.approx((49 + 56 + 76) * 80.0, rel=0.03)
