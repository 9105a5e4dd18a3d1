"""How good a segmentation is: pixel scores per class and for oil, slick-level matches, look-alikes.

The decision rule is the one the pipeline applies (:func:`segment`): hysteresis on P(any oil) with
the card's ``seed`` and ``grow``; regions closer than 400 m grouped into one slick (the pipeline's
``GROUP_DISTANCE_M``); slicks smaller than ``min_area_px`` dropped; each slick given the oil class
with the largest summed probability (as the pipeline's stitch step does from its statistics).

Slicks are 8-connected regions of the oil mask grouped the same way (gaps up to ``gap_px``
pixels, 5 px = 400 m at 80 m), on both the truth and the prediction. A predicted
slick matches a true one when their IoU is at least 0.3 (greedy, best IoU first, one to one).
True slicks smaller than ``min_slick_px`` (default 16 px, 0.1 km² at 80 m: specks the labels
hold where a slick barely shows) are "ignored" as COCO ignores crowd regions: a prediction that
matches one counts neither as found nor as false, missing one is not a miss. Their pixels still
count in every pixel score, and ``slick_*_all`` gives the slick scores with nothing ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold

GROUP_DISTANCE_M = 400.0
"""Regions closer than this are one slick, as in the pipeline's stitch step (metres)."""
GAP_PX = GROUP_DISTANCE_M / 80.0
""":data:`GROUP_DISTANCE_M` in pixels at the working resolution (80 m): 5."""
MATCH_IOU = 0.3
"""IoU at which a predicted slick counts as finding a true one."""
MIN_SLICK_PX = 16
"""True slicks smaller than this (working pixels) are ignored in the slick-level scores."""

EIGHT = np.ones((3, 3), dtype=bool)


def oil_probability(probs: np.ndarray) -> np.ndarray:
    """P(any oil) = 1 - P(background), ``[H, W]`` from ``[classes, H, W]``."""
    return 1.0 - probs[0]


def segment(
    probs: np.ndarray, *, seed: float, grow: float, min_area_px: int, gap_px: float = GAP_PX
) -> np.ndarray:
    """Class map (uint8, 0 background) from class probabilities ``[classes, H, W]``.

    Hysteresis on P(oil) (``grow`` <= ``seed``); regions with gaps up to ``gap_px`` pixels
    grouped into slicks; slicks under ``min_area_px`` pixels dropped; each slick labelled with the
    oil class of largest summed probability.
    """
    mask = apply_hysteresis_threshold(oil_probability(probs), grow, seed)
    labels, n = group_regions(mask, gap_px=gap_px)
    out = np.zeros(mask.shape, dtype=np.uint8)
    if n == 0:
        return out
    small = np.bincount(labels.ravel(), minlength=n + 1) < min_area_px
    small[0] = True
    labels[small[labels]] = 0
    sums = np.stack(
        [
            np.bincount(labels.ravel(), weights=probs[c].ravel(), minlength=n + 1)
            for c in range(1, probs.shape[0])
        ]
    )
    component_class = (np.argmax(sums, axis=0) + 1).astype(np.uint8)
    component_class[0] = 0
    out[:] = component_class[labels]
    return out


def group_regions(mask: np.ndarray, *, gap_px: float = GAP_PX) -> tuple[np.ndarray, int]:
    """Labels (int32, 0 none) and count of slicks: 8-connected regions of ``mask``, grouped when
    the gap between them is at most ``gap_px`` pixels (pixel centres at most ``gap_px + 1``
    apart: each region is grown by half that, Euclidean, and the grown regions labelled)."""
    if gap_px <= 0 or not mask.any():
        labels, n = ndimage.label(mask, structure=EIGHT)
        return labels, n
    grown = ndimage.distance_transform_edt(~mask) <= (gap_px + 1) / 2
    labels, n = ndimage.label(grown, structure=EIGHT)
    labels[~mask] = 0
    return labels, n


def slick_components(classes: np.ndarray, *, gap_px: float = GAP_PX) -> tuple[np.ndarray, int]:
    """Slick labels and count of a class map (see :func:`group_regions`)."""
    return group_regions(classes > 0, gap_px=gap_px)


@dataclass
class Scores:
    """Scores accumulated over images: :meth:`update` per image, then :meth:`summary`."""

    class_names: dict[int, str]
    """Channel -> class name (0 is background)."""
    gap_px: float = GAP_PX
    """Gap in pixels up to which parts are one slick."""
    min_slick_px: int = MIN_SLICK_PX
    """True slicks smaller than this are ignored in the slick-level scores."""
    confusion: np.ndarray = field(init=False)
    true_slicks: int = 0
    pred_slicks: int = 0
    matched: int = 0
    matched_class_correct: int = 0
    ignored_true: int = 0
    ignored_pred: int = 0
    matched_small: int = 0
    lookalike_px: int = 0
    lookalike_flagged_px: int = 0
    sea_px: int = 0
    sea_flagged_px: int = 0

    def __post_init__(self) -> None:
        k = len(self.class_names)
        self.confusion = np.zeros((k, k), dtype=np.int64)

    def update(
        self,
        predicted: np.ndarray,
        truth: np.ndarray,
        *,
        lookalike: np.ndarray | None = None,
        valid: np.ndarray | None = None,
    ) -> None:
        """Add one image: ``predicted`` and ``truth`` uint8 class maps ``[H, W]``.

        ``lookalike`` marks non-oil dark features; ``valid`` the pixels that count (sea with data).
        """
        valid = np.ones(truth.shape, dtype=bool) if valid is None else valid
        predicted = np.where(valid, predicted, 0)
        truth = np.where(valid, truth, 0)
        k = len(self.class_names)
        self.confusion += np.bincount(
            (truth[valid].astype(np.int64) * k + predicted[valid]), minlength=k * k
        ).reshape(k, k)
        self._update_slicks(predicted, truth)
        non_oil = valid & (truth == 0)
        self.sea_px += int(non_oil.sum())
        self.sea_flagged_px += int((non_oil & (predicted > 0)).sum())
        if lookalike is not None:
            look = lookalike & non_oil
            self.lookalike_px += int(look.sum())
            self.lookalike_flagged_px += int((look & (predicted > 0)).sum())

    def _update_slicks(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        p_lab, n_p = slick_components(predicted, gap_px=self.gap_px)
        t_lab, n_t = slick_components(truth, gap_px=self.gap_px)
        area_t = np.bincount(t_lab.ravel(), minlength=n_t + 1)
        small = area_t < self.min_slick_px
        small[0] = False
        self.true_slicks += n_t
        self.pred_slicks += n_p
        self.ignored_true += int(small.sum())
        if n_p == 0 or n_t == 0:
            return
        both = (p_lab > 0) & (t_lab > 0)
        pairs = np.bincount(
            p_lab[both].astype(np.int64) * (n_t + 1) + t_lab[both], minlength=(n_p + 1) * (n_t + 1)
        ).reshape(n_p + 1, n_t + 1)
        area_p = np.bincount(p_lab.ravel(), minlength=n_p + 1)
        ip, it = np.nonzero(pairs)
        inter = pairs[ip, it]
        iou = inter / (area_p[ip] + area_t[it] - inter)
        order = np.argsort(-iou, kind="stable")
        used_p: set[int] = set()
        used_t: set[int] = set()
        for idx in order:
            if iou[idx] < MATCH_IOU:
                break
            a, b = int(ip[idx]), int(it[idx])
            if a in used_p or b in used_t:
                continue
            used_p.add(a)
            used_t.add(b)
            self.matched += 1
            if small[b]:  # found an ignored speck: neither a hit nor a false alarm
                self.matched_small += 1
                self.ignored_pred += 1
                continue
            p_class = np.bincount(predicted[p_lab == a], minlength=len(self.class_names))[
                1:
            ].argmax()
            t_class = np.bincount(truth[t_lab == b], minlength=len(self.class_names))[1:].argmax()
            self.matched_class_correct += int(p_class == t_class)

    def summary(self) -> dict[str, float | int | dict[str, float]]:
        """Scores as plain numbers (NaN where undefined, e.g. no true slicks)."""
        cm = self.confusion.astype(np.float64)
        tp = np.diag(cm)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        iou = _ratio(tp, tp + fp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        oil_tp = cm[1:, 1:].sum()
        oil_fp = cm[0, 1:].sum()
        oil_fn = cm[1:, 0].sum()
        hits = self.matched - self.matched_small
        precision = _ratio(hits, self.pred_slicks - self.ignored_pred)
        recall = _ratio(hits, self.true_slicks - self.ignored_true)
        precision_all = _ratio(self.matched, self.pred_slicks)
        recall_all = _ratio(self.matched, self.true_slicks)
        return {
            "oil_iou": float(_ratio(oil_tp, oil_tp + oil_fp + oil_fn)),
            "oil_f1": float(_ratio(2 * oil_tp, 2 * oil_tp + oil_fp + oil_fn)),
            "class_iou": {self.class_names[i]: float(iou[i]) for i in range(len(iou))},
            "class_f1": {self.class_names[i]: float(f1[i]) for i in range(len(f1))},
            "slick_precision": float(precision),
            "slick_recall": float(recall),
            "slick_f1": float(_ratio(2 * precision * recall, precision + recall)),
            "true_slicks": self.true_slicks - self.ignored_true,
            "predicted_slicks": self.pred_slicks - self.ignored_pred,
            "matched_slicks": hits,
            "min_slick_px": self.min_slick_px,
            "ignored_small_true_slicks": self.ignored_true,
            "slick_precision_all": float(precision_all),
            "slick_recall_all": float(recall_all),
            "slick_f1_all": float(
                _ratio(2 * precision_all * recall_all, precision_all + recall_all)
            ),
            "matched_class_accuracy": float(_ratio(self.matched_class_correct, hits)),
            "lookalike_fp_share": float(_ratio(self.lookalike_flagged_px, self.lookalike_px)),
            "sea_fp_share": float(_ratio(self.sea_flagged_px, self.sea_px)),
        }


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray | float:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
