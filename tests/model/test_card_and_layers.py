"""Model cards (round trip, validation, files) and the preparation of input layers."""

from __future__ import annotations

import json
from pathlib import Path

import dask.array as da
import numpy as np
import pytest

from model.card import ModelCard
from model.card_markdown import render
from model.errors import InvalidInput, InvalidModelCard, UnknownLayer
from model.layers import prepare_layers
from model.predictor import SHIPPED_DIR, shipped_card


def test_card_round_trip(small_model: ModelCard, tmp_path: Path) -> None:
    loaded = ModelCard.load(small_model.location / "card.json")
    assert loaded == small_model
    assert loaded.classes == {0: "BACKGROUND", 1: "INFRA", 2: "NATURAL", 3: "VESSEL"}
    assert loaded.oil_classes == {1: "INFRA", 2: "NATURAL", 3: "VESSEL"}
    assert loaded.params and loaded.flops_per_pixel and loaded.receptive_field_px > 0
    assert "untested on CUDA" in loaded.cuda
    loaded.verify()
    copy = tmp_path / "card.json"
    loaded.save(copy)
    assert json.loads(copy.read_text())["weights_sha256"] == small_model.weights_sha256
    assert not list(tmp_path.glob(".card.json.*"))  # no temp file left behind


def test_bad_cards_say_why(small_model: ModelCard, tmp_path: Path) -> None:
    data = json.loads((small_model.location / "card.json").read_text())
    for change, message in [
        ({"classes": {"0": "INFRA", "1": "BACKGROUND"}}, "channel 0 must be 'BACKGROUND'"),
        ({"normalization": {}}, "normalization lacks layers"),
        ({"thresholds": {"seed": 0.3, "grow": 0.6, "min_area_px": 4}}, "must not exceed seed"),
    ]:
        (tmp_path / "card.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(InvalidModelCard, match=message):
            ModelCard.load(tmp_path)


def test_prepare_layers_follows_the_card(small_model: ModelCard) -> None:
    vv = np.array([[0.01, 0.1], [0.0, np.nan]], dtype=np.float32)
    vh = np.array([[0.001, 0.001], [0.001, 0.001]], dtype=np.float32)
    x = prepare_layers(vv, vh, small_model)  # VV_DB, (dB + 20) / 5
    assert x.shape == (1, 2, 2) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0], [0.0, 2.0], atol=1e-6)
    assert np.isnan(x[0, 1]).all()  # sigma0 0 and NaN are nodata
    lazy = prepare_layers(da.from_array(vv, chunks=1), None, small_model)
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), x)


def test_prepare_layers_refuses_what_it_cannot_make(small_model: ModelCard) -> None:
    two = small_model.model_copy(
        update={
            "layers": ["VV_DB", "VH_DB"],
            "normalization": {
                **small_model.normalization,
                "VH_DB": small_model.normalization["VV_DB"],
            },
        }
    )
    vv = np.ones((4, 4), dtype=np.float32)
    with pytest.raises(InvalidInput, match="needs VH sigma0"):
        prepare_layers(vv, None, two)
    foreign = small_model.model_copy(
        update={
            "layers": ["INFRA_DISTANCE"],
            "normalization": {"INFRA_DISTANCE": small_model.normalization["VV_DB"]},
        }
    )
    with pytest.raises(UnknownLayer, match="INFRA_DISTANCE"):
        prepare_layers(vv, vv, foreign)
    with pytest.raises(InvalidInput, match="2-D"):
        prepare_layers(vv[None], None, small_model)


def test_shipped_card_is_complete() -> None:
    card = shipped_card()
    card.verify()
    assert card.layers == ["VV_DB"] and card.resolution_m == 80
    assert card.receptive_field_px <= 64, "the pipeline's halo is 64 px"
    assert card.metrics["test"]["oil_iou"] > 0 and card.real_scene
    assert (SHIPPED_DIR / "MODEL_CARD.md").read_text() == render(card)
