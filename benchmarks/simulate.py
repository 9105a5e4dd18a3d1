"""How fast and how lean the simulator is: training chips in memory, and a full scene on disk.

    .venv/bin/python benchmarks/simulate.py                 # chips + full 16,700 x 25,000 scene
    .venv/bin/python benchmarks/simulate.py --skip-full     # chips only (seconds)
    .venv/bin/python benchmarks/simulate.py --size 4000x6000 --pixel-size 40

Times are printed as wall clock and as CPU time of the process (user + system): on a shared
machine the wall clock grows with the load of others, the CPU time much less. The full scene is
written by a child process (with ``--workers`` rendering processes under it); its peak memory is
the sum of the resident-set peaks (``getrusage(...).ru_maxrss``) of the writer, which also runs
the COG conversion, and of each worker, counted at the largest worker's peak: an upper bound that
counts numpy and GDAL allocations that ``tracemalloc`` does not see.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _chips(n: int, size: int, pixel_size: float) -> tuple[list[float], list[float]]:
    from catalog.simulate import SimulationConfig, simulate

    simulate(SimulationConfig(seed=10_000, shape=(size, size)))  # warm imports and caches
    wall, cpu = [], []
    for seed in range(n):
        t, c = time.perf_counter(), time.process_time()
        simulate(SimulationConfig(seed=seed, shape=(size, size), pixel_size=pixel_size))
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def _write_full(rows: int, cols: int, pixel_size: float, workers: int, out: str) -> None:
    from catalog.simulate import SimulationConfig, write_scene

    config = SimulationConfig(seed=1, shape=(rows, cols), pixel_size=pixel_size, geometry="grd")
    write_scene(config, out, workers=workers)
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    # peak of this process (it also runs the COG conversion) and of its largest rendering worker
    Path(out, "rusage.json").write_text(
        json.dumps(
            {
                "self_kib": own.ru_maxrss,
                "worker_kib": kids.ru_maxrss,
                "cpu_s": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
            }
        )
    )


def _ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms "
        f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chips", type=int, default=20, help="chips to time (512 x 512 at 80 m)")
    parser.add_argument("--size", default="16700x25000", help="full scene ROWSxCOLS")
    parser.add_argument("--pixel-size", type=float, default=10.0, help="full scene pixel size (m)")
    parser.add_argument("--skip-full", action="store_true", help="time chips only")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="rendering processes (full scene)"
    )
    args = parser.parse_args()

    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    wall, cpu = _chips(args.chips, 512, 80.0)
    print(f"chip 512x512 @ 80 m, in memory, {len(wall)} seeds: wall {_ms(wall)}; CPU {_ms(cpu)}")
    if args.skip_full:
        return
    rows, cols = (int(v) for v in args.size.lower().split("x"))
    out = tempfile.mkdtemp(prefix="slickwatch-bench-")
    try:
        ctx = multiprocessing.get_context("spawn")
        t = time.perf_counter()
        child = ctx.Process(
            target=_write_full, args=(rows, cols, args.pixel_size, args.workers, out)
        )
        child.start()
        child.join()
        elapsed = time.perf_counter() - t
        if child.exitcode != 0:
            raise SystemExit(f"the simulation failed (exit code {child.exitcode})")
        usage = json.loads(Path(out, "rusage.json").read_text())
        cpu_s = usage["cpu_s"]
        # an upper bound of the peak of all processes together: the writer's own peak plus every
        # worker at the largest worker's peak (ru_maxrss of children is a maximum, not a sum)
        workers = args.workers if args.workers > 1 else 0
        peak_kib = usage["self_kib"] + workers * usage["worker_kib"]
        size = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
        mpx = rows * cols / 1e6
        print(
            f"full scene {rows}x{cols} @ {args.pixel_size:g} m ({mpx:.0f} Mpx, grd DN + labels, "
            f"COGs): wall {elapsed:.0f} s ({mpx / elapsed:.2f} Mpx/s), CPU {cpu_s:.0f} s "
            f"({mpx / cpu_s:.2f} Mpx/CPU-s), {args.workers} rendering process(es), peak RSS "
            f"{peak_kib / 1024**2:.2f} GiB (writer {usage['self_kib'] / 1024**2:.2f} + "
            f"{workers} x worker {usage['worker_kib'] / 1024**2:.2f}; limit 2 GiB), "
            f"{size / 1024**2:.0f} MiB on disk; load average now "
            f"{os.getloadavg()[0]:.1f}"
        )
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
