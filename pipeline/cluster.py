"""Which Dask cluster a run uses: a local cluster of processes, a running scheduler, or Kubernetes.

:func:`open_client` is the one entry point; the command line and :func:`pipeline.detect_scene`
go through it. Scripts that start a local cluster need the ``if __name__ == "__main__":`` guard
(worker processes are spawned and re-import the main module).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import ClusterError

logger = logging.getLogger(__name__)


def has_gpu_workers(client: object) -> bool:
    """Whether any worker of the client's cluster offers the ``GPU`` resource."""
    from pipeline.infer import GPU_RESOURCE

    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return any(w.get("resources", {}).get(GPU_RESOURCE) for w in workers.values())


WORKER_ENVIRON = {"MALLOC_MMAP_THRESHOLD_": str(32 * 1024**2), "MALLOC_ARENA_MAX": "1"}
"""Environment of the worker processes, beside Dask's own ``pre-spawn-environ``.

glibc serves an allocation above its mmap threshold, or one from a thread's arena larger than
that arena's 64 MB heaps, with a fresh ``mmap`` whose pages fault in (zeroed) on first touch and
go back to the system on ``free``; Dask's ``MALLOC_TRIM_THRESHOLD_`` also freezes the threshold at
128 kB. The network runs a block as a wavefront of row strips of ~4 MB (:mod:`model.strips`),
and tasks run in worker threads: at 32 MiB and with one arena (the main heap, which has no size
cap) the strips reuse the heap's memory instead of faulting in afresh, while larger arrays get
their own mappings and leave no holes in the heap when freed. Measured with
``benchmarks/scene.py --only memory`` on a 16384² scene: peak RSS per worker 1570 MB, 47.8 s when
blocks were haloed with overlap and the network held whole levels (16 MiB: 1426 MB, 59.8 s, page
faults on every map; 64 MiB: 1639 MB, 46.0 s); now 675-679 MB, 49-52 s (16 MiB: 649-659 MB,
55-58 s, the blocks' 18 MB arrays faulting in afresh). After each block the inference task hands
the heap's free pages back (``pipeline.infer._release_free_memory``). Operators starting
``dask worker`` themselves set these in the workers' environment (README)."""


def local_cluster(
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | None = "auto",
    silence_logs: int = logging.WARNING,
) -> object:
    """A ``LocalCluster`` of worker processes (default: one per core, one thread each), with
    :data:`WORKER_ENVIRON`."""
    import dask
    from distributed import LocalCluster

    workers = n_workers or max(1, min(os.cpu_count() or 1, 8))
    environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRON.items()}
    with dask.config.set(environ):  # the nannies read it as the cluster starts
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=":0",  # a free port: the dashboard's link is printed, never a clash
            memory_limit=memory_limit,
            silence_logs=silence_logs,
        )


@contextlib.contextmanager
def open_client(
    *,
    scheduler: str | None = None,
    kubernetes: str | Path | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
) -> Iterator[object]:
    """A ``distributed.Client`` for a run, closed (and its cluster stopped) afterwards.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``).
        kubernetes: a cluster spec (YAML, see :mod:`pipeline.kubernetes`) to start a
            dask-kubernetes ``KubeCluster`` from.
        n_workers: workers of a local cluster (default: one per core, at most 8).
        threads_per_worker: threads of each local worker.

    Raises:
        ClusterError: both ``scheduler`` and ``kubernetes`` given, the scheduler cannot be
            reached, or the Kubernetes cluster cannot be created.
    """
    from distributed import Client

    if scheduler and kubernetes:
        raise ClusterError("Give either a scheduler address or a Kubernetes spec, not both.")
    if scheduler:
        try:
            # waits dask's distributed.comm.timeouts.connect (30 s; DASK_DISTRIBUTED__COMM__...)
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"Cannot reach the Dask scheduler at {scheduler}: {exc}. Start one with "
                "'dask scheduler' (and workers with 'dask worker ADDRESS'), or leave out "
                "--scheduler to run on a local cluster."
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    if kubernetes:
        from pipeline.kubernetes import kube_cluster

        cluster = kube_cluster(kubernetes)
        try:
            with Client(cluster, set_as_default=False) as client:
                yield client
        finally:
            cluster.close()
        return
    cluster = local_cluster(n_workers=n_workers, threads_per_worker=threads_per_worker)
    try:
        with Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        cluster.close()


def current_client() -> object | None:
    """The ``distributed`` client of this context (``get_client()``), if there is one."""
    try:
        from distributed import get_client

        return get_client()
    except ValueError:
        return None
