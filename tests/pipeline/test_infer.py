"""Inference tasks ask for a GPU in the graph the scheduler receives, after optimization."""

from __future__ import annotations

from pathlib import Path

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
