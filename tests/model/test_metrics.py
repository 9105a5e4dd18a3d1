"""Metrics and the decision rule, on label maps whose scores can be counted by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.card import DEFAULT_CLASSES
from model.metrics import Scores, segment


def _probs(oil: np.ndarray, oil_class: int = 3) -> np.ndarray:
    probs = np.zeros((4, *oil.shape), dtype=np.float32)
    probs[0] = 1 - oil
    probs[oil_class] = oil
    return probs


def test_segment_hysteresis_and_min_area() -> None:
    oil = np.zeros((20, 20), dtype=np.float32)
    oil[5, 2:12] = 0.5  # grows from a seed...
    oil[5, 6] = 0.9  # ... here
    oil[15, 2:12] = 0.5  # never seeded: dropped
    oil[10, 15] = 0.95  # seeded but 1 px: below min area
    classes = segment(_probs(oil), seed=0.8, grow=0.4, min_area_px=3, gap_px=0)
    assert set(np.unique(classes)) == {0, 3}
    assert classes[5, 2:12].tolist() == [3] * 10
    assert classes.sum() == 3 * 10


def test_segment_groups_before_the_minimum_area() -> None:
    """Two 2 px pieces 4 px apart are one 4 px slick (kept); 7 px apart, two slicks (dropped)."""
    oil = np.zeros((20, 30), dtype=np.float32)
    oil[5, [2, 3, 8, 9]] = 0.9
    oil[15, [2, 3, 11, 12]] = 0.9
    classes = segment(_probs(oil), seed=0.8, grow=0.4, min_area_px=4, gap_px=5)
    assert classes[5].sum() == 4 * 3 and classes[15].sum() == 0


def test_segment_class_by_summed_probability() -> None:
    probs = np.zeros((4, 10, 10), dtype=np.float32)
    probs[0] = 1.0
    probs[:, 4, 1:9] = [[0.1], [0.6], [0.0], [0.3]]  # INFRA leads (sum 4.2 against 3.0)...
    probs[:, 4, 8] = [0.1, 0.0, 0.0, 0.9]  # ...though one pixel is VESSEL
    classes = segment(probs, seed=0.8, grow=0.5, min_area_px=1, gap_px=0)
    assert np.all(classes[4, 1:9] == 1)


def test_scores_by_hand() -> None:
    truth = np.zeros((40, 40), dtype=np.uint8)
    truth[5, 5:25] = 3  # slick A: 20 px VESSEL
    truth[20:22, 5:15] = 2  # slick B: 20 px NATURAL
    truth[35, 30:38] = 1  # slick C: 8 px INFRA, missed
    pred = np.zeros_like(truth)
    pred[5, 5:20] = 3  # 15 of A, right class
    pred[20:22, 5:15] = 1  # all of B, wrong class
    pred[30, 2:8] = 2  # a false slick on a look-alike
    lookalike = np.zeros(truth.shape, dtype=bool)
    lookalike[29:32, 0:10] = True  # 30 px, 6 of them flagged
    scores = Scores(DEFAULT_CLASSES, gap_px=0, min_slick_px=1)
    scores.update(pred, truth, lookalike=lookalike)
    s = scores.summary()
    tp, fp, fn = 15 + 20, 6, 5 + 8
    assert s["oil_iou"] == pytest.approx(tp / (tp + fp + fn))
    assert s["oil_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert s["class_iou"]["VESSEL"] == pytest.approx(15 / 20)
    assert s["class_iou"]["NATURAL"] == pytest.approx(0 / (20 + 6))
    assert (s["true_slicks"], s["predicted_slicks"], s["matched_slicks"]) == (3, 3, 2)
    assert s["slick_precision"] == pytest.approx(2 / 3) and s["slick_recall"] == pytest.approx(
        2 / 3
    )
    assert s["slick_f1"] == pytest.approx(2 / 3)
    assert s["matched_class_accuracy"] == pytest.approx(1 / 2)
    assert s["lookalike_fp_share"] == pytest.approx(6 / 30)


def test_slick_match_needs_iou_0_3_and_parts_group() -> None:
    truth = np.zeros((30, 30), dtype=np.uint8)
    truth[10, 0:30] = 3
    small = np.zeros_like(truth)
    small[10, 0:8] = 3  # IoU 8/30 < 0.3: no match
    s = Scores(DEFAULT_CLASSES, gap_px=0, min_slick_px=1)
    s.update(small, truth)
    assert s.summary()["matched_slicks"] == 0
    broken = truth.copy()
    broken[10, 14:17] = 0  # one slick seen in two parts 3 px apart: one slick when grouped
    grouped = Scores(DEFAULT_CLASSES, gap_px=5)
    grouped.update(broken, truth)
    assert grouped.summary()["predicted_slicks"] == 1
    assert grouped.summary()["slick_f1"] == 1.0


def test_small_true_slicks_are_ignored_not_missed() -> None:
    truth = np.zeros((30, 30), dtype=np.uint8)
    truth[5, 2:22] = 3  # 20 px: counts
    truth[15, 2:6] = 2  # 4 px speck: ignored
    truth[25, 2:6] = 2  # another speck, found by the prediction
    pred = np.zeros_like(truth)
    pred[5, 2:22] = 3
    pred[25, 2:6] = 2
    s = Scores(DEFAULT_CLASSES, gap_px=0, min_slick_px=16)
    s.update(pred, truth)
    summary = s.summary()
    assert summary["slick_precision"] == 1.0 and summary["slick_recall"] == 1.0
    assert (summary["true_slicks"], summary["ignored_small_true_slicks"]) == (1, 2)
    assert summary["slick_recall_all"] == pytest.approx(2 / 3)
    assert summary["slick_precision_all"] == 1.0
    assert summary["oil_iou"] == pytest.approx(24 / 28)  # specks count in pixel scores


def test_empty_scores_are_nan_not_errors() -> None:
    s = Scores(DEFAULT_CLASSES)
    s.update(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8))
    summary = s.summary()
    assert math.isnan(summary["slick_f1"]) and math.isnan(summary["oil_iou"])
