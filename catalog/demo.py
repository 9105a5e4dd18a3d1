"""The demo catalog: a few simulated scenes of different seas, winds and slicks, plus the real one.

``slickwatch demo-catalog PATH`` writes a static STAC catalog (``PATH/catalog.json``) holding:

- four simulated scenes, 1,000-2,000 px at 40-80 m (a few seconds each on two cores): swath-geometry
  uint16 DN with GCPs (like raw GRD) and north-up float32 sigma0 in UTM (like analysis-ready
  products), in the Gulf of Mexico, the North Sea, the Persian Gulf and the Campos Basin, with
  winds from 3.5 to 11 m/s and VESSEL, INFRA and NATURAL slicks, each with its label assets;
- the real Sentinel-1 scene off Cape Hatteras, its files copied into ``PATH/real/``.

The same call always writes the same catalog.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pystac

from catalog.errors import CatalogError
from catalog.simulate import SimulationConfig, write_scene
from catalog.simulate.compare import REAL_SCENE_ID, real_paths
from catalog.stac import make_s1_item, write_catalog

logger = logging.getLogger(__name__)

DEMO_SCENES = (
    SimulationConfig(
        seed=101, shape=(1500, 2000), pixel_size=80.0, geometry="grd", center=(-90.5, 27.2),
        wind_speed=6.0, wind_direction=140.0, slicks={"VESSEL": 2, "INFRA": 1, "NATURAL": 0},
        land=False,
    ),
    SimulationConfig(
        seed=102, shape=(1500, 1500), pixel_size=80.0, geometry="utm", center=(3.2, 56.4),
        wind_speed=8.0, wind_direction=250.0, slicks={"VESSEL": 1, "INFRA": 2, "NATURAL": 0},
        land=False,
    ),
    SimulationConfig(
        seed=103, shape=(1200, 1200), pixel_size=60.0, geometry="utm", center=(51.9, 26.8),
        wind_speed=3.5, wind_direction=320.0, slicks={"VESSEL": 0, "INFRA": 1, "NATURAL": 2},
        land=True,
    ),
    SimulationConfig(
        seed=104, shape=(1000, 1500), pixel_size=40.0, geometry="grd", center=(-40.0, -23.0),
        wind_speed=11.0, wind_direction=60.0, slicks={"VESSEL": 1, "INFRA": 0, "NATURAL": 1},
        land=False,
    ),
)  # fmt: skip
"""The simulated scenes of the demo catalog."""


def real_scene_item(real_dir: Path, dest: Path) -> pystac.Item:
    """Copy the real scene's files into ``dest`` and describe them with a STAC item."""
    from catalog.scene import scene_from_grd_file

    vv, vh = real_paths(real_dir)
    info = Path(real_dir) / f"{REAL_SCENE_ID}.productInfo.json"
    dest.mkdir(parents=True, exist_ok=True)
    for src in (vv, vh, info):
        tmp = dest / f".{src.name}.tmp"
        shutil.copyfile(src, tmp)
        tmp.replace(dest / src.name)
    scene = scene_from_grd_file(dest / vv.name)
    return make_s1_item(
        scene.scene_id,
        footprint=scene.footprint,
        assets={a.polarization.lower(): a.href for a in scene.assets},
        kind="dn",
        epsg=None,
        shape=scene.assets[0].shape,
        transform=None,
        calibration_constant=scene.assets[0].calibration_constant,
        properties={"sat:orbit_state": "ascending"},
    )


def write_demo_catalog(path: str | Path, *, real_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the demo catalog under ``path``; returns the path of its ``catalog.json``.

    Raises:
        CatalogError: ``path`` holds a catalog already and ``overwrite`` is false.
        RealSceneNotFound: the real scene is not in ``real_dir``.
    """
    root = Path(path)
    if (root / "catalog.json").exists() and not overwrite:
        raise CatalogError(f"{root} holds a catalog already: pass --overwrite to replace it.")
    real_paths(Path(real_dir))  # fail before minutes of simulation, not after
    items = []
    for config in DEMO_SCENES:
        logger.info("simulating demo scene seed %d (%dx%d px)", config.seed, *config.shape)
        items.append(write_scene(config, root / "scenes", overwrite=True))
    items.append(real_scene_item(Path(real_dir), root / "real"))
    return write_catalog(
        items,
        root,
        title="slickwatch demo",
        description="Simulated Sentinel-1 IW scenes with labelled oil slicks, and one real scene.",
    )
