"""Fixtures of the pipeline tests: a real Dask cluster of processes, simulated and real scenes.

- ``dask_client`` (module): a ``LocalCluster`` of two worker processes with one thread each.
- ``simulate_scene(seed=..., **config)``: writes a simulated scene (COGs + STAC item) once per
  session and returns the item's path.
- ``real_vv``: the real Sentinel-1 scene's VV measurement file (GCPs).
- ``shipped_model``: the shipped model's ``card.json``.
- ``copy_scene(item)``: a private copy of a scene's folder, to damage.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REAL_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


@pytest.fixture(scope="session")
def real_vv() -> Path:
    """The real scene's VV measurement file (uint16 DN, 231 GCPs, productInfo.json beside it)."""
    path = (REAL_DIR / f"{REAL_ID}.vv.tif").resolve()
    assert path.is_file(), f"the real scene is missing: {path}"
    return path


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The shipped model's card."""
    from model.predictor import SHIPPED_DIR

    card = SHIPPED_DIR / "card.json"
    assert card.is_file(), f"the shipped model is missing: {card}"
    return card


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """A real local cluster, as the pipeline starts one: two worker processes, one thread each."""
    from distributed import Client

    from pipeline.cluster import local_cluster

    with (
        local_cluster(n_workers=2, memory_limit="4GiB") as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def simulate_scene(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``simulate_scene(seed, **config)`` -> path of the STAC item of a simulated scene."""
    from catalog.simulate import SimulationConfig, write_scene

    root = tmp_path_factory.mktemp("simulated")
    made: dict[tuple, Path] = {}

    def make(seed: int, **config: object) -> Path:
        key = (seed, tuple(sorted((k, repr(v)) for k, v in config.items())))
        if key not in made:
            folder = root / f"s{len(made)}"
            item = write_scene(SimulationConfig(seed=seed, **config), folder)
            made[key] = Path(item.get_self_href())
        return made[key]

    return make


@pytest.fixture
def copy_scene(tmp_path: Path) -> Callable[[Path], Path]:
    """``copy_scene(item)``: a private copy of a simulated scene's folder (to damage it)."""

    def copy(item: Path) -> Path:
        target = tmp_path / item.parent.name
        shutil.copytree(item.parent, target)
        return target / item.name

    return copy
