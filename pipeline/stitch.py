"""Stitch: block parts become whole slicks.

1. Seams: the edge labels of neighbouring blocks say which parts touch across a seam (two slick
   pixels face to face, 4-connectivity); connected components of that graph are the parts of one
   connected region, and they are dissolved, summing their statistics: with dask-geopandas on the
   cluster when they are many, with geopandas in the client when they are few (the distributed
   dissolve's fixed cost is ~0.5 s). The polygons share their seam vertices exactly (the grid is
   snapped), so the union is exact.
2. Hysteresis: a region without one seed pixel is dropped.
3. Grouping: regions closer than ``group_distance_m`` become one slick (a MultiPolygon), the way a
   vessel slick broken by a few calm pixels is still one slick; statistics add up again.
4. Slicks smaller than the card's ``min_area_px`` are dropped.

Everything is order-independent: integer sums, graph components, and a final sort.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import dask
import dask.dataframe as dd
import dask_geopandas  # noqa: F401 - registers the GeoDataFrame backend of dask.dataframe
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.vectorize import STAT_COLUMNS

logger = logging.getLogger(__name__)

GROUP_DISTANCE_M = 400.0
"""Default distance (metres) under which separate regions are grouped into one slick."""

_LABEL_BITS = 32

DISTRIBUTED_FROM = 20_000
"""Parts linked across seams from which :func:`merge_seams` dissolves them on the cluster."""


def part_key(
    row: int | np.ndarray, col: int | np.ndarray, label: int | np.ndarray, *, n_cols: int
) -> np.ndarray:
    """A unique int64 id of a block part."""
    block = np.asarray(row, dtype=np.int64) * n_cols + np.asarray(col, dtype=np.int64)
    return (block << _LABEL_BITS) + np.asarray(label, dtype=np.int64)


def seam_links(
    edges: dict[tuple[int, int], dict[str, np.ndarray]], *, n_cols: int
) -> dict[int, int]:
    """Which parts touch across seams: part key -> key of its connected region.

    Args:
        edges: per block ``(row, col)``, the labels along its ``top``/``bottom``/``left``/
            ``right`` edges (0 = no slick pixel).
        n_cols: blocks along x.

    Returns:
        A mapping for every part that touches a neighbour; parts not in it stand alone.
    """
    a_keys: list[np.ndarray] = []
    b_keys: list[np.ndarray] = []
    for (row, col), mine in edges.items():
        for side, other_block, other_side in (
            ("bottom", (row + 1, col), "top"),
            ("right", (row, col + 1), "left"),
        ):
            theirs = edges.get(other_block)
            if theirs is None:
                continue
            a, b = mine[side], theirs[other_side]
            both = (a > 0) & (b > 0)
            if not both.any():
                continue
            pairs = np.unique(np.stack([a[both], b[both]], axis=1), axis=0)
            a_keys.append(part_key(row, col, pairs[:, 0], n_cols=n_cols))
            b_keys.append(part_key(*other_block, pairs[:, 1], n_cols=n_cols))
    if not a_keys:
        return {}
    a_all, b_all = np.concatenate(a_keys), np.concatenate(b_keys)
    nodes, inverse = np.unique(np.concatenate([a_all, b_all]), return_inverse=True)
    n = len(nodes)
    graph = coo_matrix(
        (np.ones(len(a_all), dtype=np.int8), (inverse[: len(a_all)], inverse[len(a_all) :])),
        shape=(n, n),
    )
    _, component = connected_components(graph, directed=False)
    representative = pd.Series(nodes).groupby(component).transform("min").to_numpy()
    return dict(zip(nodes.tolist(), representative.tolist(), strict=True))


def _assign_regions(
    parts: gpd.GeoDataFrame, *, links: dict[int, int], n_cols: int
) -> gpd.GeoDataFrame:
    keys = part_key(
        parts["block_row"].to_numpy(),
        parts["block_col"].to_numpy(),
        parts["label"].to_numpy(),
        n_cols=n_cols,
    )
    region = (
        pd.Series(keys, index=parts.index).map(links).fillna(pd.Series(keys, index=parts.index))
    )
    out = parts.drop(columns=["block_row", "block_col", "label"])
    out.insert(0, "region", region.astype("int64"))
    return out


def _regions_alone(regions: gpd.GeoDataFrame, *, linked: set[int]) -> gpd.GeoDataFrame:
    """The regions of one part each (not in ``linked``), indexed by region like a dissolve's."""
    alone = regions[~regions["region"].isin(linked)].set_index("region")
    return alone[["geometry", *(c for c in alone.columns if c != "geometry")]]


def _aggregations(columns: Sequence[str]) -> dict[str, str]:
    return {c: ("max" if c == "p_oil_max" else "sum") for c in columns}


def merge_seams(
    parts: Sequence[object],
    *,
    edges: dict[tuple[int, int], dict[str, np.ndarray]],
    n_cols: int,
    meta: gpd.GeoDataFrame,
    client: object | None = None,
    partitions: int | None = None,
    distributed_from: int = DISTRIBUTED_FROM,
) -> gpd.GeoDataFrame:
    """Connected regions from block parts: dissolved with dask-geopandas on the cluster when at
    least ``distributed_from`` parts meet across seams, with geopandas here when fewer do.

    Args:
        parts: one delayed (or concrete) parts GeoDataFrame per block.
        edges: edge labels per block (see :func:`seam_links`).
        n_cols: blocks along x.
        meta: an empty parts frame (columns and types).
        client: a ``distributed.Client`` to compute on (default: dask's current scheduler).
        partitions: merge the blocks' parts into at most this many partitions first (default:
            one per block).
        distributed_from: parts linked across seams from which the dissolve runs on the cluster.

    Returns:
        One row per connected region, its statistics summed, index ``region``.
    """
    links = seam_links(edges, n_cols=n_cols)
    linked = set(links.values())  # the regions of more than one part
    if len(links) < distributed_from:
        # A few hundred linked parts dissolve here in milliseconds, where the cluster's dissolve
        # costs ~0.5 s of graph, shuffle and round trips; the parts come to this process for the
        # next step anyway. Without links every part is a region as it is.
        assigned = _assign_regions(
            pd.concat([meta, *_gather(parts, client=client)]), links=links, n_cols=n_cols
        )
        merged = _regions_alone(assigned, linked=linked)
        if linked:
            stats = [c for c in assigned.columns if c not in ("region", "geometry")]
            joined = assigned[assigned["region"].isin(linked)]
            merged = pd.concat([merged, joined.dissolve(by="region", aggfunc=_aggregations(stats))])
        return gpd.GeoDataFrame(merged, geometry="geometry", crs=meta.crs).sort_index()
    frame = dd.from_delayed(list(parts), meta=meta, verify_meta=False)
    if partitions is not None and frame.npartitions > partitions:
        # a few hundred polygons per block: fewer, larger partitions mean fewer tasks (each costs
        # a scheduler round trip) in the steps below
        frame = frame.repartition(npartitions=max(1, partitions))
    regions_meta = _assign_regions(meta, links={}, n_cols=n_cols)
    assigned = frame.map_partitions(_assign_regions, links=links, n_cols=n_cols, meta=regions_meta)
    # A part that touches no other across a seam is a region as it is: only the linked parts go
    # through the dissolve.
    alone = assigned.map_partitions(
        _regions_alone, linked=linked, meta=_regions_alone(regions_meta, linked=set())
    )
    if linked:
        stats = [c for c in regions_meta.columns if c not in ("region", "geometry")]
        joined = assigned[assigned["region"].isin(linked)]
        merged = dd.concat([alone, joined.dissolve(by="region", aggfunc=_aggregations(stats))])
    else:
        merged = alone
    result = client.compute(merged).result() if client is not None else dask.compute(merged)[0]
    result = gpd.GeoDataFrame(result, geometry="geometry", crs=meta.crs)
    return result.sort_index()


def _gather(parts: Sequence[object], *, client: object | None) -> list[gpd.GeoDataFrame]:
    """The blocks' parts frames, from futures (on ``client``), delayed objects or frames."""
    if client is not None and all(hasattr(p, "key") and hasattr(p, "result") for p in parts):
        return client.gather(list(parts))
    if client is not None:
        return client.compute(list(parts), sync=True)
    return list(dask.compute(*parts))


def group_slicks(
    regions: gpd.GeoDataFrame, *, distance_m: float, min_area_px: int
) -> gpd.GeoDataFrame:
    """Slicks from regions: seedless regions dropped, near ones grouped, small slicks dropped.

    Args:
        regions: :func:`merge_seams`'s result (projected CRS in metres).
        distance_m: regions closer than this are one slick.
        min_area_px: slicks with fewer pixels are dropped.

    Returns:
        One row per slick (geometry a MultiPolygon), statistics summed, ``parts`` the number of
        regions, sorted by size then position; index 0..n-1.
    """
    kept = regions[regions["seed_px"] > 0].reset_index(drop=True)
    stats = [c for c in kept.columns if c != "geometry"]
    if kept.empty:
        out = kept.assign(parts=pd.Series(dtype="int64"))
        out["geometry"] = gpd.GeoSeries([], crs=regions.crs)
        return out.reset_index(drop=True)
    # geopandas' sjoin and dissolve do the same on top of these calls, with ~10 ms of fixed cost
    # each per scene: a noticeable share of a small scene's end-to-end time
    geometries = kept.geometry.to_numpy()
    left, right = shapely.STRtree(geometries).query(
        geometries, predicate="dwithin", distance=distance_m
    )
    n = len(kept)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    n_groups, group = connected_components(graph, directed=False)
    order = np.argsort(group, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(group[order])) + 1)
    columns: dict[str, np.ndarray] = {}
    for column, how in _aggregations(stats).items():
        values = kept[column].to_numpy()
        if how == "max":
            total = np.full(n_groups, values.min(), dtype=values.dtype)
            np.maximum.at(total, group, values)
        else:
            total = np.zeros(n_groups, dtype=values.dtype)
            np.add.at(total, group, values)
        columns[column] = total
    columns["parts"] = np.bincount(group, minlength=n_groups).astype(np.int64)
    merged = [_as_multipolygon(shapely.union_all(geometries[m])) for m in members]
    slicks = gpd.GeoDataFrame(
        {"geometry": shapely.force_2d(np.array(merged, dtype=object)), **columns},
        geometry="geometry",
        crs=regions.crs,
    )
    slicks = slicks[slicks["px"] >= min_area_px]
    centroid = shapely.centroid(slicks.geometry.to_numpy())
    slicks = slicks.assign(_x=shapely.get_x(centroid).round(3), _y=shapely.get_y(centroid).round(3))
    slicks = slicks.sort_values(["px", "_x", "_y"], ascending=[False, True, True])
    return slicks.drop(columns=["_x", "_y"]).reset_index(drop=True)


def _as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    if isinstance(geom, shapely.MultiPolygon):
        return shapely.MultiPolygon(sorted(geom.geoms, key=lambda p: p.bounds))
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, shapely.Polygon)]
    return shapely.MultiPolygon(polys)


__all__ = ["GROUP_DISTANCE_M", "STAT_COLUMNS", "group_slicks", "merge_seams", "seam_links"]
