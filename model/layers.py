"""Input layers: from calibrated sigma0 to the normalized array a model card asks for.

Both the pipeline's prepare step and the training data call :func:`prepare_layers`, so a model sees
the same numbers in training and in production. Layer names:

- ``VV_DB`` / ``VH_DB``: 10·log10(sigma0) of that polarization (dB);
- ``VV`` / ``VH``: sigma0 itself (linear).

Each is then normalized as ``(value - mean) / std`` with the card's ``normalization``. NaN (nodata,
land, sigma0 <= 0) stays NaN; the predictor turns NaN into background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from model.errors import InvalidInput, UnknownLayer

if TYPE_CHECKING:
    from model.card import ModelCard

KNOWN_LAYERS = ("VV_DB", "VH_DB", "VV", "VH")
"""Layers :func:`prepare_layers` can make from sigma0."""


def to_db(sigma0: Any) -> Any:
    """10·log10(sigma0) in dB; values <= 0 and NaN become NaN (numpy or dask arrays)."""
    positive = np.where(sigma0 > 0, sigma0, np.nan)
    return (10.0 * np.log10(positive)).astype(np.float32)


def layer_values(name: str, *, vv: Any, vh: Any | None) -> Any:
    """One layer, before normalization, from sigma0 VV and VH (linear)."""
    if name not in KNOWN_LAYERS:
        raise UnknownLayer(
            f"layer {name!r} cannot be made from sigma0: the pipeline prepares "
            f"{list(KNOWN_LAYERS)}. "
            "Give the model a card whose 'layers' use these names."
        )
    pol = name.split("_")[0]
    source = vv if pol == "VV" else vh
    if source is None:
        raise InvalidInput(
            f"layer {name!r} needs {pol} sigma0 but none was given: pass the {pol} band, or use "
            "a model whose card does not list it."
        )
    if name.endswith("_DB"):
        return to_db(source)
    return np.where(source > 0, source, np.nan).astype(np.float32)


def prepare_layers(vv_sigma0: Any, vh_sigma0: Any | None, card: ModelCard) -> Any:
    """The card's input layers, normalized, stacked as ``[layers, H, W]`` float32.

    Args:
        vv_sigma0: sigma0 VV, linear, ``[H, W]`` (numpy or dask array); NaN or <= 0 is nodata.
        vh_sigma0: sigma0 VH likewise, or ``None`` when the card does not use VH.
        card: the model card (its ``layers`` and ``normalization``).

    Returns:
        ``[len(card.layers), H, W]`` float32 of the same array kind, NaN where there is no data.
    """
    if getattr(vv_sigma0, "ndim", None) != 2:
        raise InvalidInput(
            f"sigma0 VV must be a 2-D [H, W] array, got shape {getattr(vv_sigma0, 'shape', None)}."
        )
    if vh_sigma0 is not None and vh_sigma0.shape != vv_sigma0.shape:
        raise InvalidInput(
            f"sigma0 VH has shape {vh_sigma0.shape}, VV {vv_sigma0.shape}: give both on one grid."
        )
    planes = []
    for name in card.layers:
        norm = card.normalization[name]
        values = layer_values(name, vv=vv_sigma0, vh=vh_sigma0)
        planes.append(((values - np.float32(norm.mean)) / np.float32(norm.std)).astype(np.float32))
    return np.stack(planes, axis=0)
