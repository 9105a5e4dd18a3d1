"""The dask-kubernetes spec: generated, validated against the operator's CRD schemas, kept in
``deploy/``. No Kubernetes runs here; what can be checked without one is."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.errors import ClusterError
from pipeline.kubernetes import DEFAULT_SPEC, GPU_GROUP, check_spec, load_spec, make_spec

ROOT = Path(__file__).resolve().parents[2]


def _worker_container(doc: dict) -> dict:
    return doc["spec"]["worker"]["spec"]["containers"][0]


def test_spec_has_a_gpu_worker_group() -> None:
    cluster, gpu = make_spec(name="sw", image="registry.example/slickwatch:1", gpu_workers=2)
    assert cluster["kind"] == "DaskCluster" and cluster["metadata"]["name"] == "sw"
    assert gpu["kind"] == "DaskWorkerGroup" and gpu["metadata"]["name"] == f"sw-{GPU_GROUP}"
    assert gpu["spec"]["cluster"] == "sw" and gpu["spec"]["worker"]["replicas"] == 2
    container = _worker_container(gpu)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    args = container["args"]
    assert args[args.index("--resources") + 1] == "GPU=1"
    assert container["image"] == "registry.example/slickwatch:1"
    cpu = _worker_container(cluster)
    assert "nvidia.com/gpu" not in cpu["resources"]["limits"] and "--resources" not in cpu["args"]
    assert cpu["args"][cpu["args"].index("--nthreads") + 1] == "1"
    check_spec([cluster, gpu])
    assert len(make_spec(gpu_workers=0)) == 1


def test_the_committed_spec_is_the_generated_one() -> None:
    docs = load_spec(DEFAULT_SPEC)
    assert docs == make_spec(), "deploy/dask-cluster.yaml is stale: 'slickwatch cluster spec'"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[0]["spec"]["worker"].update(replicas="two"), "'two' is not of type 'integer'"),
        (lambda d: d[0]["spec"].pop("scheduler"), "'scheduler' is a required property"),
        (lambda d: _worker_container(d[0]).pop("name"), "not a valid Kubernetes PodSpec"),
        (
            lambda d: _worker_container(d[1])["ports"][0].update(containerPort="http"),
            "not a valid Kubernetes PodSpec",
        ),
        (
            lambda d: _worker_container(d[1]).update(args=["dask", "worker"]),
            "asks for nvidia.com/gpu but its worker does not offer",
        ),
        (
            lambda d: _worker_container(d[1])["resources"]["limits"].pop("nvidia.com/gpu"),
            "offers the Dask resource GPU but asks Kubernetes for no GPU",
        ),
        (lambda d: d[1]["spec"].update(cluster="other"), "belongs to cluster 'other'"),
        (lambda d: d[1].update(apiVersion="v1"), "apiVersion must be kubernetes.dask.org/v1"),
        (lambda d: d.append({"kind": "Pod"}), "neither DaskCluster nor DaskWorkerGroup"),
    ],
)
def test_broken_specs_are_refused_with_the_reason(damage, message: str) -> None:
    docs = copy.deepcopy(make_spec())
    damage(docs)
    with pytest.raises(ClusterError, match="is not a valid slickwatch cluster spec") as err:
        check_spec(docs)
    assert message in str(err.value)


def test_cluster_commands_write_and_check(tmp_path: Path) -> None:
    out = tmp_path / "k8s" / "cluster.yaml"
    out.parent.mkdir()
    run = [str(Path(sys.executable).parent / "slickwatch")]
    made = subprocess.run(
        [*run, "cluster", "spec", "-o", str(out), "--gpu-workers", "3", "--image", "me/sw:2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    docs = list(yaml.safe_load_all(out.read_text()))
    assert docs[1]["spec"]["worker"]["replicas"] == 3
    checked = subprocess.run(
        [*run, "cluster", "check", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert checked.returncode == 0 and "valid (DaskCluster slickwatch" in checked.stdout
    docs[0]["spec"]["worker"]["replicas"] = -1.5
    out.write_text(yaml.safe_dump_all(docs))
    bad = subprocess.run(
        [*run, "cluster", "check", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert bad.returncode == 1 and "-1.5 is not of type 'integer'" in bad.stderr
