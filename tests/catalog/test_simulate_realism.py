"""The simulated sea, land and look-alikes look like real Sentinel-1 scenes in measurable ways."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from catalog.simulate import SimulationConfig, simulate
from catalog.simulate.compare import _looks
from catalog.simulate.speckle import enl_for_pixel_size
from catalog.simulate.wind import LOW_WIND_MS


def _db(x: np.ndarray) -> np.ndarray:
    return 10 * np.log10(x.astype(np.float64))


def test_calm_areas_are_few_large_and_soft_edged() -> None:
    cfg = SimulationConfig(
        seed=4, shape=(600, 600), pixel_size=200.0, wind_speed=6.0, land=False,
        slicks={}, extra={"calm": 0.4},
    )  # fmt: skip
    scene = simulate(cfg)
    rows, cols = np.arange(600), np.arange(600)
    speed = scene.plan.wind.window("base_speed", rows, cols)
    calm = scene.lookalike
    assert (calm == ((speed < LOW_WIND_MS) & scene.valid)).mean() > 0.97
    assert 0.2 < calm.mean() < 0.6
    labels, n = ndimage.label(calm)
    sizes = np.bincount(labels.ravel())[1:]
    # a few big regions, not a scatter of pixel blobs
    assert sizes.max() > 0.3 * calm.sum()
    assert (sizes >= 25).sum() <= 12
    # edges soft over kilometres: wind rises from 1.5 to 4.5 m/s over several pixels (200 m)
    grad = np.hypot(*np.gradient(np.log(speed)))
    edge = (speed > 1.5) & (speed < 4.5)
    assert np.median(grad[edge]) < np.log(3.0) / 5


def test_wind_texture_lowers_the_looks_of_vv_below_its_speckle() -> None:
    scene = simulate(
        SimulationConfig(seed=8, shape=(400, 400), pixel_size=200.0, wind_speed=6.0, land=False)
    )
    sea = scene.valid & ~scene.lookalike & (scene.classes == 0)
    speckle_only = enl_for_pixel_size(200.0)
    looks_vv = _looks(scene.vv, sea)
    looks_vh = _looks(scene.vh, sea)
    # the real scene: VV 71 looks, VH (noise floor, speckle alone) 240, of a speckle ENL of 316
    assert 30 < looks_vv < 0.6 * speckle_only
    # VH feels the wind less (C-2PO: 0.58 dB per m/s) and sits on the noise floor
    assert looks_vh > max(1.5 * looks_vv, 0.5 * speckle_only)


def test_lookalike_features_are_labelled_where_they_darken_the_sea() -> None:
    # no calm areas and no oil: the look-alike mask holds films, wakes, rain cores, waves
    darker = []
    for seed in (31, 32, 33, 34):
        scene = simulate(
            SimulationConfig(
                seed=seed, shape=(700, 700), wind_speed=5.0, slicks={}, land=False,
                extra={"calm": 0.0},
            )
        )  # fmt: skip
        assert not (scene.classes > 0).any()
        la = scene.lookalike & scene.valid
        if la.sum() < 50:
            continue
        db = _db(np.where(scene.valid, scene.vv, np.nan))
        near = ndimage.binary_dilation(la, iterations=2)
        ring = ndimage.binary_dilation(la, iterations=6) & ~near
        darker.append(np.nanmedian(db[ring & scene.valid]) - np.nanmedian(db[la]))
    assert len(darker) >= 3, "look-alikes should appear in most windy chips"
    assert np.median(darker) > 1.0


def test_no_calm_patches_in_a_gale() -> None:
    scene = simulate(SimulationConfig(seed=27, shape=(512, 512), wind_speed=13.0, land=False))
    rows, cols = np.arange(512), np.arange(512)
    speed = scene.plan.wind.window("speed", rows, cols)
    assert (speed[scene.valid] < LOW_WIND_MS).mean() < 0.01


def test_land_is_varied_like_real_land() -> None:
    scene = simulate(
        SimulationConfig(seed=22, shape=(600, 600), pixel_size=80.0, land=True, wind_speed=6.0)
    )
    land = scene.land & scene.valid
    assert land.sum() > 1000
    db = _db(scene.vv[land])
    p10, p50, p90 = np.percentile(db, [10, 50, 90])
    # the real scene's land: median -9.3 dB, 10-90 % span about 8 dB
    assert -13 < p50 < -6
    assert 4 < p90 - p10 < 14
