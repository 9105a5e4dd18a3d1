"""Evaluate a model on simulated chips, and pick its thresholds on the validation split.

Chips go through the production path: sigma0 -> :func:`model.layers.prepare_layers` with the
card's normalization -> :meth:`Predictor.predict_image` -> :func:`model.metrics.segment` with the
card's thresholds -> :class:`model.metrics.Scores`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from model.card import ModelCard, Thresholds
from model.data import Chip, ChipRecipe, load_split
from model.layers import prepare_layers
from model.metrics import Scores, segment
from model.predictor import Predictor

logger = logging.getLogger(__name__)

TEST_SETS: dict[str, tuple[ChipRecipe, str]] = {
    "test": (
        ChipRecipe(source_pixel_m=(40.0, 80.0)),
        "simulated at 40-80 m and averaged to 80 m, as a 10 m GRDH product is",
    ),
    "test_mixed_resolution": (
        ChipRecipe(),
        "simulated at 40-250 m (log-uniform) and resampled to 80 m, as in training",
    ),
}
"""The held-out test sets: key -> (recipe, description). Seeds from 3000000, never trained on."""

SEED_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
GROW_GRID = (0.3, 0.4, 0.5, 0.6)
MIN_AREA_GRID = (4, 8, 16, 32)


def chip_input(chip: Chip, card: ModelCard) -> np.ndarray:
    """The card's normalized layers of a chip (from its dB values, through sigma0)."""
    vv = np.power(10.0, chip.vv_db / 10.0).astype(np.float32)
    vh = np.power(10.0, chip.vh_db / 10.0).astype(np.float32)
    return prepare_layers(vv, vh, card)


def predict_chips(
    predictor: Predictor, chips: Sequence[Chip], *, progress: bool = False
) -> list[np.ndarray]:
    """Class probabilities ``[classes, H, W]`` of every chip."""
    from tqdm import tqdm

    return [
        predictor.predict_image(chip_input(chip, predictor.card))
        for chip in tqdm(chips, desc="predicting", disable=not progress)
    ]


def score(
    probs: Sequence[np.ndarray],
    chips: Sequence[Chip],
    *,
    thresholds: Thresholds,
    class_names: dict[int, str],
) -> dict:
    """Scores of predictions against the chips' labels with the given thresholds."""
    scores = Scores(class_names)
    for p, chip in zip(probs, chips, strict=True):
        predicted = segment(
            p, seed=thresholds.seed, grow=thresholds.grow, min_area_px=thresholds.min_area_px
        )
        scores.update(predicted, chip.classes, lookalike=chip.lookalike, valid=chip.valid)
    return scores.summary()


def tune_thresholds(
    probs: Sequence[np.ndarray],
    chips: Sequence[Chip],
    *,
    class_names: dict[int, str],
    seeds: Iterable[float] = SEED_GRID,
    grows: Iterable[float] = GROW_GRID,
    min_areas: Iterable[int] = MIN_AREA_GRID,
    max_lookalike_fp: float = 0.02,
) -> tuple[Thresholds, dict]:
    """The thresholds that maximize (oil IoU + slick F1) / 2 on these chips, among those that
    keep the look-alike false-positive share at most ``max_lookalike_fp`` (if any do)."""
    best: tuple[float, Thresholds, dict] | None = None
    fallback: tuple[float, Thresholds, dict] | None = None
    for seed, grow, area in itertools.product(seeds, grows, min_areas):
        if grow > seed:
            continue
        t = Thresholds(seed=seed, grow=grow, min_area_px=area)
        s = score(probs, chips, thresholds=t, class_names=class_names)
        objective = np.nan_to_num(s["oil_iou"]) + np.nan_to_num(s["slick_f1"])
        candidate = (objective / 2, t, s)
        if fallback is None or candidate[0] > fallback[0]:
            fallback = candidate
        if s["lookalike_fp_share"] <= max_lookalike_fp and (best is None or candidate[0] > best[0]):
            best = candidate
    chosen = best or fallback
    assert chosen is not None
    logger.info("thresholds %s: objective %.3f", chosen[1], chosen[0])
    return chosen[1], chosen[2]


def score_test_sets(
    predictor: Predictor,
    data_dir: str | Path,
    *,
    count: int = 192,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, dict]:
    """Scores of the predictor on each of :data:`TEST_SETS` (``count`` chips each), with the
    card's thresholds; chips are simulated on first use and cached under ``data_dir``."""
    results = {}
    for key, (recipe, what) in TEST_SETS.items():
        chips = load_split(data_dir, "test", count, recipe, workers=workers, progress=progress)
        results[key] = {
            "chips": len(chips),
            "data": f"{len(chips)} chips of {recipe.size} px, {what}",
            **evaluate(predictor, chips, progress=progress),
        }
    return results


def evaluate(predictor: Predictor, chips: Sequence[Chip], *, progress: bool = False) -> dict:
    """Scores of a model on chips with its card's thresholds."""
    probs = predict_chips(predictor, chips, progress=progress)
    return score(
        probs, chips, thresholds=predictor.card.thresholds, class_names=predictor.card.classes
    )
