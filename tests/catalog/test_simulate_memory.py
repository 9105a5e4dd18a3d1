"""The in-memory simulator: shapes, labels, determinism, windows, physics in plausible ranges."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.simulate import SLICK_CLASSES, SimulationConfig, simulate
from catalog.simulate.errors import InvalidSimulationConfig
from catalog.simulate.plan import build_plan
from catalog.simulate.render import render_window


def test_chip_has_arrays_labels_and_polygons() -> None:
    cfg = SimulationConfig(seed=3, slicks={"VESSEL": 1, "INFRA": 1, "NATURAL": 1}, land=False)
    scene = simulate(cfg)
    assert scene.vv.shape == scene.vh.shape == scene.classes.shape == (512, 512)
    assert scene.vv.dtype == np.float32 and scene.classes.dtype == np.uint8
    assert set(np.unique(scene.classes)) <= {0, 1, 2, 3}
    assert (scene.classes > 0).sum() > 50
    assert not (scene.lookalike & (scene.classes > 0)).any()
    assert set(scene.polygons["class"]) == {"VESSEL", "INFRA", "NATURAL"}
    assert scene.polygons.crs.to_epsg() == 4326
    for _, row in scene.polygons.iterrows():
        assert row["class_id"] == SLICK_CLASSES[row["class"]]
        if row["visible"]:
            assert row["geometry"].area > 0
    assert scene.crs.to_epsg() // 100 in (326, 327)
    inc = scene.incidence
    assert float(inc.min()) >= 29.0 and float(inc.max()) <= 46.1


def test_same_seed_same_pixels_other_seed_other_pixels() -> None:
    a = simulate(SimulationConfig(seed=11, shape=(256, 256)))
    b = simulate(SimulationConfig(seed=11, shape=(256, 256)))
    c = simulate(SimulationConfig(seed=12, shape=(256, 256)))
    np.testing.assert_array_equal(a.vv, b.vv)
    np.testing.assert_array_equal(a.classes, b.classes)
    assert not np.allclose(np.nan_to_num(a.vv), np.nan_to_num(c.vv))


@pytest.mark.parametrize("geometry", ["utm", "grd"])
def test_windows_of_any_size_give_the_whole(geometry: str) -> None:
    cfg = SimulationConfig(
        seed=5, shape=(300, 420), geometry=geometry, slicks={"VESSEL": 2, "NATURAL": 1}, land=True
    )
    plan = build_plan(cfg)
    whole = render_window(plan, (0, 0, 300, 420))
    for size in (97, 256):
        vv = np.full((300, 420), np.nan, dtype=np.float32)
        classes = np.zeros((300, 420), dtype=np.uint8)
        for r in range(0, 300, size):
            for c in range(0, 420, size):
                h, w = min(size, 300 - r), min(size, 420 - c)
                win = render_window(plan, (r, c, h, w))
                vv[r : r + h, c : c + w] = win.vv
                classes[r : r + h, c : c + w] = win.classes
        np.testing.assert_allclose(vv, whole.vv, rtol=2e-5, equal_nan=True)
        assert (classes != whole.classes).sum() <= 2  # float rounding at a threshold


def test_bad_config_says_what_to_do() -> None:
    with pytest.raises(InvalidSimulationConfig, match="use 'grd' or 'utm'"):
        SimulationConfig(seed=1, geometry="sar")  # type: ignore[arg-type]
    with pytest.raises(InvalidSimulationConfig, match="unknown: use"):
        SimulationConfig(seed=1, slicks={"TANKER": 1})
    with pytest.raises(InvalidSimulationConfig, match="write_scene"):
        simulate(SimulationConfig(seed=1, shape=(8000, 8000)))
