"""How the scene pipeline spends pixels, time and memory. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/scene.py                       # everything (long on a laptop)
    .venv/bin/python benchmarks/scene.py --only amplification  # seconds
    .venv/bin/python benchmarks/scene.py --only memory --sizes 1024,2048,4096,8192,16384

Four measurements, each side by side in one run:

1. **amplification**: pixels the network sees ÷ scene pixels, for the demo catalog's scenes, the
   real scene and a large simulated scene at the default chunk size (2048). Counted from the plan
   of blocks and halos, and checked against the count the workers keep (``input_pixels``) on the
   scenes run below. Cerulean runs three offset tile grids with a margin: about 3.8.
2. **overhead**: end-to-end time of ``detect_scene`` on one worker with one thread ÷ the time the
   model alone takes on the same scene pixels (chunk-sized tiles, no halo, one thread) in that
   worker, in interleaved rounds (medians and minima); the model alone in this process, with
   glibc's malloc defaults instead of the workers' (``pipeline.cluster.WORKER_ENVIRON``), is
   printed beside it.
3. **memory**: peak RSS per worker (two workers, one thread each, fresh cluster per size) for
   scenes from 1k² to 16k² working pixels: the big ones are VRT mosaics of one simulated tile, so
   every pixel is real sea backscatter with slicks, without writing gigabytes.
4. **scaling**: the same 4096² scene on one worker and on two (one thread each), on fresh
   clusters and then in alternating rounds on the same (warm) clusters (medians and minima); each
   round also runs the model alone in one worker and in two at once, the ceiling this host sets
   on the same ratio (two single-threaded processes slow each other on shared cores and memory).
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL = ROOT / ".." / "shared" / "data" / "real"
TILE = 2048
"""Edge of the simulated tile the big scenes are made of (working pixels)."""
CERULEAN_AMPLIFICATION = 3.8
"""Cerulean: three tile grids offset by half a tile, each tile with a margin (its README)."""


def _peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program, MB.

    Linux's ``VmHWM`` rather than ``getrusage``'s ``ru_maxrss``: a worker is forked from the
    process that starts the cluster and then runs a new program, and ``ru_maxrss`` keeps the
    high-water mark of the forked copy, so every worker would report at least this process's size
    (1.2 GB here once torch and the model are loaded) whatever the worker itself used."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def simulated_tile(folder: Path, *, size: int = TILE, seed: int = 7) -> Path:
    """A simulated north-up sigma0 scene of ``size``² working pixels at 80 m, open sea."""
    from catalog.simulate import SimulationConfig, write_scene

    config = SimulationConfig(
        seed=seed,
        shape=(size, size),
        pixel_size=80.0,
        geometry="utm",
        center=(-140.0, 20.0),
        wind_speed=6.5,
        slicks={"VESSEL": 3, "INFRA": 1, "NATURAL": 1},
        land=False,
    )
    return Path(write_scene(config, folder, overwrite=True).get_self_href())


def mosaic(tile_item: Path, folder: Path, *, size: int) -> Path:
    """A ``size``² scene made of copies of a simulated tile: a VRT per band and a STAC item.

    The VRT XML is written by hand (GDAL's format, a few elements): neither rasterio nor
    gdalbuildvrt places one file at several offsets.
    """
    import pyproj
    import shapely

    from catalog.scene import resolve_scene

    scene = resolve_scene(tile_item)
    asset = scene.asset("VV")
    transform, epsg, (rows, cols) = asset.transform, scene.epsg, asset.shape
    n = -(-size // rows)
    folder.mkdir(parents=True, exist_ok=True)
    hrefs = {}
    for a in scene.assets:
        vrt = ET.Element("VRTDataset", rasterXSize=str(size), rasterYSize=str(size))
        ET.SubElement(vrt, "SRS").text = pyproj.CRS.from_epsg(epsg).to_wkt()
        ET.SubElement(vrt, "GeoTransform").text = ", ".join(
            str(v) for v in (transform.c, transform.a, 0.0, transform.f, 0.0, transform.e)
        )
        band = ET.SubElement(vrt, "VRTRasterBand", dataType="Float32", band="1")
        ET.SubElement(band, "NoDataValue").text = "nan"
        for i in range(n):
            for j in range(n):
                src = ET.SubElement(band, "SimpleSource")
                ET.SubElement(src, "SourceFilename", relativeToVRT="0").text = a.href
                ET.SubElement(src, "SourceBand").text = "1"
                ET.SubElement(src, "SrcRect", xOff="0", yOff="0", xSize=str(cols), ySize=str(rows))
                ET.SubElement(
                    src,
                    "DstRect",
                    xOff=str(j * cols),
                    yOff=str(i * rows),
                    xSize=str(cols),
                    ySize=str(rows),
                )
        path = folder / f"{a.polarization.lower()}.vrt"
        path.write_text(ET.tostring(vrt, encoding="unicode"))
        hrefs[a.polarization.lower()] = str(path)
    west, north = transform.c, transform.f
    east, south = west + size * transform.a, north + size * transform.e
    to_wgs84 = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    ring = shapely.segmentize(shapely.box(west, south, east, north), 10_000)
    footprint = shapely.transform(ring, lambda xy: np.column_stack(to_wgs84.transform(*xy.T)))
    doc = json.loads(Path(tile_item).read_text())
    doc["geometry"] = shapely.geometry.mapping(footprint)
    doc["bbox"] = list(footprint.bounds)
    doc["properties"]["proj:shape"] = [size, size]
    doc["assets"] = {
        k: {**doc["assets"][k], "href": hrefs[k], "type": "application/x-vrt"} for k in hrefs
    }
    doc["links"] = []
    path = folder / "item.json"
    path.write_text(json.dumps(doc))
    return path


def demo_items(folder: Path) -> dict[str, Path]:
    """The demo catalog's simulated scenes (written into ``folder`` the first time)."""
    import pystac

    from catalog.demo import write_demo_catalog

    root = folder / "catalog.json"
    if not root.exists():
        write_demo_catalog(folder, real_dir=REAL)
    catalog = pystac.Catalog.from_file(str(root))
    return {
        f"demo {item.id[17:32]} ({item.properties.get('slickwatch:geometry')})": Path(
            item.get_self_href()
        )
        for item in catalog.get_items(recursive=True)
        if item.properties.get("slickwatch:simulated")
    }


def amplification(
    chunks: int, demo: dict[str, Path], extra: dict[str, Path], *, model: Path | None
) -> None:
    from catalog.scene import resolve_scene
    from model.card import ModelCard
    from pipeline.detect import _axis_chunks, model_card_path
    from pipeline.grid import scene_grid
    from pipeline.infer import block_halo, model_input_pixels

    card = ModelCard.load(model_card_path(model))
    halo = block_halo(card)
    print(
        f"\n== inference amplification (chunks {chunks}, halo {halo} px; Cerulean "
        f"≈ {CERULEAN_AMPLIFICATION}) =="
    )
    print(f"{'scene':<42}{'grid':>14}{'blocks':>8}{'model px / scene px':>22}")

    def show(label: str, shape: tuple[int, int]) -> None:
        ys = _axis_chunks(shape[0], chunks, minimum=halo)
        xs = _axis_chunks(shape[1], chunks, minimum=halo)
        ratio = model_input_pixels((ys, xs), halo=halo, multiple=card.size_multiple) / (
            shape[0] * shape[1]
        )
        print(f"{label:<42}{f'{shape[0]}x{shape[1]}':>14}{len(ys) * len(xs):>8}{ratio:>22.3f}")

    for label, item in demo.items():
        show(label, scene_grid(resolve_scene(item), resolution=80.0).shape)
    real = resolve_scene(next(REAL.glob("*.vv.tif")))
    show("real scene (Cape Hatteras)", scene_grid(real, resolution=80.0).shape)
    show("full IW scene (250 x 170 km)", (2125, 3125))
    for label, item in extra.items():
        show(label, scene_grid(resolve_scene(item), resolution=80.0).shape)


def _cluster(workers: int):
    from distributed import Client

    from pipeline.cluster import local_cluster

    cluster = local_cluster(n_workers=workers, memory_limit=None)  # as `slickwatch detect` runs
    return cluster, Client(cluster, set_as_default=False)


def _timed(item: Path, *, client: object, chunks: int, model: Path | None) -> tuple[float, object]:
    """Wall seconds of ``detect_scene`` on the client, and its frame."""
    from pipeline import detect_scene

    t0 = time.perf_counter()
    frame = detect_scene(item, model=model, chunks=chunks, client=client)
    return time.perf_counter() - t0, frame


def run_once(item: Path, *, workers: int, chunks: int, model: Path | None) -> dict[str, float]:
    """detect_scene on a fresh cluster; wall time, slicks, counted pixels, peak RSS per worker."""
    from pipeline.infer import input_pixels

    cluster, client = _cluster(workers)
    try:
        wall, frame = _timed(item, client=client, chunks=chunks, model=model)
        rss = client.run(_peak_rss_mb)
        fed = sum(client.run(input_pixels).values())
    finally:
        client.close()
        cluster.close()
    stats = frame.attrs["statistics"]
    return {
        "wall_s": wall,
        "slicks": len(frame),
        "grid_px": stats["grid_px"],
        "counted_amplification": fed / stats["grid_px"],
        "planned_amplification": stats["inference_amplification"],
        "peak_rss_mb": max(rss.values()),
        "timings": frame.attrs["timings"],
    }


def scaling(
    item: Path, *, chunks: int, model: Path | None, repeats: int
) -> tuple[dict[int, float], dict[int, list[float]], list[float]]:
    """Wall seconds of the scene on a fresh cluster of one worker (cold) and on a fresh cluster
    of two, then ``repeats`` rounds of one run on each (warm), alternating: the speed of a shared
    machine drifts by 10-20 % over a minute, and alternating puts both clusters in each spell
    (measured one cluster after the other, the ratio moved 1.57-1.85 from run to run). The idle
    cluster only exchanges heartbeats meanwhile. Each round ends with :func:`_model_scaling`,
    the host's own ceiling for the same ratio."""
    cold: dict[int, float] = {}
    warm: dict[int, list[float]] = {1: [], 2: []}
    ceiling: list[float] = []
    clusters = {}
    try:
        for n in (1, 2):
            clusters[n] = _cluster(n)
            cold[n], _ = _timed(item, client=clusters[n][1], chunks=chunks, model=model)
        for _ in range(repeats):
            for n in (1, 2):
                warm[n].append(_timed(item, client=clusters[n][1], chunks=chunks, model=model)[0])
            ceiling.append(_model_scaling(item, clusters, chunks=chunks, model=model))
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
    return cold, warm, ceiling


def _model_scaling(item: Path, clusters: dict, *, chunks: int, model: Path | None) -> float:
    """What this host allows two single-threaded workers: the model alone on the scene's blocks
    in the one worker, then in both workers of the other cluster at once (each on all the blocks,
    timed over the same spell); throughput of two ÷ throughput of one. Nothing of the pipeline but
    the network runs, so the shortfall from 2 is the workers slowing each other (shared cores,
    caches and memory bandwidth), which no scheduling of the pipeline can win back."""
    kwargs = {"chunks": chunks, "model": model, "pure": False}
    one_client = clusters[1][1]
    alone = one_client.submit(_model_only, item, **kwargs).result()
    two_client = clusters[2][1]
    start_at = time.time() + 3.0
    both = [
        two_client.submit(_model_only, item, start_at=start_at, workers=[w], **kwargs)
        for w in two_client.scheduler_info()["workers"]
    ]
    side_by_side = two_client.gather(both)
    return 2 * alone / max(side_by_side)


def overhead(item: Path, *, chunks: int, model: Path | None, repeats: int) -> dict[str, object]:
    """End to end against the model alone, on one cluster of one worker with one thread.

    A cold run first (the worker imports torch and loads the model within it), then ``repeats``
    rounds of a warm end-to-end run followed by the model alone on the same scene's pixels in the
    same worker: the two series are interleaved so that a busy spell of a shared machine falls on
    both, and their medians and minima are compared."""
    from pipeline.infer import input_pixels, reset_input_pixels

    cluster, client = _cluster(1)
    try:
        cold, _ = _timed(item, client=client, chunks=chunks, model=model)
        warm, alone = [], []
        for _ in range(repeats):
            client.run(reset_input_pixels)
            seconds, frame = _timed(item, client=client, chunks=chunks, model=model)
            warm.append(seconds)
            fed = sum(client.run(input_pixels).values())
            alone.append(
                client.submit(_model_only, item, chunks=chunks, model=model, pure=False).result()
            )
    finally:
        client.close()
        cluster.close()
    stats = frame.attrs["statistics"]
    return {
        "cold_s": cold,
        "warm_s": warm,
        "alone_s": alone,
        "counted_amplification": fed / stats["grid_px"],
        "planned_amplification": stats["inference_amplification"],
        "timings": frame.attrs["timings"],
    }


def _model_only(
    item: Path, *, chunks: int, model: Path | None, start_at: float | None = None
) -> float:
    """Seconds the model alone takes on the scene's prepared blocks, in this process (one
    thread). ``start_at`` (``time.time()``): wait until then once the blocks are ready, so that
    runs in several workers of one host time the same spell side by side."""
    import dask
    import torch

    from catalog.scene import resolve_scene
    from model.card import ModelCard
    from model.predictor import get_predictor
    from pipeline.detect import model_card_path
    from pipeline.grid import scene_grid
    from pipeline.load import load_scene
    from pipeline.prepare import layer_polarizations, prepare

    torch.set_num_threads(1)
    card = ModelCard.load(model_card_path(model))
    scene = resolve_scene(item)
    grid = scene_grid(scene, resolution=80.0)
    raw = load_scene(
        scene, grid=grid, polarizations=layer_polarizations(card.layers), chunks=chunks
    )
    layers, _ = prepare(raw, scene=scene, card=card, grid=grid)
    blocks = [
        np.asarray(b) for b in dask.compute(*layers.to_delayed().ravel(), scheduler="threads")
    ]
    predictor = get_predictor(model_card_path(model), device="cpu")
    # warm up on a whole block, as a backfill's workers are after their first scene (the heap has
    # grown to the feature maps' size)
    predictor.predict_image(blocks[0], tile_size=max(max(blocks[0].shape[1:]), card.tile_size))
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    t0 = time.perf_counter()
    for block in blocks:
        if np.isfinite(block).all(axis=0).any():
            predictor.predict_image(block, tile_size=max(max(block.shape[1:]), card.tile_size))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=["amplification", "overhead", "memory", "scaling"],
        action="append",
        help="run only these measurements (repeatable)",
    )
    parser.add_argument(
        "--sizes",
        default="1024,4096,8192,16384",
        help="scene edges (working pixels) of the memory measurement",
    )
    parser.add_argument("--chunks", type=int, default=2048, help="chunk edge, working pixels")
    parser.add_argument(
        "--scene-size",
        type=int,
        default=2048,
        help="edge of the scene timed in 'overhead'",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="rounds of 'overhead' and of warm 'scaling'",
    )
    parser.add_argument(
        "--scaling-size",
        type=int,
        default=4096,
        help="edge of the scene timed in 'scaling' (with half the chunk size: 16 blocks)",
    )
    parser.add_argument("--model", type=Path, default=None, help="model card (default: shipped)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the scenes here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import distributed  # noqa: F401  (its import sets its loggers to INFO: quiet them after)

    logging.getLogger("distributed").setLevel(logging.WARNING)
    wanted = set(args.only or ["amplification", "overhead", "memory", "scaling"])
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="slickwatch-bench-"))
    tile = simulated_tile(work / "tile", size=TILE)
    scenes = {s: mosaic(tile, work / f"mosaic-{s}", size=s) for s in sizes}
    timed = mosaic(tile, work / f"mosaic-{args.scene_size}", size=args.scene_size)
    big = max(sizes)

    if "amplification" in wanted:
        amplification(
            args.chunks,
            demo_items(work / "demo"),
            {f"simulated {big}² (mosaic)": scenes[big]},
            model=args.model,
        )

    if "overhead" in wanted:
        print(
            f"\n== end-to-end ÷ model-only, {args.scene_size}² px, one worker, one thread, "
            f"{args.repeats} rounds =="
        )
        r = overhead(timed, chunks=args.chunks, model=args.model, repeats=args.repeats)
        warm, alone = np.array(r["warm_s"]), np.array(r["alone_s"])
        print(f"{'seconds':<22}{'median':>8}{'min':>8}{'max':>8}")
        for label, v in (("end to end (warm)", warm), ("model alone", alone)):
            print(f"{label:<22}{np.median(v):>8.2f}{v.min():>8.2f}{v.max():>8.2f}")
        print(
            f"ratio of medians {np.median(warm) / np.median(alone):.2f}, of minima "
            f"{warm.min() / alone.min():.2f} (target <= 1.3); per round "
            + " ".join(f"{w / a:.2f}" for w, a in zip(warm, alone, strict=True))
        )
        print(
            f"cold run (fresh cluster: the worker imports torch and loads the model) "
            f"{r['cold_s']:.1f} s: {r['cold_s'] / np.median(alone):.2f}x the model alone"
        )
        print(
            f"counted amplification {r['counted_amplification']:.3f} (planned "
            f"{r['planned_amplification']:.3f}); last warm run's steps:"
        )
        print("  ", {k: v for k, v in r["timings"].items() if k != "total"})
        here = _model_only(timed, chunks=args.chunks, model=args.model)
        print(
            f"model alone in this process, with glibc's malloc defaults instead of the workers' "
            f"(pipeline.cluster.WORKER_ENVIRON): {here:.2f} s, {here / np.median(alone):.2f}x"
        )

    if "memory" in wanted:
        print(f"\n== peak memory per worker (2 workers x 1 thread, chunks {args.chunks}) ==")
        print(
            f"{'scene':>12}{'pixels':>14}{'wall s':>10}{'slicks':>8}{'peak RSS MB':>14}"
            f"{'amplification':>15}"
        )
        peaks = {}
        for size in sizes:
            r = run_once(scenes[size], workers=2, chunks=args.chunks, model=args.model)
            peaks[size] = r["peak_rss_mb"]
            print(
                f"{f'{size}²':>12}{r['grid_px']:>14,}{r['wall_s']:>10.1f}{r['slicks']:>8}"
                f"{r['peak_rss_mb']:>14.0f}{r['counted_amplification']:>15.3f}"
            )
        print(
            f"largest ÷ smallest peak: {peaks[max(sizes)] / peaks[min(sizes)]:.2f} (target <= 1.5)"
        )

    if "scaling" in wanted:
        print(
            f"\n== one worker vs two (one thread each), {args.scaling_size}² px, chunks "
            f"{args.chunks // 2}, {args.repeats} warm rounds =="
        )
        scaled = mosaic(tile, work / f"mosaic-{args.scaling_size}", size=args.scaling_size)
        cold, warm, ceiling = scaling(
            scaled, chunks=args.chunks // 2, model=args.model, repeats=args.repeats
        )
        print(
            f"cold clusters: 1 worker {cold[1]:.1f} s, 2 workers {cold[2]:.1f} s: speed-up "
            f"{cold[1] / cold[2]:.2f} (each worker imports torch and loads the model within it)"
        )
        one, two = np.array(warm[1]), np.array(warm[2])
        print(
            f"warm clusters: 1 worker median {np.median(one):.1f} s (min {one.min():.1f}), "
            f"2 workers median {np.median(two):.1f} s (min {two.min():.1f}): speed-up of medians "
            f"{np.median(one) / np.median(two):.2f}, of minima {one.min() / two.min():.2f} "
            "(target >= 1.6); per round "
            + " ".join(f"{a / b:.2f}" for a, b in zip(one, two, strict=True))
        )
        print(
            f"the model alone, two workers at once against one (what this host allows): median "
            f"{np.median(ceiling):.2f}; per round " + " ".join(f"{c:.2f}" for c in ceiling)
        )
    print(f"\nclient peak RSS {_peak_rss_mb():.0f} MB; scenes in {work}")


if __name__ == "__main__":
    main()
