"""The simulator against the real Cape Hatteras scene: the outline of its slick, the statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from typer.testing import CliRunner

from catalog.simulate.commands import COMPARE_SEED
from catalog.simulate.compare import (
    comparison_rows,
    outline_real_slick,
    real_slick_polygon,
    real_stats,
    simulate_like_real,
    simulated_stats,
)
from catalog.simulate.errors import RealSceneNotFound

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


def test_committed_slick_outline_is_the_derived_one_at_the_reported_spot() -> None:
    committed = real_slick_polygon()
    derived = outline_real_slick(REAL)
    assert committed.symmetric_difference(derived).area < 0.05 * committed.area
    # near 36.2 N 74.6 W, 30-45 km long, a few hundred metres wide
    lon0, lat0, lon1, lat1 = committed.bounds
    assert -74.9 < lon0 < lon1 < -74.3 and 36.0 < lat0 < lat1 < 36.4
    length_km = shapely.minimum_rotated_rectangle(committed).length / 2 * 100
    assert 30 < length_km < 60


def test_real_scene_statistics_are_those_of_sentinel1() -> None:
    stats = real_stats(REAL)
    assert -25 < stats.vv_db[2] < -20  # light wind, VV sea median
    assert -32 < stats.vh_floor_db < -28  # IW3 noise floor
    assert 150 < stats.looks_vh < 350  # 200 m averaging of ~4.4-look pixels
    assert stats.slick_contrast_db > 1.5


def test_simulated_like_real_agrees_within_tolerances() -> None:
    rows = comparison_rows(real_stats(REAL), simulated_stats(simulate_like_real(COMPARE_SEED)))
    failed = [r for r in rows if not r[3]]
    # 15 measures; all but at most two within the stated tolerances
    assert len(failed) <= 2, failed
    for name in ("looks_vh", "vh_floor_db", "slick_contrast_db"):
        assert next(r for r in rows if r[0] == name)[3], name


def test_missing_real_scene_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(RealSceneNotFound, match="--real-dir"):
        real_stats(tmp_path)


def test_compare_real_command_prints_the_table() -> None:
    from service.cli import app

    result = CliRunner().invoke(app, ["simulate", "--compare-real", "--real-dir", str(REAL)])
    assert result.exit_code == 0, result.output
    assert "looks_vh" in result.output and "slick_contrast_db" in result.output
