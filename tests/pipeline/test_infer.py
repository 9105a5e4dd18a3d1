"""Inference tasks ask for a GPU in the graph the scheduler receives, after optimization."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dask.base import collections_to_expr

from catalog.scene import resolve_scene
from pipeline.detect import Options, plan_scene
from pipeline.infer import GPU_RESOURCE, no_fusion


def _annotations(results: list) -> tuple[dict, set]:
    """Annotations and keys of the optimized graph, as ``client.compute`` builds it."""
    expr = collections_to_expr(results, optimize_graph=True).optimize()
    return expr.__dask_annotations__(), set(expr.__dask_graph__())


def _name(key: object) -> str:
    return str(key[0] if isinstance(key, tuple) else key)


@pytest.fixture(scope="module")
def scene(simulate_scene):
    return resolve_scene(simulate_scene(61, shape=(300, 300), geometry="utm"))


def test_gpu_annotation_survives_optimization(scene, shipped_model: Path) -> None:
    plan = plan_scene(scene, model=shipped_model, options=Options(chunks=128), gpu=True)
    with no_fusion():
        annotations, keys = _annotations(plan.results)
    infer_keys = {k for k in keys if _name(k).startswith("infer-")}
    assert len(infer_keys) == len(plan.results) == 4  # one inference task per block
    resources = annotations.get("resources", {})
    assert all(resources.get(k) == {GPU_RESOURCE: 1} for k in infer_keys)
    # loading, preparing and vectorizing stay free to run on any worker
    others = {_name(k).split("-")[0] for k in keys if k in resources and k not in infer_keys}
    assert others <= {"overlap"}, others  # only the halo exchange feeding the GPU tasks
    for key in keys:
        if _name(key).startswith(("vectorize_block", "prepare", "load")):
            assert key not in resources, key


def test_no_annotation_without_gpu_workers(scene, shipped_model: Path) -> None:
    plan = plan_scene(scene, model=shipped_model, options=Options(chunks=128), gpu=False)
    with no_fusion():
        annotations, _ = _annotations(plan.results)
    assert "resources" not in annotations


def test_overlap_face_does_not_depend_on_the_chunks(scene, shipped_model: Path) -> None:
    """An analyst's lazy array through ``infer_overlap`` (dask.array.map_overlap with the card's
    halo): the same codes on one block and on 3 x 3 blocks, and the same as the scene
    pipeline's own window inference of the whole scene, up to rounding: the network sums in
    another order on tiles of other shapes, so a probability within ~1e-7 of a code's rounding
    boundary may land on its other side (1 of 360,000 codes with the shipped weights)."""

    from model.card import ModelCard
    from pipeline.errors import GridError
    from pipeline.grid import scene_grid
    from pipeline.infer import InferSpec, block_halo, infer_overlap, infer_window
    from pipeline.load import load_scene
    from pipeline.prepare import layer_polarizations, prepare

    card = ModelCard.load(shipped_model)
    grid = scene_grid(scene, resolution=80)
    raw = load_scene(scene, grid=grid, polarizations=layer_polarizations(card.layers), chunks=4096)
    layers, context = prepare(raw, scene=scene, card=card, grid=grid)
    spec = InferSpec(model=str(shipped_model), halo=block_halo(card), n_classes=len(card.classes))
    rows, cols = grid.shape
    assert min(rows, cols) >= 3 * spec.halo
    whole = infer_overlap(layers, spec=spec).compute(scheduler="sync")
    with pytest.raises(GridError, match=r"multiple of 8 px"):
        infer_overlap(layers.rechunk({1: 100, 2: 100}), spec=spec)  # off the pooling grid
    blocks = layers.rechunk({1: 104, 2: 104})
    assert blocks.numblocks == (1, 3, 3)
    split = infer_overlap(blocks, spec=spec)
    assert any(str(k[0]).startswith("overlap") for k in split.__dask_graph__())
    split = split.compute(scheduler="sync")
    assert whole.shape == (4, rows, cols) and whole.dtype == np.uint8
    _assert_same_codes(split, whole)
    alone, _ = infer_window(
        layers.compute(), context.compute(), spec=spec, halo=(0, 0, 0, 0), ring=0
    )
    _assert_same_codes(alone, whole)
    assert (255 - whole[0]).max() > 200  # the scene's slicks are there


def _assert_same_codes(a: np.ndarray, b: np.ndarray) -> None:
    """Probability codes equal but for rounding: none apart by more than one code (1/255), and
    at most one in 10,000 apart at all."""
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    apart = np.abs(a.astype(np.int16) - b.astype(np.int16))
    assert apart.max() <= 1
    assert np.count_nonzero(apart) <= a.size // 10_000
