"""``MODEL_CARD.md``: the human-readable page of a model card, rendered from ``card.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.card import ModelCard, write_atomic

MARKDOWN_FILE = "MODEL_CARD.md"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"
    return str(value)


def _scores_table(metrics: dict[str, Any]) -> list[str]:
    rows = [
        "| set | oil IoU | oil F1 | slick precision | slick recall | slick F1 "
        "| class accuracy (matched) | look-alike FP share | sea FP share |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, m in metrics.items():
        if not isinstance(m, dict) or "oil_iou" not in m:
            continue
        cols = (
            "oil_iou",
            "oil_f1",
            "slick_precision",
            "slick_recall",
            "slick_f1",
            "matched_class_accuracy",
            "lookalike_fp_share",
            "sea_fp_share",
        )
        rows.append(f"| {key} | " + " | ".join(_fmt(m.get(c)) for c in cols) + " |")
    rows.append("")
    for key, m in metrics.items():
        if isinstance(m, dict) and "class_iou" in m:
            per = ", ".join(f"{k} {_fmt(v)}" for k, v in m["class_iou"].items())
            rows.append(
                f"- {key}: {m.get('data', '')}; per-class IoU: {per}; "
                f"{m.get('true_slicks')} true slicks, {m.get('predicted_slicks')} predicted, "
                f"{m.get('matched_slicks')} matched."
            )
    return rows


def render(card: ModelCard) -> str:
    """The Markdown page of a card."""
    t = card.thresholds
    lines = [
        f"# Model card: {card.name} {card.version}",
        "",
        "Generated from `card.json` by `slickwatch model card --markdown`; the JSON is the source.",
        "",
        "## What it is",
        "",
        f"- Architecture: `{card.architecture}` {card.network}; {card.params:,} parameters, "
        f"{card.flops_per_pixel:,.0f} FLOPs per pixel (2 × multiply-adds of the convolutions)."
        if card.params and card.flops_per_pixel
        else f"- Architecture: `{card.architecture}`.",
        f"- Inputs: {', '.join(card.layers)} at {card.resolution_m:g} m, normalized "
        + ", ".join(f"{k}: (x − {v.mean:.2f}) / {v.std:.2f}" for k, v in card.normalization.items())
        + ". NaN (nodata, land) in → background out.",
        f"- Outputs: {card.outputs} for "
        + ", ".join(f"{k} {v}" for k, v in card.classes.items())
        + ".",
        f"- Decision: hysteresis on P(any oil) = 1 − P(BACKGROUND), seed {t.seed}, grow {t.grow}; "
        f"slicks under {t.min_area_px} px dropped; a slick's class is the oil class of largest "
        "summed probability.",
        f"- Receptive field: {card.receptive_field_px} px (measured); tiles and block origins on a "
        f"{card.size_multiple} px grid; tile size up to {card.tile_size} px.",
        f"- Files: `{card.weights_file}` (sha256 `{card.weights_sha256}`), "
        f"`{card.torchscript_file}` "
        f"(sha256 `{card.torchscript_sha256}`).",
        f"- CUDA: {card.cuda}.",
        "",
        "## Training",
        "",
    ]
    tr = card.training
    for key in (
        "data",
        "command",
        "steps",
        "best_val_oil_iou",
        "minutes_simulating",
        "minutes_training",
        "machine",
    ):
        if key in tr:
            lines.append(
                f"- {key.replace('_', ' ')}: "
                + (f"`{tr[key]}`" if key == "command" else str(tr[key]))
            )
    lines += ["", "## Held-out metrics (simulated)", "", *_scores_table(card.metrics), ""]
    lines += ["## The real scene", ""]
    if card.real_scene:
        for key, value in card.real_scene.items():
            if key == "png":
                lines.append(f"- prediction: ![real scene]({value})")
            else:
                lines.append(f"- {key.replace('_', ' ')}: {_fmt(value)}")
    else:
        lines.append("- not measured yet (`slickwatch model evaluate --write`).")
    lines += ["", "## For comparison (other data, other definitions: context, not a ranking)", ""]
    lines += [f"- {k}: {v}" for k, v in card.comparison.items()]
    notes = card.training.get("notes")
    if notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def write_markdown(card: ModelCard) -> Path:
    """Write ``MODEL_CARD.md`` beside the card; returns its path."""
    if card.location is None:
        raise ValueError("the card has no folder: load it with ModelCard.load(path)")
    path = card.location / MARKDOWN_FILE
    write_atomic(path, render(card).encode())
    return path
