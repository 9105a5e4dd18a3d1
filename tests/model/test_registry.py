"""The registry on a real PostGIS: register, resolve by name / newest / shipped, refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from model.card import ModelCard
from model.errors import ModelHashMismatch, ModelNotRegistered
from model.predictor import get_predictor, shipped_card
from model.registry import ModelVersionTaken, register, resolve_model
from schema.database import engine_for


def test_empty_registry_resolves_to_the_shipped_model(database_url: str) -> None:
    resolved = resolve_model(None, database_url)
    assert resolved.model_id is None
    assert resolved.card.name == shipped_card().name
    assert resolve_model(shipped_card().name, database_url).model_id is None
    with pytest.raises(ModelNotRegistered, match="slickwatch model register"):
        resolve_model("nobody:1", database_url)


def test_register_and_resolve(database_url: str, small_model: ModelCard, tmp_path: Path) -> None:
    shipped_id = register(None, database_url)
    assert register(None, database_url) == shipped_id  # idempotent
    small_id = register(small_model.location, database_url)
    assert small_id != shipped_id
    with engine_for(database_url).connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT name, version, layers, class_map, thresholds, resolution_m,"
                " tile_size_px, file_hash FROM model WHERE id = :i"
            ),
            {"i": small_id},
        ).one()
    assert row.name == "small" and row.version == "1" and row.layers == ["VV_DB"]
    assert row.class_map == {"0": "BACKGROUND", "1": "INFRA", "2": "NATURAL", "3": "VESSEL"}
    assert row.thresholds == {"seed": 0.6, "grow": 0.4, "min_area_px": 4}
    assert (row.resolution_m, row.tile_size_px) == (80.0, 96)
    assert row.file_hash == small_model.weights_sha256

    newest = resolve_model(None, database_url)
    assert newest.model_id == small_id and newest.card.name == "small"
    assert resolve_model(shipped_card().name, database_url).model_id == shipped_id
    assert resolve_model("small:1", database_url).card_path == small_model.location / "card.json"
    predictor = get_predictor(newest.card)
    assert predictor.predict_image(np.zeros((1, 40, 40), np.float32)).shape == (4, 40, 40)


def test_refusals(database_url: str, small_model: ModelCard, tmp_path: Path) -> None:
    folder = tmp_path / "retrained"
    shutil.copytree(small_model.location, folder)
    register(folder, database_url)
    # same name and version, other weights: refused
    weights = folder / "small.pt"
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ModelHashMismatch):
        register(folder, database_url)
    card = ModelCard.load(folder)
    from model.card import sha256_file

    card.weights_sha256 = sha256_file(weights)
    card.save(folder)
    with pytest.raises(ModelVersionTaken, match="another version"):
        register(folder, database_url)
    # the registered card's weights changed on disk: resolving says so
    with pytest.raises(ModelHashMismatch, match="no longer has the registered SHA-256"):
        resolve_model("small:1", database_url)


def test_cli_register_and_list(database_url: str, small_model: ModelCard) -> None:
    from service.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["model", "register", str(small_model.location), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    model_id = int(result.output.strip().splitlines()[-1])
    listed = runner.invoke(app, ["model", "list", "--database-url", database_url])
    assert listed.exit_code == 0 and "small" in listed.output and str(model_id) in listed.output
    missing = runner.invoke(
        app, ["model", "register", "/nonexistent/card.json", "--database-url", database_url]
    )
    assert missing.exit_code == 1 and "no model card" in missing.output
