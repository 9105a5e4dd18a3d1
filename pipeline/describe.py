"""Describe: class, confidence, shape attributes, centerline; land and artefact reclassification.

Attributes are measured in the working grid's UTM zone (metres), as the database's trigger
measures them on the spheroid for stored rows (the two agree to a fraction of a percent):

- ``area_m2``, ``perimeter_m``; ``polsby_popper`` = 4π·area/perimeter² (1 for a disc);
- ``fill_factor`` = area / area of the minimum rotated rectangle; ``length_m`` = its long side;
- ``centerline``: per part, the longest path through the part's skeleton (the medial axis of the
  rasterized part, scikit-image), as a (Multi)LineString; ``centerline_length_m`` its length;
- ``aspect_ratio_factor`` = centerline_length² / area, the length over the mean width: about 1
  for a blob, tens to hundreds for a ship's trail (Cerulean's measure of elongation).

Class: the oil class with the largest summed probability; ``machine_confidence`` = mean P(oil) =
1 - mean P(background) over the slick's pixels. A slick whose edge runs mostly along land (a
calm strip in a bay, a mis-registered coastline) becomes ``LAND``; one whose edge runs mostly
along the scene's nodata border (the swath edge, a burst seam) becomes ``ARTEFACT``. The class the
model gave is kept in ``model_class`` and the reason in ``reclassified``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from skimage.morphology import skeletonize

from pipeline.grid import shelf_pack

LAND_EDGE_FRACTION = 0.3
"""A slick whose edge pixels touch land at least this often is reclassified ``LAND``."""
NODATA_EDGE_FRACTION = 0.3
"""A slick whose edge pixels touch nodata at least this often is reclassified ``ARTEFACT``."""

MAX_CELLS = 250_000
"""Largest raster (cells) a part is skeletonized on."""

OUTPUT_COLUMNS = (
    "scene_id",
    "slick_timestamp",
    "slick_class",
    "model_class",
    "reclassified",
    "machine_confidence",
    "area_m2",
    "perimeter_m",
    "polsby_popper",
    "fill_factor",
    "length_m",
    "centerline_length_m",
    "aspect_ratio_factor",
    "centroid_lon",
    "centroid_lat",
    "pixels",
    "parts",
    "class_probabilities",
    "centerline",
    "geometry",
)
"""Columns of :func:`pipeline.detect.detect_scene`'s GeoDataFrame, in order."""


def centerline(geom: shapely.Geometry, *, resolution: float) -> shapely.Geometry:
    """The longest skeleton path of each part of a polygon, in its CRS.

    The part is rasterized at ``resolution / 2`` (the working pixels, halved so that one-pixel
    wide slicks keep a skeleton; coarser for parts larger than :data:`MAX_CELLS` such cells),
    skeletonized, and the diameter of the skeleton graph (pixels
    joined to their 8 neighbours, weighted by distance) is traced.
    """
    return _centerline_batch([geom], resolution=resolution)[0]


def centerlines(
    geoms: list[shapely.Geometry], *, resolution: float, client: Any = None
) -> list[shapely.Geometry]:
    """:func:`centerline` of each geometry; on the client's workers, in one batch per thread.

    The slicks come sorted by size, so batch ``i`` takes every n-th one from the ``i``-th on:
    the big ones, which take longest, are spread over the batches.
    """
    threads = sum(client.nthreads().values()) if client is not None else 1
    if threads < 2 or len(geoms) < 2:
        return _centerline_batch(geoms, resolution=resolution)
    n = min(threads, len(geoms))
    batches = [geoms[i::n] for i in range(n)]
    futures = client.map(_centerline_batch, batches, resolution=resolution, pure=False)
    lines: list[shapely.Geometry] = [None] * len(geoms)
    for i, batch in enumerate(client.gather(futures)):
        lines[i::n] = batch
    return lines


def _centerline_batch(geoms: list[shapely.Geometry], *, resolution: float) -> list:
    """:func:`centerline` of each geometry.

    A slick has a few to a few hundred parts and each part's raster is small, so tracing them one
    by one is all call overhead (rasterize, skeletonize, a sparse graph and two Dijkstra runs
    per part: ~3 ms each). Parts at the working cell size are instead laid side by side on one
    canvas (:func:`pipeline.grid.shelf_pack`) and traced together by
    :func:`_packed_centerlines`; only parts larger than :data:`MAX_CELLS` cells, rasterized
    coarser, go one by one."""
    cell = resolution / 2.0
    parts = [list(getattr(g, "geoms", [g])) for g in geoms]
    flat = [part for p in parts for part in p]
    lines: list[shapely.LineString | None] = [None] * len(flat)
    small = []
    # one GDAL environment for the batch: each rasterize would otherwise set one up
    with rasterio.Env():
        for i, part in enumerate(flat):
            west, south, east, north = part.bounds
            coarse = math.sqrt((east - west) * (north - south) / MAX_CELLS)
            if coarse > cell:  # a big blob: a coarser raster of its own
                lines[i] = _part_centerline(part, cell=coarse)
            else:
                small.append(i)
        packed = _packed_centerlines([flat[i] for i in small], cell=cell)
        for i, line in zip(small, packed, strict=True):
            lines[i] = line
    out, k = [], 0
    for p in parts:
        mine = [line for line in lines[k : k + len(p)] if line is not None]
        k += len(p)
        if not mine:
            out.append(shapely.MultiLineString())
        else:
            out.append(mine[0] if len(mine) == 1 else shapely.MultiLineString(mine))
    return out


CANVAS_COLS = 4096
"""Width (cells) of the canvas the parts are laid out on (:func:`pipeline.grid.shelf_pack`)."""


def _windows(parts: list[shapely.Polygon], *, cell: float) -> list[tuple[Affine, int, int]]:
    """Each part's raster: transform, rows, columns (a one-cell empty frame all round)."""
    out = []
    for part in parts:
        west, south, east, north = part.bounds
        cols = max(int(np.ceil((east - west) / cell)) + 2, 3)
        rows = max(int(np.ceil((north - south) / cell)) + 2, 3)
        out.append((Affine(cell, 0, west - cell, 0, -cell, north + cell), rows, cols))
    return out


def _packed_centerlines(parts: list[shapely.Polygon], *, cell: float) -> list[shapely.LineString]:
    """:func:`_part_centerline` of many parts of one cell size, traced together on one canvas.

    The result equals tracing each part alone (same raster, skeleton, graph and path ends; where
    two paths through a skeleton are equally long, Dijkstra may pick the other one)."""
    if not parts:
        return []
    windows = _windows(parts, cell=cell)
    # the windows' frames keep two empty cells between parts, so 3x3 thinning and 8-neighbour
    # graphs see each part on the canvas as if it were alone
    offsets, shape = shelf_pack([(rows, cols) for _, rows, cols in windows], max_cols=CANVAS_COLS)
    # each part moved onto its window on the canvas (x = col * cell, y = -row * cell)
    shifted = [
        shapely.transform(part, lambda xy, t=t, o=o: xy + (o[1] * cell - t.c, -o[0] * cell - t.f))
        for part, (t, _, _), o in zip(parts, windows, offsets, strict=True)
    ]
    canvas = rasterio.features.rasterize(
        [(g, i + 1) for i, g in enumerate(shifted)],
        out_shape=shape,
        transform=Affine(cell, 0, 0, 0, -cell, 0),
        all_touched=False,
        dtype=np.int32,
    )
    skeleton = skeletonize(canvas > 0)
    flat = np.flatnonzero(skeleton)  # canvas raster order: each part's own raster order
    pixels = np.column_stack(np.divmod(flat, shape[1]))
    owner = canvas.ravel()[flat] - 1
    n = len(flat)
    src, dst, weight = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        # 8-neighbours among the skeleton pixels, found in their sorted positions (no
        # canvas-sized index array); parts are two cells apart, so none crosses to another part
        b = pixels + (dy, dx)
        ok = (b[:, 0] < shape[0]) & (b[:, 1] >= 0) & (b[:, 1] < shape[1])
        target = b[:, 0] * shape[1] + b[:, 1]
        at = np.minimum(np.searchsorted(flat, target), max(n - 1, 0))
        hit = ok & (flat[at] == target)
        src.append(np.flatnonzero(hit))
        dst.append(at[hit])
        weight.append(np.full(hit.sum(), np.hypot(dy, dx)))
    graph = coo_matrix(
        (np.concatenate(weight), (np.concatenate(src), np.concatenate(dst))), shape=(n, n)
    ).tocsr()
    counts = np.bincount(owner, minlength=len(parts))
    present = counts > 0
    # the first pixel of each part (in its raster order), as in one part's first sweep
    first = np.full(len(parts), -1, dtype=np.int64)
    seen, at_first = np.unique(owner, return_index=True)
    first[seen] = at_first
    lines: list[shapely.LineString] = []
    if n:
        # Diameter of each (near-)tree by two sweeps; a disconnected skeleton keeps the piece of
        # its first pixel. Parts are disjoint components, so one multi-source run serves them all.
        dist = dijkstra(graph, directed=False, indices=first[present], min_only=True)
        far = _farthest(dist, owner, len(parts))
        dist, predecessors, _ = dijkstra(
            graph,
            directed=False,
            indices=far[present],
            min_only=True,
            return_predecessors=True,
        )
        end = _farthest(dist, owner, len(parts))
    for i, part in enumerate(parts):
        transform, _, _ = windows[i]
        if counts[i] == 0:
            c = part.representative_point()
            lines.append(shapely.LineString([(c.x, c.y), (c.x, c.y)]))
            continue
        path = [int(end[i])]
        while path[-1] != far[i]:
            path.append(int(predecessors[path[-1]]))
        rc = pixels[path[::-1]] - offsets[i]
        xs, ys = transform @ (rc[:, 1] + 0.5, rc[:, 0] + 0.5)  # pixel centres
        if len(rc) == 1:
            lines.append(shapely.LineString([(xs[0], ys[0]), (xs[0], ys[0])]))
            continue
        line = shapely.LineString(np.column_stack([xs, ys]))
        lines.append(shapely.simplify(line, 2.0 * cell))
    return lines


def _farthest(dist: np.ndarray, owner: np.ndarray, n_parts: int) -> np.ndarray:
    """Per part, its pixel of largest finite distance (the first such in raster order)."""
    reach = np.where(np.isfinite(dist), dist, -1.0)
    order = np.lexsort((np.arange(len(dist)), -reach, owner))
    best = np.full(n_parts, -1, dtype=np.int64)
    firsts = np.r_[True, owner[order][1:] != owner[order][:-1]]
    best[owner[order][firsts]] = order[firsts]
    return best


def _part_centerline(part: shapely.Polygon, *, cell: float) -> shapely.LineString | None:
    west, south, east, north = part.bounds
    cols = max(int(np.ceil((east - west) / cell)) + 2, 3)
    rows = max(int(np.ceil((north - south) / cell)) + 2, 3)
    transform = Affine(cell, 0, west - cell, 0, -cell, north + cell)
    mask = rasterio.features.rasterize(
        [part], out_shape=(rows, cols), transform=transform, all_touched=False, dtype=np.uint8
    ).astype(bool)
    skeleton = skeletonize(mask) if mask.any() else mask
    pixels = np.argwhere(skeleton)
    if len(pixels) == 0:
        c = part.representative_point()
        return shapely.LineString([(c.x, c.y), (c.x, c.y)])
    if len(pixels) == 1:
        x, y = transform @ (pixels[0][1] + 0.5, pixels[0][0] + 0.5)
        return shapely.LineString([(x, y), (x, y)])
    index = -np.ones(skeleton.shape, dtype=np.int64)
    index[skeleton] = np.arange(len(pixels))
    src, dst, weight = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = pixels
        b = pixels + (dy, dx)
        ok = (b[:, 0] < rows) & (b[:, 1] >= 0) & (b[:, 1] < cols)
        a, b = a[ok], b[ok]
        hit = skeleton[b[:, 0], b[:, 1]]
        src.append(index[a[hit, 0], a[hit, 1]])
        dst.append(index[b[hit, 0], b[hit, 1]])
        weight.append(np.full(hit.sum(), np.hypot(dy, dx)))
    n = len(pixels)
    graph = coo_matrix(
        (np.concatenate(weight), (np.concatenate(src), np.concatenate(dst))), shape=(n, n)
    ).tocsr()
    # Diameter of the (near-)tree by two sweeps; a disconnected skeleton keeps its first piece.
    dist = dijkstra(graph, directed=False, indices=0)
    far = int(np.argmax(np.where(np.isfinite(dist), dist, -1)))
    dist, predecessors = dijkstra(graph, directed=False, indices=far, return_predecessors=True)
    end = int(np.argmax(np.where(np.isfinite(dist), dist, -1)))
    path = [end]
    while path[-1] != far:
        path.append(int(predecessors[path[-1]]))
    rc = pixels[path[::-1]]
    xs, ys = transform @ (rc[:, 1] + 0.5, rc[:, 0] + 0.5)  # pixel centres
    line = shapely.LineString(np.column_stack([xs, ys]))
    return shapely.simplify(line, 2.0 * cell)


def _rectangle_sides(geom: shapely.Geometry) -> tuple[float, float]:
    rect = shapely.oriented_envelope(geom)
    if not isinstance(rect, shapely.Polygon):
        return float(rect.length), 0.0
    x, y = np.asarray(rect.exterior.coords).T
    sides = np.hypot(np.diff(x), np.diff(y))[:2]
    return float(sides.max()), float(sides.min())


def describe(
    slicks: gpd.GeoDataFrame,
    *,
    classes: dict[int, str],
    resolution: float,
    scene_id: str,
    timestamp: datetime,
    client: Any = None,
) -> gpd.GeoDataFrame:
    """The slicks as the user sees them, geometry in EPSG:4326.

    Args:
        slicks: :func:`pipeline.stitch.group_slicks`'s frame (projected CRS, metres).
        classes: the model card's class map (channel -> short name, 0 = background).
        resolution: working pixel edge, metres.
        scene_id: the scene's id.
        timestamp: the scene's start time (UTC).
        client: a ``distributed`` client: the centerlines are traced on its workers.

    Returns:
        A GeoDataFrame with :data:`OUTPUT_COLUMNS`; ``centerline`` holds shapely lines in
        EPSG:4326 (not a geometry column).
    """
    crs = slicks.crs
    if slicks.empty:
        frame = gpd.GeoDataFrame(
            {c: pd.Series(dtype="object") for c in OUTPUT_COLUMNS if c != "geometry"},
            geometry=gpd.GeoSeries([], crs=4326),
            crs=4326,
        )
        return frame
    geoms = slicks.geometry
    px = slicks["px"].to_numpy().astype(np.float64)
    oil = [k for k in sorted(classes) if k != 0]
    oil_sums = np.column_stack([slicks[f"p{k}"].to_numpy() for k in oil]).astype(np.float64)
    model_class = [classes[oil[i]] for i in np.argmax(oil_sums, axis=1)]
    p_background = slicks["p0"].to_numpy() / (255.0 * px)
    confidence = np.clip(1.0 - p_background, 0.0, 1.0)
    probabilities = [
        {classes[k]: round(float(slicks[f"p{k}"].iloc[i]) / (255.0 * px[i]), 4) for k in classes}
        for i in range(len(slicks))
    ]
    edge = np.maximum(slicks["edge_px"].to_numpy().astype(np.float64), 1.0)
    land = slicks["land_edge_px"].to_numpy() / edge
    nodata = slicks["nodata_edge_px"].to_numpy() / edge
    final_class, reason = [], []
    for i, name in enumerate(model_class):
        if land[i] >= LAND_EDGE_FRACTION:
            final_class.append("LAND")
            reason.append(f"{land[i]:.0%} of its edge runs along land")
        elif nodata[i] >= NODATA_EDGE_FRACTION:
            final_class.append("ARTEFACT")
            reason.append(f"{nodata[i]:.0%} of its edge runs along the scene's nodata border")
        else:
            final_class.append(name)
            reason.append(None)

    area = geoms.area.to_numpy()
    perimeter = geoms.length.to_numpy()
    sides = [_rectangle_sides(g) for g in geoms]
    length = np.array([s[0] for s in sides])
    rect_area = np.array([s[0] * s[1] for s in sides])
    lines = centerlines(list(geoms), resolution=resolution, client=client)
    line_length = np.array([line.length for line in lines])
    to_wgs84 = gpd.GeoSeries(lines, crs=crs).to_crs(4326)
    centroids = gpd.GeoSeries(geoms.centroid, crs=crs).to_crs(4326)
    out = gpd.GeoDataFrame(
        {
            "scene_id": scene_id,
            "slick_timestamp": pd.Timestamp(timestamp),
            "slick_class": final_class,
            "model_class": model_class,
            "reclassified": reason,
            "machine_confidence": np.round(confidence, 4),
            "area_m2": area,
            "perimeter_m": perimeter,
            "polsby_popper": 4.0 * np.pi * area / np.maximum(perimeter, 1e-9) ** 2,
            "fill_factor": np.where(rect_area > 0, area / np.maximum(rect_area, 1e-9), 1.0),
            "length_m": length,
            "centerline_length_m": line_length,
            "aspect_ratio_factor": line_length**2 / np.maximum(area, 1e-9),
            "centroid_lon": centroids.x.to_numpy(),
            "centroid_lat": centroids.y.to_numpy(),
            "pixels": slicks["px"].to_numpy(),
            "parts": slicks["parts"].to_numpy(),
            "class_probabilities": probabilities,
            "centerline": list(to_wgs84),
        },
        geometry=gpd.GeoSeries(geoms, crs=crs).to_crs(4326).to_numpy(),
        crs=4326,
    )
    return out[list(OUTPUT_COLUMNS)]
