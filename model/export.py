"""Write a trained network as a model folder: state dict, TorchScript and ``card.json``.

Files are written under temporary names and renamed, the card last, so a folder never holds a card
that points at half-written weights.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import Any

import torch

from model.card import CUDA_UNTESTED, LayerNorm, ModelCard, Thresholds, sha256_file, write_atomic
from model.network import (
    ARCHITECTURE,
    SlickNet,
    count_parameters,
    flops_per_pixel,
    measure_receptive_field,
)

logger = logging.getLogger(__name__)

COMPARISON = {
    "Cerulean production U-Net (SkyTruth)": "pixel F1 0.532 on real Sentinel-1 data",
    "DeepLabv3+ on the Krestenitis oil-spill data set": "oil IoU 0.534",
}
"""Published figures of other models, for the card (different data: context, not a ranking)."""


def export_model(
    net: SlickNet,
    out_dir: str | Path,
    *,
    name: str,
    version: str,
    layers: list[str],
    normalization: dict[str, tuple[float, float]],
    thresholds: Thresholds,
    tile_size: int = 2304,
    resolution_m: float = 80.0,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    real_scene: dict[str, Any] | None = None,
    receptive_field_px: int | None = None,
) -> ModelCard:
    """Save ``net`` into ``out_dir`` and return its card (also written as ``card.json``).

    Args:
        net: the trained network (moved to CPU, eval mode).
        out_dir: the model folder (created).
        name, version: the model's registry key.
        layers: input layers, e.g. ``["VV_DB"]``.
        normalization: per layer ``(mean, std)`` in the layer's unit (dB).
        thresholds: hysteresis thresholds and minimum area.
        tile_size: largest tile edge the predictor uses (pixels).
        resolution_m: working resolution (metres).
        metrics, training, real_scene: what goes on the card.
        receptive_field_px: skip the measurement when already known.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = net.cpu().eval()
    weights_name = f"{name}.pt"
    script_name = f"{name}.torchscript.pt"

    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    write_atomic(out / weights_name, buffer.getvalue())
    with warnings.catch_warnings():
        # TorchScript is deprecated in torch 2.13 but it is what Cerulean and other consumers
        # load; torch.export has no stable loader for them yet
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(net)
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
    write_atomic(out / script_name, buffer.getvalue())

    cfg = net.config
    if receptive_field_px is None:
        receptive_field_px = measure_receptive_field(
            net, in_layers=cfg.in_layers, multiple=net.size_multiple
        )
    card = ModelCard(
        name=name,
        version=version,
        architecture=ARCHITECTURE,
        network=cfg.as_dict(),
        layers=list(layers),
        normalization={k: LayerNorm(mean=m, std=s) for k, (m, s) in normalization.items()},
        thresholds=thresholds,
        resolution_m=resolution_m,
        tile_size=tile_size,
        size_multiple=net.size_multiple,
        receptive_field_px=receptive_field_px,
        params=count_parameters(net),
        flops_per_pixel=round(flops_per_pixel(net, in_layers=cfg.in_layers)),
        metrics=metrics or {},
        real_scene=real_scene or {},
        training=training or {},
        weights_file=weights_name,
        weights_sha256=sha256_file(out / weights_name),
        torchscript_file=script_name,
        torchscript_sha256=sha256_file(out / script_name),
        cuda=CUDA_UNTESTED,
        comparison=dict(COMPARISON),
    )
    card.save(out)
    logger.info("wrote %s (receptive field %d px)", out, receptive_field_px)
    return card


def load_network(card: ModelCard) -> SlickNet:
    """Rebuild our network from a card and its state dict (CPU, eval mode)."""
    from model.network import NetworkConfig

    path = card.path_of(card.weights_file)
    if path is None:
        from model.errors import ModelFileMissing

        raise ModelFileMissing(f"card {card.name}:{card.version} names no weights file.")
    net = SlickNet(NetworkConfig.from_dict(card.network))
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval()
