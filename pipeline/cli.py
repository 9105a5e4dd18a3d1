"""Subcommands of ``slickwatch`` that belong to ``pipeline``: ``detect`` and ``cluster ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

cluster_app = typer.Typer(
    help="Dask clusters for the pipeline: the Kubernetes spec.", no_args_is_help=True
)

_STAC_HELP = "STAC API URL or static catalog (folder or catalog.json) to look scene ids up in."


def _fail(message: object, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)


def detect(
    ref: str = typer.Argument(
        ..., help="Scene id (with --stac), STAC item file or URL, or GRD measurement file."
    ),
    stac: str | None = typer.Option(None, "--stac", envvar="SLICKWATCH_STAC_URL", help=_STAC_HELP),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Also write the slicks to FILE (.geojson, .parquet, .gpkg)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Do not write to the database."),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=64, help="Block edge in working pixels (default 2048)."
    ),
    resolution: float | None = typer.Option(
        None, "--resolution", min=1.0, help="Working resolution in metres (default 80)."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        help="Model card (card.json or folder) or registered name[:version]; default: the newest "
        "registered, else the shipped one.",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of a running Dask scheduler (tcp://host:8786)."
    ),
    kubernetes: Path | None = typer.Option(
        None, "--kubernetes", help="Start a dask-kubernetes cluster from this spec file."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes of the local cluster (default: cores)."
    ),
    land_buffer: float = typer.Option(
        1000.0, "--land-buffer", min=0.0, help="Coastal buffer masked with the land, metres."
    ),
) -> None:
    """Detect the slicks of one scene, store them, and print a summary."""
    from rich.console import Console

    from pipeline.detect import Options
    from pipeline.errors import PipelineError
    from pipeline.output import output_format, write_slicks
    from schema.settings import get_settings

    console = Console(stderr=True)
    settings = get_settings()
    scheduler = scheduler or settings.scheduler
    kubernetes = kubernetes or settings.kubernetes_spec
    if scheduler and kubernetes:
        raise _fail("give either --scheduler or --kubernetes, not both.", code=2)
    try:
        if output is not None:
            output_format(output)
    except PipelineError as exc:
        raise _fail(exc, code=2) from exc
    options = Options(
        resolution=resolution or settings.resolution,
        chunks=chunk_size or settings.chunk_size,
        land_buffer_m=land_buffer,
    )
    from model.errors import ModelError
    from schema.errors import SchemaError

    database_url = None
    if not no_store:
        from schema.database import database_url as resolve_url

        try:
            database_url = resolve_url(settings)
        except SchemaError as exc:
            raise _fail(f"{exc} (or pass --no-store)") from exc
    try:
        card = _model_card(model or settings.model, database_url=database_url, settings=settings)
    except (ModelError, SchemaError) as exc:
        raise _fail(exc) from exc
    outcome = _run(
        ref,
        console=console,
        database_url=database_url,
        model=card,
        options=options,
        stac=stac,
        scheduler=scheduler,
        kubernetes=kubernetes,
        workers=workers or settings.n_workers,
    )
    _summary(outcome, console=Console())
    if not outcome.success:
        raise _fail(outcome.error)
    if output is not None:
        try:
            written = write_slicks(outcome.slicks, output)
        except PipelineError as exc:
            raise _fail(exc) from exc
        console.print(f"wrote {len(outcome.slicks)} slicks to {written}")


def _model_card(model: str | None, *, database_url: str | None, settings: Any) -> Path | None:
    """The card to run: a path as given, else a registered model, else (no database) shipped."""
    if model is not None and Path(model).exists():
        return Path(model)
    if model is None and database_url is None:
        return None
    from model.registry import resolve_model
    from schema.database import database_url as resolve_url

    return resolve_model(model, database_url or resolve_url(settings)).card_path


def _run(
    ref: str,
    *,
    console: Any,
    database_url: str | None,
    model: Path | None,
    options: Any,
    stac: str | None,
    scheduler: str | None,
    kubernetes: Path | None,
    workers: int | None,
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.cluster import open_client
    from pipeline.errors import ClusterError
    from pipeline.orchestrate import run_scene

    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=max(total, 1))
            bar.update(tasks[step], completed=done if total else 1, total=max(total, 1))

        start = bar.add_task("cluster", total=1)
        try:
            with open_client(
                scheduler=scheduler, kubernetes=kubernetes, n_workers=workers
            ) as client:
                bar.update(start, completed=1)
                link = getattr(client, "dashboard_link", None)
                if link:
                    console.print(f"Dask dashboard: {link}")
                return run_scene(
                    ref,
                    client=client,
                    database_url=database_url,
                    model=model,
                    options=options,
                    stac=stac,
                    progress=progress,
                )
        except ClusterError as exc:
            raise _fail(exc) from exc


def _summary(outcome: Any, *, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"slickwatch detect: {outcome.scene_id or outcome.ref}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("outcome", f"{outcome.reason}" + ("" if outcome.success else " (failed)"))
    if outcome.run_id is not None:
        table.add_row("run", str(outcome.run_id))
    if outcome.error:
        table.add_row("error", outcome.error)
    detection = outcome.detection
    if detection is not None:
        stats, timings = detection.statistics, detection.timings
        classes = ", ".join(f"{k} {v}" for k, v in sorted(stats.get("classes", {}).items()))
        table.add_row("slicks", f"{stats.get('slicks', 0)}" + (f" ({classes})" if classes else ""))
        table.add_row(
            "pixels",
            f"{stats['grid_px']:,} on the grid: {stats['ocean_px']:,} ocean, "
            f"{stats['land_px']:,} land, {stats['nodata_px']:,} nodata",
        )
        table.add_row(
            "blocks", f"{stats['blocks']} (amplification {stats['inference_amplification']:.3f})"
        )
        table.add_row(
            "time",
            ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if not k.startswith("tasks_")),
        )
        table.add_row(
            "task time",
            ", ".join(f"{k[6:]} {v:.1f} s" for k, v in timings.items() if k.startswith("tasks_")),
        )
    console.print(table)
    if detection is not None and len(detection.slicks):
        slicks = Table(title="slicks (largest first)")
        for name in ("#", "class", "confidence", "area km²", "length km", "centroid"):
            slicks.add_column(name, justify="right" if name != "class" else "left")
        ids = outcome.slick_ids or [None] * len(detection.slicks)
        for i, (row, sid) in enumerate(zip(detection.slicks.itertuples(), ids, strict=True)):
            if i == 15:
                slicks.add_row("…", f"{len(detection.slicks) - 15} more", "", "", "", "")
                break
            slicks.add_row(
                str(sid if sid is not None else i + 1),
                row.slick_class,
                f"{row.machine_confidence:.2f}",
                f"{row.area_m2 / 1e6:.2f}",
                f"{row.length_m / 1e3:.1f}",
                f"{row.centroid_lon:.4f}, {row.centroid_lat:.4f}",
            )
        console.print(slicks)


@cluster_app.command("spec")
def cluster_spec(
    output: Path = typer.Option(
        Path("deploy/dask-cluster.yaml"), "--output", "-o", help="Where to write the spec."
    ),
    image: str | None = typer.Option(None, "--image", help="Container image with slickwatch."),
    name: str = typer.Option("slickwatch", "--name", help="DaskCluster name (a DNS label)."),
    cpu_workers: int = typer.Option(2, "--cpu-workers", min=0, help="CPU worker replicas."),
    gpu_workers: int = typer.Option(1, "--gpu-workers", min=0, help="GPU worker replicas."),
) -> None:
    """Write a dask-kubernetes cluster spec with a GPU worker group."""
    from pipeline.errors import PipelineError
    from pipeline.kubernetes import DEFAULT_IMAGE, check_spec, make_spec, write_spec

    try:
        docs = make_spec(
            name=name,
            image=image or DEFAULT_IMAGE,
            cpu_workers=cpu_workers,
            gpu_workers=gpu_workers,
        )
        check_spec(docs)
        path = write_spec(output, docs)
    except (PipelineError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"wrote {path} ({len(docs)} resources); start it with "
        f"'slickwatch detect REF --kubernetes {path}'"
    )


@cluster_app.command("check")
def cluster_check(
    spec: Path = typer.Argument(..., help="A cluster spec file (YAML)."),
) -> None:
    """Validate a cluster spec against the dask-kubernetes and Kubernetes schemas."""
    from pipeline.errors import PipelineError
    from pipeline.kubernetes import load_spec

    try:
        docs = load_spec(spec)
    except PipelineError as exc:
        raise _fail(exc) from exc
    kinds = ", ".join(f"{d['kind']} {d['metadata']['name']}" for d in docs)
    typer.echo(f"{spec}: valid ({kinds})")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    app.command("detect")(detect)
    app.add_typer(cluster_app, name="cluster")
    __import__("pipeline.backfill", fromlist=["register"]).register(app)
