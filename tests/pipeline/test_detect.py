"""detect_scene with the shipped model on a real cluster of processes: seams, chunk sizes, the
model loaded once per worker, a worker killed mid-scene, and scenes with nothing to look at."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely

from catalog.scene import resolve_scene
from pipeline import detect_scene
from pipeline.errors import NoDataError, NoOceanError

SEAM_SCENE = {
    "shape": (384, 512),
    "geometry": "utm",
    "slicks": {"VESSEL": 1},
    "land": False,
    "lookalikes": False,
    "ships": 0,
    "wind_speed": 6.0,
}


def _iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    union = shapely.area(shapely.union(a, b))
    return shapely.area(shapely.intersection(a, b)) / union if union else 1.0


def _oil(frame):
    return frame[~frame["slick_class"].isin(["LAND", "ARTEFACT"])]


@pytest.fixture(scope="module")
def seam_item(simulate_scene) -> Path:
    return simulate_scene(21, **SEAM_SCENE)


@pytest.fixture(scope="module")
def runs(seam_item: Path, dask_client, shipped_model: Path):
    """``runs(chunks)``: detect_scene's frame at that chunk size (computed once per module)."""
    done: dict[int, object] = {}

    def run(chunks: int):
        if chunks not in done:
            done[chunks] = detect_scene(
                seam_item, model=shipped_model, chunks=chunks, client=dask_client
            )
        return done[chunks]

    return run


@pytest.fixture(scope="module")
def one_block(runs):
    """The scene in a single block: the reference."""
    return runs(1024)


def test_the_simulated_slick_is_found(one_block, seam_item: Path) -> None:
    import geopandas as gpd

    truth = gpd.read_file(seam_item.parent / seam_item.name.replace(".json", ".slicks.geojson"))
    assert one_block.attrs["statistics"]["blocks"] == 1
    oil = _oil(one_block)
    assert len(oil) >= 1
    best = max(_iou(g, truth.union_all()) for g in oil.geometry)
    assert best > 0.3, "the model should outline the simulated vessel slick"


@pytest.mark.parametrize("chunks", [128, 200])
def test_seams_match_a_single_block_run(one_block, runs, dask_client, chunks: int) -> None:
    from model.predictor import load_count

    cut = runs(chunks)
    stats = cut.attrs["statistics"]
    assert stats["blocks"] >= 6
    assert len(cut) == len(one_block)
    for whole, part in zip(one_block.itertuples(), cut.itertuples(), strict=True):
        assert _iou(whole.geometry, part.geometry) >= 0.99
        assert part.slick_class == whole.slick_class
        assert part.pixels == pytest.approx(whole.pixels, rel=0.01)
    # the slick crossed seams and still came out as one polygon
    vessel = _oil(cut).iloc[0]
    assert len(vessel.geometry.geoms) == len(_oil(one_block).iloc[0].geometry.geoms)
    # however many blocks, a worker process loads the model at most once (one that the
    # scheduler gave no inference task loads it never), never once per task
    loads = dask_client.run(load_count)
    assert all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1, loads
    assert stats["blocks"] > sum(loads.values())


def test_a_worker_killed_mid_scene_changes_nothing(
    runs, seam_item, dask_client, shipped_model
) -> None:
    reference = runs(128)
    pids = dask_client.run(os.getpid)
    result: dict[str, object] = {}

    def run() -> None:
        result["frame"] = detect_scene(
            seam_item, model=shipped_model, chunks=128, client=dask_client
        )

    thread = threading.Thread(target=run)
    thread.start()
    # wait until inference is under way, then kill a worker process (its nanny starts another)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        busy = dask_client.processing()
        if any(any("infer" in str(k) for k in keys) for keys in busy.values()):
            break
        time.sleep(0.05)
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert not thread.is_alive()
    frame = result["frame"]
    assert set(dask_client.run(os.getpid).values()) != set(pids.values())  # a worker was replaced
    assert len(frame) == len(reference)
    for a, b in zip(reference.geometry, frame.geometry, strict=True):
        assert a.equals(b)
    cols = ["slick_class", "machine_confidence", "pixels"]
    assert frame[cols].equals(reference[cols])


def test_an_all_nodata_scene_says_so(
    simulate_scene, copy_scene, dask_client, shipped_model
) -> None:
    item = copy_scene(simulate_scene(5, shape=(300, 300), geometry="utm"))
    scene = resolve_scene(item)
    for asset in scene.assets:  # the same rasters, every pixel nodata
        with rasterio.open(asset.href) as ds:
            profile = ds.profile
        Path(asset.href).unlink()
        profile.update(driver="GTiff")
        with rasterio.open(asset.href, "w", **profile) as ds:
            ds.write(np.full((ds.height, ds.width), np.nan, dtype=np.float32), 1)
    with pytest.raises(NoDataError, match="Every pixel of .* is nodata"):
        detect_scene(scene, model=shipped_model, client=dask_client)


def test_a_land_only_scene_says_so(simulate_scene, dask_client, shipped_model) -> None:
    item = simulate_scene(6, shape=(200, 200), geometry="utm", center=(10.0, 50.5))  # Hesse
    with pytest.raises(NoOceanError, match="shows no open water"):
        detect_scene(item, model=shipped_model, client=dask_client)
