"""The notebooks execute, top to bottom, on small inputs (parameters by environment variables).

One story: detect the slicks of a small simulated scene; backfill a catalog of two such scenes
into a fresh database on a LocalCluster; serve that database and query it with OWSLib. The
model is a small untrained network (:mod:`model.export`), so its one slick per scene is an
artefact along the scene's nodata border; a reviewer's reclassification (``schema.review``)
makes it an oil slick that the public API serves.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
from nbclient import NotebookClient

from schema.database import engine_for
from schema.settings import Settings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(name: str, tmp_path: Path) -> tuple[str, list[str]]:
    """Execute a notebook from ``notebooks/``; returns its text output and output MIME types."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        f"{name} is committed with outputs: clear them"
    )
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    ).execute()
    nbformat.write(notebook, tmp_path / name)  # to look at when a test fails
    texts, kinds = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            else:
                kinds += list(output.get("data", {}))
                texts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts), kinds


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A static catalog of two small simulated scenes, and an untrained model's card."""
    import torch

    from catalog.simulate import SimulationConfig, write_scene
    from catalog.stac import write_catalog
    from model.card import Thresholds
    from model.export import export_model
    from model.network import NetworkConfig, SlickNet

    root = tmp_path_factory.mktemp("notebook-inputs")
    items = [
        write_scene(SimulationConfig(seed=seed, shape=(256, 256), land=False), root / "scenes")
        for seed in (801, 802)
    ]
    torch.manual_seed(0)
    export_model(
        SlickNet(NetworkConfig(widths=(4, 8), local_contrast_px=0)),
        root / "model",
        name="tiny",
        version="1",
        layers=["VV_DB"],
        normalization={"VV_DB": (-20.0, 5.0)},
        thresholds=Thresholds(seed=0.6, grow=0.5, min_area_px=4),
        tile_size=512,
    )
    return {
        "catalog": write_catalog(items, root / "catalog", title="notebook test"),
        "item": Path(items[0].get_self_href()),
        "model": root / "model" / "card.json",
    }


def test_notebooks_execute(
    small: dict[str, Path],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schema.review import reclassify
    from service.app import create_app
    from service.server import free_port, running

    monkeypatch.setenv("SLICKWATCH_NB_MODEL", str(small["model"]))
    monkeypatch.setenv("SLICKWATCH_NB_WORKERS", "1")

    # 1. one scene, plotted over its radar image
    monkeypatch.setenv("SLICKWATCH_NB_SCENE", str(small["item"]))
    text, kinds = _run("detect_one_scene.ipynb", tmp_path)
    scene_id = json.loads(small["item"].read_text())["id"]
    assert scene_id in text and "slicks; seconds per step" in text
    assert "image/png" in kinds
    assert "dtype=uint8, chunksize=(4, " in text and "P(oil) >= " in text  # the lazy face

    # 2. a backfill on a LocalCluster into the test database, with the dashboard link
    monkeypatch.setenv("SLICKWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("SLICKWATCH_NB_STAC", str(small["catalog"]))
    text, kinds = _run("backfill_local_cluster.ipynb", tmp_path)
    assert "Dask dashboard: http://127.0.0.1:" in text
    assert "{'stored': 2}" in text and "model tiny:1: {'run': 2}" in text
    with engine_for(database_url).connect() as conn:
        successes = conn.execute(
            sa.text("SELECT count(*) FROM orchestrator_run WHERE success")
        ).scalar_one()
        slick_ids = conn.execute(sa.text("SELECT id FROM slick WHERE active ORDER BY id")).scalars()
        slick_ids = list(slick_ids)
    assert successes == 2 and slick_ids

    # 3. the API over that database, read with OWSLib and geopandas
    for slick_id in slick_ids:
        reclassify(slick_id, "VESSEL", reviewer="notebook test", db=database_url)
    port = free_port()
    app = create_app(
        Settings(data_dir=tmp_path / "service", host="127.0.0.1", port=port),
        database_url=database_url,
    )
    with running(app, port=port) as base:
        monkeypatch.setenv("SLICKWATCH_NB_API", base)
        text, kinds = _run("query_api.ipynb", tmp_path)
    assert f"{len(slick_ids)} slicks" in text and "VESSEL" in text
    assert "2 scenes;" in text and "image/png" in kinds
