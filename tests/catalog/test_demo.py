"""The demo catalog: simulated scenes of both kinds plus the real one, in one static catalog."""

from __future__ import annotations

from pathlib import Path

import pystac
import pytest
import rasterio

from catalog.demo import DEMO_SCENES, write_demo_catalog
from catalog.errors import CatalogError
from catalog.scene import resolve_scene
from catalog.simulate.compare import REAL_SCENE_ID

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    return write_demo_catalog(root, real_dir=REAL)


def test_catalog_holds_simulated_and_real_scenes(demo: Path) -> None:
    catalog = pystac.Catalog.from_file(str(demo))
    items = list(catalog.get_items(recursive=True))
    assert len(items) == len(DEMO_SCENES) + 1
    ids = {i.id for i in items}
    assert REAL_SCENE_ID in ids
    kinds = {i.assets["vv"].extra_fields["slickwatch:kind"] for i in items}
    assert kinds == {"dn", "sigma0"}
    for item in items:
        for asset in item.assets.values():
            path = Path(asset.get_absolute_href())
            assert path.is_file() and path.resolve().is_relative_to(demo.parent.resolve())
        scene = resolve_scene(item)
        assert scene.simulated == (item.id != REAL_SCENE_ID)
        if scene.simulated:
            assert set(scene.labels) == {"classes", "lookalikes", "polygons"}


def test_real_scene_in_catalog_is_the_copied_file(demo: Path) -> None:
    item = next(
        i
        for i in pystac.Catalog.from_file(str(demo)).get_items(recursive=True)
        if i.id == REAL_SCENE_ID
    )
    with (
        rasterio.open(item.assets["vv"].get_absolute_href()) as ds,
        rasterio.open(REAL / f"{REAL_SCENE_ID}.vv.tif") as src,
    ):
        assert (ds.read(1) == src.read(1)).all()
        assert len(ds.gcps[0]) == 231


def test_writing_again_needs_overwrite(demo: Path) -> None:
    with pytest.raises(CatalogError, match="--overwrite"):
        write_demo_catalog(demo.parent, real_dir=REAL)
