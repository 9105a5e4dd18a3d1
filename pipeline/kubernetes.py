"""A Dask cluster on Kubernetes for the pipeline: the spec file and the ``KubeCluster`` it starts.

The spec is a multi-document YAML file of the dask-kubernetes operator's resources:

1. a ``DaskCluster`` (scheduler + a CPU worker group: loading, preparing, vectorizing);
2. a ``DaskWorkerGroup`` of GPU workers: each pod asks for ``nvidia.com/gpu: 1`` and its worker
   offers the Dask resource ``GPU=1``, which the inference tasks require.

:func:`make_spec` writes it (``slickwatch cluster spec``), :func:`check_spec` validates it against
the operator's own CRD schemas (shipped with dask-kubernetes) and the Kubernetes client's
``PodSpec`` model, and :func:`kube_cluster` starts it (``slickwatch detect --kubernetes SPEC``).
The operator must be installed in the Kubernetes cluster (see the README).
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import ClusterError

DEFAULT_IMAGE = "ghcr.io/slickwatch/slickwatch:latest"
"""Image of the scheduler and workers: the project installed (see ``deploy/Dockerfile``)."""
DEFAULT_SPEC = Path(__file__).resolve().parents[1] / "deploy" / "dask-cluster.yaml"
"""The spec kept in the repository (``make_spec()`` with its defaults)."""
GPU_GROUP = "gpu"
"""Name of the GPU worker group (the pods are ``<cluster>-gpu-...``)."""
_API = "kubernetes.dask.org/v1"


def make_spec(
    *,
    name: str = "slickwatch",
    image: str = DEFAULT_IMAGE,
    cpu_workers: int = 2,
    gpu_workers: int = 1,
    cpu_memory: str = "6Gi",
    gpu_memory: str = "16Gi",
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The operator resources of a slickwatch cluster.

    Args:
        name: the ``DaskCluster`` name (a DNS label).
        image: container image with slickwatch installed (CUDA-enabled torch for GPU workers).
        cpu_workers: replicas of the default (CPU) worker group, one thread each.
        gpu_workers: replicas of the GPU worker group (0: none).
        cpu_memory: memory request and limit of a CPU worker pod.
        gpu_memory: memory request and limit of a GPU worker pod.
        env: extra environment of every pod.
    """
    from dask_kubernetes.operator import make_cluster_spec, make_worker_spec

    from pipeline.cluster import WORKER_ENVIRON

    environment = {"OMP_NUM_THREADS": "1", **WORKER_ENVIRON, **(env or {})}
    cpu = {
        "requests": {"cpu": "1", "memory": cpu_memory},
        "limits": {"cpu": "1", "memory": cpu_memory},
    }
    cluster = make_cluster_spec(
        name=name,
        image=image,
        n_workers=cpu_workers,
        resources=cpu,
        env=environment,
        worker_command="dask worker --nthreads 1 --memory-limit auto",
    )
    docs = [cluster]
    if gpu_workers > 0:
        gpu = {
            "requests": {"cpu": "2", "memory": gpu_memory},
            "limits": {"cpu": "2", "memory": gpu_memory, "nvidia.com/gpu": "1"},
        }
        worker = make_worker_spec(
            image=image,
            n_workers=gpu_workers,
            resources=gpu,
            env=environment,
            worker_command="dask worker --nthreads 1 --memory-limit auto --resources GPU=1",
        )
        worker["spec"]["tolerations"] = [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
        docs.append(
            {
                "apiVersion": _API,
                "kind": "DaskWorkerGroup",
                "metadata": {"name": f"{name}-{GPU_GROUP}"},
                "spec": {"cluster": name, "worker": worker},
            }
        )
    return docs


def write_spec(path: str | Path, docs: list[dict[str, Any]]) -> Path:
    """Write the resources as multi-document YAML (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# slickwatch Dask cluster for the dask-kubernetes operator.\n"
        "# Made by 'slickwatch cluster spec'; used by 'slickwatch detect --kubernetes FILE'.\n"
    )
    plain = json.loads(json.dumps(docs))  # no shared objects, so no YAML anchors
    text = header + yaml.safe_dump_all(plain, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_spec(path: str | Path) -> list[dict[str, Any]]:
    """Read a spec file and validate it (:func:`check_spec`).

    Raises:
        ClusterError: the file is missing, not YAML, or not a valid spec.
    """
    path = Path(path)
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except OSError as exc:
        raise ClusterError(f"Cannot read the Kubernetes spec {path}: {exc}.") from None
    except yaml.YAMLError as exc:
        raise ClusterError(f"{path} is not valid YAML: {exc}") from None
    check_spec(docs, source=str(path))
    return docs


def _crd_schema(kind: str) -> dict[str, Any]:
    """The operator's openAPIV3Schema of a resource kind, its references resolved."""
    folder = resources.files("dask_kubernetes.operator.customresources")
    templates = yaml.safe_load((folder / "templates.yaml").read_text())["definitions"]
    crd = yaml.safe_load((folder / f"{kind.lower()}.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[-1]
                if "templates.yaml" in ref:
                    return resolve(templates[name])
                # Kubernetes core types: checked by the Kubernetes client's models instead
                return {"type": "object", "x-kubernetes-type": name}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def _check_pod_spec(spec: Any, where: str) -> list[str]:
    from kubernetes.client import ApiClient

    try:
        ApiClient().deserialize(json.dumps(spec), "V1PodSpec", "application/json")
    except (ValueError, TypeError) as exc:
        return [f"{where}: not a valid Kubernetes PodSpec: {exc}"]
    problems = []
    for container in spec.get("containers", []):
        if not container.get("image"):
            problems.append(f"{where}: container {container.get('name')!r} has no image")
    return problems


def check_spec(docs: list[dict[str, Any]], *, source: str = "the spec") -> None:
    """Validate a slickwatch cluster spec.

    Checks every document against the dask-kubernetes CRD schema of its kind, every pod spec
    against the Kubernetes ``PodSpec`` model, and the slickwatch conventions: one
    ``DaskCluster``; worker groups that belong to it; GPU workers that ask Kubernetes for
    ``nvidia.com/gpu`` also offer the Dask resource ``GPU``, and the other way round.

    Raises:
        ClusterError: every problem found, one per line.
    """
    import jsonschema

    problems: list[str] = []
    clusters = [d for d in docs if isinstance(d, dict) and d.get("kind") == "DaskCluster"]
    if len(clusters) != 1:
        problems.append(f"expected one DaskCluster document, found {len(clusters)}")
    names = {c.get("metadata", {}).get("name") for c in clusters}
    for i, doc in enumerate(docs):
        where = f"document {i + 1}"
        if not isinstance(doc, dict) or doc.get("kind") not in ("DaskCluster", "DaskWorkerGroup"):
            kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            problems.append(f"{where}: kind {kind!r} is neither DaskCluster nor DaskWorkerGroup")
            continue
        kind = doc["kind"]
        where = f"{kind} {doc.get('metadata', {}).get('name')!r}"
        if doc.get("apiVersion") != _API:
            problems.append(f"{where}: apiVersion must be {_API}")
        validator = jsonschema.Draft7Validator(_crd_schema(kind))
        for error in validator.iter_errors(doc):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: {path or '(root)'}: {error.message}")
        if kind == "DaskCluster":
            pods = {
                "scheduler": doc.get("spec", {}).get("scheduler", {}).get("spec"),
                "worker": doc.get("spec", {}).get("worker", {}).get("spec"),
            }
        else:
            if doc.get("spec", {}).get("cluster") not in names:
                problems.append(
                    f"{where}: belongs to cluster {doc['spec'].get('cluster')!r}, "
                    f"not to {sorted(n for n in names if n)}"
                )
            pods = {"worker": doc.get("spec", {}).get("worker", {}).get("spec")}
        for role, pod in pods.items():
            if not isinstance(pod, dict):
                continue
            problems += _check_pod_spec(pod, f"{where} {role}")
            if role == "worker":
                problems += _check_gpu(pod, where)
    if problems:
        raise ClusterError(
            f"{source} is not a valid slickwatch cluster spec:\n- " + "\n- ".join(problems)
        )


def _check_gpu(pod: dict[str, Any], where: str) -> list[str]:
    problems = []
    for container in pod.get("containers", []):
        limits = (container.get("resources") or {}).get("limits") or {}
        args = [str(a) for a in container.get("args") or []]
        dask_gpu = any(a.startswith("GPU=") for a in args) or "--resources GPU=1" in " ".join(args)
        kube_gpu = "nvidia.com/gpu" in limits
        if kube_gpu and not dask_gpu:
            problems.append(
                f"{where}: asks for nvidia.com/gpu but its worker does not offer the "
                "Dask resource (add '--resources GPU=1' to its args)"
            )
        if dask_gpu and not kube_gpu:
            problems.append(
                f"{where}: offers the Dask resource GPU but asks Kubernetes for no "
                "GPU (add 'nvidia.com/gpu: 1' to its resource limits)"
            )
    return problems


def kube_cluster(path: str | Path) -> Any:
    """Start the ``KubeCluster`` of a spec file and its extra worker groups.

    Raises:
        ClusterError: invalid spec, or Kubernetes (or the operator) cannot be reached.
    """
    docs = load_spec(path)
    cluster_doc = next(d for d in docs if d["kind"] == "DaskCluster")
    groups = [d for d in docs if d["kind"] == "DaskWorkerGroup"]
    from dask_kubernetes.operator import KubeCluster

    try:
        cluster = KubeCluster(custom_cluster_spec=cluster_doc, shutdown_on_close=True)
    except Exception as exc:  # kr8s/kubernetes raise many types when no cluster is reachable
        raise ClusterError(
            f"Cannot start the Dask cluster of {path} on Kubernetes: {exc}. Check 'kubectl "
            "get nodes' works and the dask-kubernetes operator is installed (see the README)."
        ) from exc
    prefix = f"{cluster_doc['metadata']['name']}-"
    for group in groups:
        name = group["metadata"]["name"].removeprefix(prefix)
        worker = group["spec"]["worker"]
        cluster.add_worker_group(name=name, n_workers=worker.get("replicas", 1), custom_spec=worker)
    return cluster
