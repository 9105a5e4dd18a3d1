"""One scene, steps 1-7: resolve, load, prepare, infer, vectorize, stitch, describe.

:func:`detect_scene` is the notebook face (a GeoDataFrame, no database); :func:`run_detection`
is what the command line and the backfill call: it also returns the provenance of the run
(parameters, timings per step, pixel counts) for the ``orchestrator_run`` row.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from catalog.scene import Scene, resolve_scene
from pipeline.errors import GridError, NoDataError, NoOceanError
from pipeline.grid import Grid, scene_grid

logger = logging.getLogger(__name__)

STEP_OF_PREFIX = {
    "load": "load",
    "prepare": "prepare",
    "infer": "infer",
    "vectorize_block": "vectorize",
    "block_parts": "vectorize",
    "block_info": "vectorize",
}
"""Task-name prefixes -> pipeline step, for the per-step task seconds."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: steps ``graph``, ``blocks`` (one per finished block: load,
prepare, infer and vectorize), ``stitch``, ``describe``; each reported at 0 and at its end."""


@dataclass(frozen=True)
class Options:
    """The parameters of a run (recorded on the ``orchestrator_run`` row)."""

    resolution: float = 80.0
    """Working resolution, metres."""
    chunks: int = 2048
    """Chunk edge, working pixels (rounded up to the network's size multiple)."""
    land_buffer_m: float = 1000.0
    """Coastal buffer masked with the land, metres."""
    group_distance_m: float = 400.0
    """Regions closer than this are one slick, metres."""
    tile_size: int | None = None
    """Largest tile the network runs on; ``None``: each haloed block in one pass."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "resolution_m": self.resolution,
            "chunk_size_px": self.chunks,
            "land_buffer_m": self.land_buffer_m,
            "group_distance_m": self.group_distance_m,
            "tile_size_px": self.tile_size,
        }


@dataclass
class Detection:
    """The result of one run: slicks and provenance."""

    scene: Scene
    """The scene."""
    slicks: gpd.GeoDataFrame
    """The slicks (:data:`pipeline.describe.OUTPUT_COLUMNS`), EPSG:4326."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Options, model, grid, halo, thresholds."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds: wall time per client-side step, task seconds per distributed step."""
    statistics: dict[str, Any] = field(default_factory=dict)
    """Pixel counts, blocks, parts, regions, slicks, inference amplification."""


def model_card_path(model: str | Path | None) -> Path:
    """The ``card.json`` of a model given as a card file, a folder, or ``None`` (shipped)."""
    from model.predictor import SHIPPED_DIR

    path = Path(model) if model is not None else SHIPPED_DIR
    path = path / "card.json" if path.is_dir() else path
    return path.resolve()


def _axis_chunks(length: int, chunk: int, *, minimum: int) -> tuple[int, ...]:
    """Chunks of ``chunk`` along an axis; a last chunk shorter than ``minimum`` joins the one
    before it (every block needs at least a halo's worth of pixels)."""
    n = max(1, length // chunk)
    sizes = [chunk] * n
    rest = length - chunk * n
    if rest >= minimum or n == 0:
        sizes.append(rest)
    elif rest > 0:
        sizes[-1] += rest
    sizes = [s for s in sizes if s > 0]
    if sum(sizes) != length:  # length < chunk
        sizes = [length]
    return tuple(sizes)


def _task_seconds(stream: list[dict[str, Any]]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for task in stream:
        key = task.get("key")
        name = key[0] if isinstance(key, tuple) else str(key)
        prefix = name.split("-")[0]
        step = STEP_OF_PREFIX.get(prefix, "other")
        for ss in task.get("startstops", ()):
            if ss.get("action") == "compute":
                seconds[step] = seconds.get(step, 0.0) + ss["stop"] - ss["start"]
    return {k: round(v, 3) for k, v in sorted(seconds.items())}


def _graph_keys(collections: list[Any]) -> set[Any]:
    """Keys of the tasks a compute of ``collections`` submits (after optimization), so that the
    task stream of a client shared by concurrent scenes can be told apart."""
    from dask.base import collections_to_expr

    expr = collections_to_expr(collections, optimize_graph=True).optimize()
    return set(expr.__dask_graph__().keys())


def _block_parts(result: Any) -> gpd.GeoDataFrame:
    return result.parts


def _block_info(result: Any) -> tuple[int, int, dict, dict]:
    return result.row, result.col, result.edges, result.pixels


@dataclass
class Plan:
    """The lazy graph of one scene, before anything is computed."""

    card_path: Path
    """The model card."""
    card: Any
    """The loaded card."""
    grid: Grid
    """The working grid."""
    chunk: int
    """Chunk edge after rounding to the network's size multiple, pixels."""
    chunks: tuple[tuple[int, ...], tuple[int, ...]]
    """Block sizes along y and x."""
    halo: int
    """Halo of the inference blocks, pixels."""
    gpu: bool
    """Whether the inference tasks ask for the ``GPU`` resource."""
    results: list[Any]
    """One delayed :class:`pipeline.vectorize.BlockResult` per block."""

    @property
    def model_input_px(self) -> int:
        """Pixels the network sees (every block one haloed, padded tile)."""
        from pipeline.infer import model_input_pixels

        return model_input_pixels(self.chunks, halo=self.halo, multiple=self.card.size_multiple)


def plan_scene(
    scene: Scene,
    *,
    model: str | Path | None = None,
    options: Options | None = None,
    gpu: bool = False,
) -> Plan:
    """Steps 2-5 as a lazy Dask graph: load, prepare, infer, vectorize, one chain per block
    (:mod:`pipeline.blocks`).

    Args:
        scene: the scene.
        model: the model card (file or folder); ``None``: the shipped model.
        options: resolution, chunk size, buffers.
        gpu: annotate the inference tasks with ``resources={"GPU": 1}``.

    Raises:
        GridError: bad resolution or chunk size.
        RasterReadError: an asset is missing, unreadable or not georeferenced.
    """
    from model.card import ModelCard
    from pipeline.blocks import block_results
    from pipeline.infer import InferSpec, block_halo, round_up
    from pipeline.load import scene_rasters
    from pipeline.prepare import layer_polarizations
    from pipeline.vectorize import Thresholds

    options = options or Options()
    card_path = model_card_path(model)
    card = ModelCard.load(card_path)
    if options.chunks < 16:
        raise GridError(f"A chunk size of {options.chunks} px is too small: use 256 or more.")
    multiple = card.size_multiple
    halo = block_halo(card)
    chunk = round_up(options.chunks, multiple)
    if not math.isclose(card.resolution_m, options.resolution, rel_tol=0.05):
        logger.warning(
            "model %s:%s was trained at %s m; running at %s m",
            card.name,
            card.version,
            card.resolution_m,
            options.resolution,
        )
    grid = scene_grid(scene, resolution=options.resolution)
    ychunks = _axis_chunks(grid.shape[0], chunk, minimum=halo)
    xchunks = _axis_chunks(grid.shape[1], chunk, minimum=halo)
    polarizations = layer_polarizations(card.layers)
    rasters = scene_rasters(scene, grid=grid, polarizations=polarizations)
    spec = InferSpec(
        model=str(card_path), halo=halo, n_classes=len(card.classes), tile_size=options.tile_size
    )
    results = block_results(
        rasters,
        scene=scene,
        card=card,
        grid=grid,
        chunks=(ychunks, xchunks),
        spec=spec,
        land_buffer_m=options.land_buffer_m,
        thresholds=Thresholds.from_card(card),
        polarizations=polarizations,
        gpu=gpu,
    )
    return Plan(
        card_path=card_path,
        card=card,
        grid=grid,
        chunk=chunk,
        chunks=(ychunks, xchunks),
        halo=halo,
        gpu=gpu,
        results=results,
    )


def run_detection(
    scene: Scene,
    *,
    client: Any,
    model: str | Path | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> Detection:
    """Steps 2-7 for a resolved scene on a ``distributed`` client.

    Raises:
        GridError: bad resolution or chunk size.
        RasterReadError: a raster cannot be read (missing, truncated, not georeferenced).
        NoDataError: every pixel is nodata.
        NoOceanError: every valid pixel is land or within the coastal buffer.
        ModelError: the model cannot be loaded.
    """
    from distributed import as_completed, get_task_stream

    from pipeline.cluster import has_gpu_workers
    from pipeline.describe import describe
    from pipeline.infer import no_fusion
    from pipeline.stitch import group_slicks, merge_seams
    from pipeline.vectorize import empty_parts

    options = options or Options()
    report = progress or (lambda step, done, total: None)
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    report("graph", 0, 1)
    plan = plan_scene(scene, model=model, options=options, gpu=has_gpu_workers(client))
    card, grid, halo, results = plan.card, plan.grid, plan.halo, plan.results
    ychunks, xchunks = plan.chunks
    ny, nx = len(ychunks), len(xchunks)
    timings["build_graph"] = round(time.perf_counter() - t_start, 3)

    t0 = time.perf_counter()
    with no_fusion():
        keys = _graph_keys(results)
    with get_task_stream(client) as stream, no_fusion():
        futures = client.compute(results)
        # submitted now, they run on each block's worker as the block ends: no round trips after
        info_futures = client.map(_block_info, futures, pure=False)
        parts = client.map(_block_parts, futures, pure=False)
        report("graph", 1, 1)
        report("blocks", 0, len(futures))
        for done, _ in enumerate(as_completed(info_futures, loop=client.loop), start=1):
            report("blocks", done, len(futures))
        infos = client.gather(info_futures)
        timings["compute"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        report("stitch", 0, 1)
        pixels = {"ocean": 0, "land": 0, "nodata": 0}
        edges = {}
        for row, col, block_edges, block_pixels in infos:
            edges[(row, col)] = block_edges
            for k in pixels:
                pixels[k] += block_pixels[k]
        regions = merge_seams(
            parts,
            edges=edges,
            n_cols=nx,
            meta=empty_parts(len(card.classes), grid.epsg),
            client=client,
            partitions=sum(client.nthreads().values()),
        )
    task_seconds = _task_seconds([t for t in stream.data if t.get("key") in keys])
    del futures, info_futures, parts
    statistics: dict[str, Any] = {
        "grid_px": grid.pixels,
        "ocean_px": pixels["ocean"],
        "land_px": pixels["land"],
        "nodata_px": pixels["nodata"],
        "blocks": ny * nx,
        "model_input_px": plan.model_input_px,
    }
    statistics["inference_amplification"] = round(
        statistics["model_input_px"] / max(grid.pixels, 1), 4
    )
    if pixels["ocean"] + pixels["land"] == 0:
        raise NoDataError(
            f"Every pixel of {scene.scene_id} is nodata on its {grid.shape[0]} x "
            f"{grid.shape[1]} working grid: the rasters hold only their nodata value. Check the "
            "files (a failed download?) or the scene's georeferencing."
        )
    if pixels["ocean"] == 0:
        raise NoOceanError(
            f"{scene.scene_id} shows no open water: all {pixels['land']} valid pixels are land "
            f"or within {options.land_buffer_m:g} m of it. Nothing to look for; such scenes "
            "fail the relevancy filter ('slickwatch scene info')."
        )
    slicks = group_slicks(
        regions, distance_m=options.group_distance_m, min_area_px=card.thresholds.min_area_px
    )
    statistics.update({"regions": len(regions), "slicks": len(slicks)})
    timings["stitch"] = round(time.perf_counter() - t0, 3)
    report("stitch", 1, 1)

    t0 = time.perf_counter()
    report("describe", 0, 1)
    described = describe(
        slicks,
        classes=card.classes,
        resolution=options.resolution,
        scene_id=scene.scene_id,
        timestamp=scene.start,
        client=client,
    )
    timings["describe"] = round(time.perf_counter() - t0, 3)
    report("describe", 1, 1)
    timings.update({f"tasks_{k}": v for k, v in task_seconds.items()})
    timings["total"] = round(time.perf_counter() - t_start, 3)
    parameters = {
        **options.as_dict(),
        "chunk_size_px": plan.chunk,
        "model": {"name": card.name, "version": card.version, "card": str(plan.card_path)},
        "halo_px": halo,
        "thresholds": card.thresholds.model_dump(),
        "grid": {"epsg": grid.epsg, "shape": list(grid.shape), "x0": grid.x0, "y0": grid.y0},
        "gpu": plan.gpu,
    }
    statistics["classes"] = described["slick_class"].value_counts().to_dict()
    return Detection(
        scene=scene, slicks=described, parameters=parameters, timings=timings, statistics=statistics
    )


def detect_scene(
    ref: str | Path | Scene | Any,
    *,
    model: str | Path | None = None,
    resolution: float = 80.0,
    chunks: int = 2048,
    client: Any = None,
    stac: str | Path | None = None,
    land_buffer_m: float = 1000.0,
    group_distance_m: float = 400.0,
    tile_size: int | None = None,
) -> gpd.GeoDataFrame:
    """Detect the slicks of one scene; no database needed.

    Args:
        ref: a scene id (with ``stac``), a STAC item (object, file or URL), a raw GRD
            measurement file, or a resolved :class:`catalog.scene.Scene`.
        model: a model card (``card.json`` or its folder); ``None``: the shipped model.
        resolution: working resolution, metres.
        chunks: chunk edge, working pixels.
        client: a ``distributed.Client``; ``None``: the current one if any, else a local
            cluster of processes for this call (in a script, call from under
            ``if __name__ == "__main__":``).
        stac: STAC API or static catalog to look scene ids up in.
        land_buffer_m: coastal buffer masked with the land, metres.
        group_distance_m: regions closer than this are one slick, metres.
        tile_size: largest tile the network runs on (``None``: a block at once).

    Returns:
        One row per slick, EPSG:4326 (:data:`pipeline.describe.OUTPUT_COLUMNS`); the run's
        parameters, timings and statistics are in ``.attrs``.

    Raises:
        CatalogError: the reference cannot be resolved.
        PipelineError: the scene cannot be read or holds nothing to look at.
    """
    from pipeline.cluster import current_client, open_client

    scene = ref if isinstance(ref, Scene) else resolve_scene(ref, stac=stac)
    options = Options(
        resolution=resolution,
        chunks=chunks,
        land_buffer_m=land_buffer_m,
        group_distance_m=group_distance_m,
        tile_size=tile_size,
    )
    client = client or current_client()
    if client is not None:
        detection = run_detection(scene, client=client, model=model, options=options)
    else:
        with open_client() as own:
            detection = run_detection(scene, client=own, model=model, options=options)
    frame = detection.slicks
    frame.attrs.update(
        {
            "parameters": detection.parameters,
            "timings": detection.timings,
            "statistics": detection.statistics,
        }
    )
    return frame
