"""The predictor: loading once per process, TorchScript = state dict, tiling, NaN, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from model.card import ModelCard
from model.errors import InvalidInput, ModelFileMissing, ModelHashMismatch
from model.predictor import Predictor, get_predictor, load_count


def _image(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, *shape)).astype(np.float32)


def test_loads_once_per_process(small_model: ModelCard) -> None:
    before = load_count()
    first = get_predictor(small_model.location)
    again = get_predictor(small_model.location / "card.json")
    by_card = get_predictor(ModelCard.load(small_model.location))
    assert first is again is by_card
    assert load_count() - before <= 1  # 0 when an earlier test loaded it already
    n = load_count()
    for _ in range(3):
        get_predictor(small_model.location).predict(_image((32, 32))[None])
    assert load_count() == n


def test_state_dict_torchscript_and_network_agree(small_model: ModelCard) -> None:
    from model.export import load_network

    x = _image((50, 70), seed=2)[None]
    eager = get_predictor(small_model.location)
    assert not isinstance(eager.module, torch.jit.ScriptModule)
    scripted = Predictor(
        small_model, torch.jit.load(str(small_model.location / "small.torchscript.pt"))
    )
    direct = Predictor(small_model, load_network(small_model))
    a, b, c = eager.predict(x), scripted.predict(x), direct.predict(x)
    assert a.shape == (1, 4, 50, 70)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-6)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-5)


def test_predict_image_equals_whole_image_run(small_model: ModelCard) -> None:
    """Tiles (96 px here) blended with zero weight inside the receptive field of inner edges
    give what one pass over the whole image gives."""
    predictor = get_predictor(small_model.location)
    x = _image((301, 233), seed=3)
    whole = predictor.predict(x[None])[0]
    tiled = predictor.predict_image(x, batch_size=3)
    assert tiled.shape == (4, 301, 233)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    bigger = predictor.predict_image(x, tile_size=512)
    np.testing.assert_allclose(bigger, whole, atol=1e-4)


def test_nan_is_background(small_model: ModelCard) -> None:
    predictor = get_predictor(small_model.location)
    x = _image((120, 140), seed=4)
    x[0, 10:40, 20:90] = np.nan
    x[0, :, 130:] = np.nan
    nodata = ~np.isfinite(x[0])
    everything_missing = np.full((1, 200, 200), np.nan, dtype=np.float32)
    for tile_size in (None, 512):  # blended tiles, and one tile (the pipeline's blocks)
        probs = predictor.predict_image(x, tile_size=tile_size)
        assert np.all(probs[0][nodata] == 1.0)
        assert np.all(probs[1:, nodata] == 0.0)
        assert np.isfinite(probs).all()
        blank = predictor.predict_image(everything_missing, tile_size=tile_size)
        assert np.all(blank[0] == 1.0) and np.all(blank[1:] == 0.0)


def test_bad_input_says_what_to_do(small_model: ModelCard) -> None:
    predictor = get_predictor(small_model.location)
    with pytest.raises(InvalidInput, match="takes 1 layers.*prepare_layers"):
        predictor.predict_image(np.zeros((2, 32, 32), dtype=np.float32))
    with pytest.raises(InvalidInput, match=r"4-D array \[n, layers, h, w\]"):
        predictor.predict(np.zeros((1, 32, 32), dtype=np.float32))
    with pytest.raises(InvalidInput, match="float32"):
        predictor.predict_image(np.zeros((1, 32, 32), dtype=np.int16))
    with pytest.raises(InvalidInput, match="CUDA is not available"):
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        get_predictor(small_model.location, device="cuda")


def test_changed_weights_are_refused(small_model: ModelCard, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(small_model.location, folder)
    weights = folder / "small.pt"
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ModelHashMismatch, match="changed after the card was written"):
        get_predictor(folder)
    weights.unlink()
    with pytest.raises(ModelFileMissing, match="is missing"):
        get_predictor(folder)
    with pytest.raises(ModelFileMissing, match="no model card"):
        get_predictor(tmp_path / "nowhere")


def test_foreign_torchscript_model_through_its_card(tmp_path: Path) -> None:
    """A Cerulean-style TorchScript model (other layers, probabilities out) works from its card."""

    class TwoLayer(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            oil = torch.sigmoid(-(x[:, 0:1] + x[:, 1:2]))  # dark in both layers: oil
            rest = 1.0 - oil
            return torch.cat([rest, oil * 0.2, oil * 0.3, oil * 0.5], dim=1)

    torch.jit.save(torch.jit.script(TwoLayer()), str(tmp_path / "foreign.pt"))
    card = {
        "name": "foreign",
        "version": "7",
        "architecture": "cerulean-unet-traced",
        "layers": ["VV_DB", "VH_DB"],
        "normalization": {"VV_DB": {"mean": -20, "std": 5}, "VH_DB": {"mean": -28, "std": 4}},
        "outputs": "probabilities",
        "thresholds": {"seed": 0.6, "grow": 0.5, "min_area_px": 4},
        "tile_size": 64,
        "size_multiple": 1,
        "receptive_field_px": 0,
        "torchscript_file": "foreign.pt",
    }
    (tmp_path / "card.json").write_text(json.dumps(card))
    predictor = get_predictor(tmp_path)
    x = np.zeros((2, 70, 90), dtype=np.float32)
    x[:, 30:35, :] = -3.0  # a dark band
    probs = predictor.predict_image(x)
    assert probs.shape == (4, 70, 90)
    assert probs[0, 32, 45] < 0.01 and probs[0, 5, 5] == pytest.approx(0.5)
    assert probs[3, 32, 45] == pytest.approx(0.5 * (1 - probs[0, 32, 45]), rel=1e-5)


def test_codes_are_the_rounded_probabilities(small_model: ModelCard) -> None:
    """``codes=True`` (what the pipeline keeps) gives round(255 p) of the float output exactly,
    for the strip-wise network, a TorchScript one, and blended tiles; nodata is code 255 for
    background."""
    x = _image((150, 170), seed=4)
    x[:, :20, :30] = np.nan
    eager = get_predictor(small_model.location)
    scripted = Predictor(
        small_model, torch.jit.load(str(small_model.location / "small.torchscript.pt"))
    )
    for predictor in (eager, scripted):
        probs = predictor.predict(x[None])
        codes = predictor.predict(x[None], codes=True)
        assert codes.dtype == np.uint8
        np.testing.assert_array_equal(codes, np.rint(probs * np.float32(255)).astype(np.uint8))
        assert (codes[0, 0, :20, :30] == 255).all() and (codes[0, 1:, :20, :30] == 0).all()
    tiled = eager.predict_image(x, tile_size=96, codes=True)
    expected = np.rint(eager.predict_image(x, tile_size=96) * np.float32(255)).astype(np.uint8)
    np.testing.assert_array_equal(tiled, expected)
