"""The SAR simulator: Sentinel-1 IW scenes with oil slicks, look-alikes, ships, land and labels.

>>> from catalog.simulate import SimulationConfig, simulate
>>> scene = simulate(SimulationConfig(seed=1, slicks={"VESSEL": 1}))
>>> scene.vv.shape, int(scene.classes.max()) <= 3
((512, 512), True)

Names are imported lazily so that ``slickwatch --help`` does not load geopandas and GDAL.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["SLICK_CLASSES", "SimulatedScene", "SimulationConfig", "simulate", "write_scene"]

_WHERE = {
    "SLICK_CLASSES": "catalog.simulate.features",
    "SimulationConfig": "catalog.simulate.config",
    "SimulatedScene": "catalog.simulate.simulation",
    "simulate": "catalog.simulate.simulation",
    "write_scene": "catalog.simulate.writer",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'catalog.simulate' has no attribute {name!r}")
