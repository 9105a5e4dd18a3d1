"""The shipped model does what its card says: on held-out simulated chips and on the real scene."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.data import load_split
from model.evaluate import TEST_SETS, evaluate
from model.predictor import get_predictor, shipped_card
from model.real_scene import default_real_dir, evaluate_real_scene


def test_held_out_chips_match_the_card(tmp_path: Path) -> None:
    """24 of the card's test chips (simulated afresh here) score close to the card's figures."""
    card = shipped_card()
    recipe, _ = TEST_SETS["test"]
    chips = load_split(tmp_path, "test", 24, recipe)
    scores = evaluate(get_predictor(), chips)
    assert scores["oil_iou"] > card.metrics["test"]["oil_iou"] - 0.15
    assert scores["lookalike_fp_share"] < 0.05
    assert scores["slick_f1"] > card.metrics["test"]["slick_f1"] - 0.2


@pytest.mark.slow
def test_real_scene_slick_is_found(tmp_path: Path) -> None:
    if not default_real_dir().is_dir():
        pytest.fail(
            f"the real scene is missing from {default_real_dir()}: restore ../shared/data/real"
        )
    result = evaluate_real_scene(get_predictor(), png=tmp_path / "real.png")
    assert result["slick_length_covered"] >= 0.7
    assert result["slick_recall"] >= 0.4
    assert result["slick_class"] == "VESSEL"
    assert result["flagged_open_sea_pct"] < 2.0
    assert (tmp_path / "real.png").stat().st_size > 10_000
    card = shipped_card()
    assert result["slick_recall"] == pytest.approx(card.real_scene["slick_recall"], abs=0.02)
