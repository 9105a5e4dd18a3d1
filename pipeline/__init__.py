"""The Dask graph that turns a Sentinel-1 scene into slick polygons, for one scene and for many.

>>> from pipeline import detect_scene
>>> slicks = detect_scene("S1A_IW_GRDH_1SDV_....vv.tif")  # doctest: +SKIP

Heavy modules (dask, torch) load on first use, so that ``slickwatch --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Options", "detect_scene", "run_detection", "run_scene"]


def __getattr__(name: str) -> Any:
    if name in ("detect_scene", "run_detection", "Options"):
        from pipeline import detect

        return getattr(detect, name)
    if name == "run_scene":
        from pipeline.orchestrate import run_scene

        return run_scene
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
