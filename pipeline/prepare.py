"""Prepare: calibrate to sigma0, make the model card's normalized layers, mask land and nodata.

One task per block does it all (calibration is per pixel, the land mask is read per block window),
and returns the layers with a last plane that says what each pixel is: :data:`OCEAN`,
:data:`LAND` or :data:`NODATA`. Land and nodata become NaN in the layers, which the predictor
treats as background without running the network on tiles that hold nothing else.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from catalog.land import land_mask
from catalog.scene import Scene
from pipeline.grid import Grid

OCEAN = 0
"""Context code: a valid pixel at sea."""
LAND = 1
"""Context code: land, or sea within the coastal buffer."""
NODATA = 2
"""Context code: no data (outside the swath, or an invalid value)."""

LAND_BUFFER_M = 1000.0
"""Default coastal buffer (metres) masked with the land: the 1 km land mask can put a coastline
up to ~0.5 km off, and the backscatter of the first few hundred metres of sea is unreliable."""


def layer_polarizations(layers: list[str]) -> tuple[str, ...]:
    """Polarizations the card's layers are made of, VV first (``VV_DB`` -> ``VV``)."""
    pols = {name.split("_")[0].upper() for name in layers}
    return tuple(sorted(pols, key=lambda p: (p != "VV", p)))


def prepare_block(
    raw: np.ndarray,
    *,
    origin: tuple[int, int],
    scene: Scene,
    polarizations: tuple[str, ...],
    card: Any,
    grid: Grid,
    land_buffer_m: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One window's layers, float32 ``[len(card.layers), h, w]`` (NaN on land and nodata), and
    its context codes, uint8 ``[h, w]``.

    Args:
        raw: ``(band, h, w)`` the window of :func:`pipeline.load.load_scene`'s array.
        origin: ``(row, col)`` of the window's first pixel in ``grid``.
    """
    from model.layers import prepare_layers

    r0, c0 = origin
    sigma0 = {pol: scene.asset(pol).sigma0(raw[i]) for i, pol in enumerate(polarizations)}
    with np.errstate(invalid="ignore", divide="ignore"):
        layers = np.asarray(prepare_layers(sigma0.get("VV"), sigma0.get("VH"), card), np.float32)
    del sigma0
    valid = np.isfinite(layers).all(axis=0)
    context = np.full(raw.shape[1:], NODATA, dtype=np.uint8)
    np.copyto(context, OCEAN, where=valid)  # copyto(where=): no index arrays, unlike a[mask] = v
    if valid.any():
        land = land_mask(
            grid.epsg,
            grid.window_transform(r0, c0),
            raw.shape[1:],
            buffer_m=land_buffer_m,
        )
        np.copyto(context, LAND, where=land & valid)
        np.copyto(layers, np.nan, where=land)
    return layers, context


def _prepare_block(raw: np.ndarray, *, block_info: dict | None = None, **kwargs: Any) -> np.ndarray:
    """:func:`prepare_block` as one array for ``map_blocks``: the layers, then the context."""
    (_, _), (r0, _), (c0, _) = block_info[0]["array-location"]
    layers, context = prepare_block(raw, origin=(r0, c0), **kwargs)
    return np.concatenate([layers, context[None].astype(np.float32)])


def prepare(
    raw: xr.DataArray,
    *,
    scene: Scene,
    card: Any,
    grid: Grid,
    land_buffer_m: float = LAND_BUFFER_M,
) -> tuple[da.Array, da.Array]:
    """The model's input layers and the pixel context, lazily, chunked like ``raw``.

    Args:
        raw: :func:`pipeline.load.load_scene`'s array; its ``band`` coordinate names the
            polarizations.
        scene: the scene (its assets calibrate DN to sigma0).
        card: the model card (layers and normalization).
        grid: the working grid of ``raw``.
        land_buffer_m: grow land by this many metres before masking it.

    Returns:
        ``(layers, context)``: float32 ``[len(card.layers), y, x]`` normalized layers, NaN on
        land and nodata; uint8 ``[y, x]`` context codes (:data:`OCEAN`, :data:`LAND`,
        :data:`NODATA`).
    """
    polarizations = tuple(str(b) for b in raw.coords["band"].values)
    n_layers = len(card.layers)
    stacked = da.map_blocks(
        _prepare_block,
        raw.data,
        scene=scene,
        polarizations=polarizations,
        card=card,
        grid=grid,
        land_buffer_m=float(land_buffer_m),
        chunks=((n_layers + 1,), *raw.data.chunks[1:]),
        dtype=np.float32,
        name="prepare-"
        + da.core.tokenize(raw.data.name, scene, card.model_dump(), grid, land_buffer_m),
        meta=np.empty((0, 0, 0), dtype=np.float32),
    )
    # copies, not views: a slice of a block keeps the whole block's buffer alive, and the layers
    # wait for their neighbours' halos (context for its block's vectorize step) while the float32
    # context plane would ride along unseen by the worker's memory accounting
    layers = stacked[:n_layers].map_blocks(np.array, copy=True, dtype=np.float32)
    context = stacked[n_layers].astype(np.uint8)
    return layers, context
