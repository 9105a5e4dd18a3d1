"""Slicks to a file: GeoJSON, GeoParquet or GeoPackage, chosen by the file's extension.

The file is written under a temporary name beside the target and renamed over it, so a reader
never sees half a file and a failed write leaves the previous file as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import shapely

from pipeline.errors import OutputError

FORMATS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".gpkg": "GPKG",
}
"""File extension -> format."""


def output_format(path: str | Path) -> str:
    """The format of an output path.

    Raises:
        OutputError: unknown extension, or a folder that does not exist.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise OutputError(
            f"Cannot tell the format of {path.name}: end the file name in .geojson, "
            ".parquet or .gpkg."
        )
    if not path.parent.resolve().is_dir():
        raise OutputError(f"The folder of {path} does not exist: create it first.")
    return fmt


def flat_frame(slicks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The slicks with plain columns only: centerline as WKT, class probabilities as JSON."""
    out = slicks.copy()
    if "centerline" in out:
        out["centerline"] = [
            shapely.to_wkt(g, rounding_precision=6) if isinstance(g, shapely.Geometry) else g
            for g in out["centerline"]
        ]
    if "class_probabilities" in out:
        out["class_probabilities"] = [
            json.dumps(p) if isinstance(p, dict) else p for p in out["class_probabilities"]
        ]
    return out


def write_slicks(slicks: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write the slicks to ``path`` atomically; returns the path.

    Raises:
        OutputError: unknown format or the file cannot be written.
    """
    path = Path(path)
    fmt = output_format(path)
    frame = flat_frame(slicks)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # the drivers create the file themselves
        if fmt == "GeoParquet":
            frame.to_parquet(tmp)
        else:
            frame.to_file(tmp, driver=fmt, layer="slicks" if fmt == "GPKG" else None)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
