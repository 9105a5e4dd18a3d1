"""Training end to end on a tiny scale: chips from the simulator, Lightning, export, reload.

A tiny network trains for a few steps on 64 px chips; the test checks that the loss on a fixed
batch falls, that the run is reproducible, that checkpoints are written, and that the exported
state dict, its TorchScript twin and the trained module give the same outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.card import ModelCard
from model.data import Augment, ChipDataset, ChipRecipe, load_split, make_chip
from model.export import load_network
from model.lightning import SlickSegmenter, class_weights
from model.predictor import Predictor, get_predictor
from model.train import TrainConfig, train

TINY = ChipRecipe(size=64, source_pixel_m=(60.0, 120.0), negative_share=0.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, ModelCard]:
    root = tmp_path_factory.mktemp("training")
    config = TrainConfig(
        data_dir=root / "data",
        out_dir=root / "model",
        name="tiny",
        widths=(4, 8),
        stem=2,
        train_chips=8,
        val_chips=3,
        test_chips=3,
        recipe=TINY,
        batch_size=4,
        crop=48,
        max_steps=192,
        lr=1e-2,
        workers=1,
    )
    return config, train(config, progress=False)


def test_chips_are_cached_and_labelled(trained: tuple[TrainConfig, ModelCard]) -> None:
    config, _ = trained
    chips = load_split(config.data_dir, "train", 8, TINY)
    assert len(chips) == 8 and all(c.vv_db.shape == (64, 64) for c in chips)
    assert sum(int((c.classes > 0).sum()) for c in chips) > 0, "no oil in any chip"
    again = make_chip(chips[0].seed, TINY)
    np.testing.assert_allclose(again.vv_db, chips[0].vv_db, atol=0.02, equal_nan=True)  # float16
    assert np.array_equal(again.classes, chips[0].classes)
    assert not (
        set(c.seed for c in chips)
        & set(c.seed for c in load_split(config.data_dir, "val", 3, TINY))
    )


def test_loss_falls(trained: tuple[TrainConfig, ModelCard]) -> None:
    config, card = trained
    chips = load_split(config.data_dir, "train", 8, TINY)
    norm = {k: (v.mean, v.std) for k, v in card.normalization.items()}
    dataset = ChipDataset(chips, layers=card.layers, normalization=norm)
    x = torch.stack([dataset[i][0] for i in range(8)])
    y = torch.stack([dataset[i][1] for i in range(8)])
    weights = class_weights(card.training["class_frequencies"])
    torch.manual_seed(config.seed)  # the same initialization as the run
    before = SlickSegmenter(network=card.network, class_weights=weights).eval()
    after = SlickSegmenter(network=card.network, class_weights=weights).eval()
    after.net.load_state_dict(load_network(card).state_dict())
    with torch.no_grad():
        loss_before = before.loss(before(x), y)[0].item()
        loss_after = after.loss(after(x), y)[0].item()
    assert loss_after < 0.8 * loss_before


def test_run_writes_checkpoints_and_a_complete_card(trained: tuple[TrainConfig, ModelCard]) -> None:
    config, card = trained
    assert (config.run_dir / "checkpoints" / "last.ckpt").is_file()
    assert card.training["steps"] == config.max_steps
    assert set(card.metrics) == {"validation", "test", "test_mixed_resolution"}
    assert 0.0 <= card.metrics["test"]["oil_iou"] <= 1.0 or np.isnan(
        card.metrics["test"]["oil_iou"]
    )
    card.verify()
    assert ModelCard.load(config.out_dir) == card


def test_saved_loaded_and_torchscript_agree(trained: tuple[TrainConfig, ModelCard]) -> None:
    _, card = trained
    x = np.random.default_rng(0).standard_normal((2, 1, 40, 56)).astype(np.float32)
    from_state = get_predictor(card.location).predict(x)
    script = torch.jit.load(str(card.path_of(card.torchscript_file)))
    from_script = Predictor(card, script).predict(x)
    net = load_network(card)
    with torch.no_grad():
        direct = torch.softmax(
            net(torch.from_numpy(np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 0))))), 1
        )
    np.testing.assert_allclose(from_state, from_script, atol=1e-5)
    np.testing.assert_allclose(from_state, direct.numpy(), atol=1e-5)


def test_training_is_reproducible(trained: tuple[TrainConfig, ModelCard], tmp_path: Path) -> None:
    config, card = trained
    from dataclasses import replace

    again = train(replace(config, out_dir=tmp_path / "again", version="again"), progress=False)
    assert again.weights_sha256 == card.weights_sha256


def test_augmentation_keeps_labels_aligned() -> None:
    """Flips, rotations and crops move labels with pixels; gain and trend leave labels alone."""
    chip = make_chip(4_000_001, TINY)
    marked = chip.vv_db.copy()
    marked[chip.classes > 0] = 100.0  # make oil pixels recognizable after augmentation
    marked[~chip.valid] = np.nan
    from model.data import Chip

    chip = Chip(marked, chip.vh_db, chip.classes, chip.lookalike, chip.seed, chip.source_pixel_m)
    aug = Augment(
        crop=48, speckle_p=0.0, nodata_p=0.0, contrast=(1.0, 1.0), gain_db=0.0, trend_db=0.0
    )
    ds = ChipDataset([chip], layers=["VV_DB"], normalization={"VV_DB": (0.0, 1.0)}, augment=aug)
    for epoch in range(4):
        ds.set_epoch(epoch)
        x, y = ds[0]
        assert x.shape == (1, 48, 48)
        oil = (y > 0) & (y != 255)
        assert torch.all(x[0][oil] == 100.0)
        assert not torch.any(x[0][~oil & (y != 255)] == 100.0)
