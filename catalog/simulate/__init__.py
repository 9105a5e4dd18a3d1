"""The SAR simulator: Sentinel-1 IW scenes with oil slicks, look-alikes, ships, land and labels.

>>> from catalog.simulate import SimulationConfig, simulate
>>> scene = simulate(SimulationConfig(seed=1, slicks={"VESSEL": 1}))
>>> scene.vv.shape, scene.classes.max() <= 3
((512, 512), True)
"""

from __future__ import annotations

from catalog.simulate.config import SimulationConfig
from catalog.simulate.features import SLICK_CLASSES
from catalog.simulate.simulation import SimulatedScene, simulate

__all__ = ["SLICK_CLASSES", "SimulatedScene", "SimulationConfig", "simulate", "write_scene"]


def write_scene(*args, **kwargs):
    """Write a simulated scene as COGs, label COGs, GeoJSON and a STAC item; see
    :func:`catalog.simulate.writer.write_scene`."""
    from catalog.simulate.writer import write_scene as _write_scene

    return _write_scene(*args, **kwargs)
