"""Fixtures of the model tests: a small exported model with non-trivial (randomized) weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from model.card import ModelCard, Thresholds
from model.export import export_model
from model.network import NetworkConfig, SlickNet


def small_net(
    seed: int = 0, *, stem: int = 1, widths: tuple[int, ...] = (4, 8, 8), local_contrast_px: int = 2
) -> SlickNet:
    """A small network with random weights and random BatchNorm statistics (eval mode)."""
    torch.manual_seed(seed)
    net = SlickNet(NetworkConfig(widths=widths, stem=stem, local_contrast_px=local_contrast_px))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return net.eval()


@pytest.fixture(scope="session")
def make_net() -> Callable[..., SlickNet]:
    """:func:`small_net`, for tests that build their own."""
    return small_net


@pytest.fixture(scope="session")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> ModelCard:
    """A small random model exported as a model folder (state dict, TorchScript, card)."""
    folder: Path = tmp_path_factory.mktemp("small-model")
    return export_model(
        small_net(),
        folder,
        name="small",
        version="1",
        layers=["VV_DB"],
        normalization={"VV_DB": (-20.0, 5.0)},
        thresholds=Thresholds(seed=0.6, grow=0.4, min_area_px=4),
        tile_size=96,
    )
