"""``slickwatch demo``: the main job, from a fresh clone to slicks on a map in one command.

1. builds the demo catalog (:mod:`catalog.demo`: simulated scenes of four seas and the real
   Sentinel-1 scene) under ``<data_dir>/demo/catalog``, or reuses the one there;
2. migrates the database (the private PostGIS in ``<data_dir>/pg`` unless
   ``SLICKWATCH_DATABASE_URL`` says otherwise);
3. backfills the catalog on a local Dask cluster (:mod:`pipeline.backfill`): a second demo skips
   the scenes done by the same model;
4. prints a summary: scenes, slicks per class, time taken;
5. serves OGC API - Features and the map page, and prints their URLs, until Ctrl-C
   (``--no-serve`` stops after the summary).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

logger = logging.getLogger(__name__)

WORLD = (-180.0, -90.0, 180.0, 90.0)
"""The demo backfill's area: everything in the catalog."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demo did."""

    catalog: Path
    """The demo catalog's ``catalog.json``."""
    database_url: str
    """The database it stored into."""
    scenes: dict[str, int]
    """Scenes per outcome (``stored``, ``failed``, ``done``, ``irrelevant``, ...)."""
    slicks_per_class: dict[str, int]
    """Active slicks of the demo scenes per class short name."""
    served: int
    """Of those, the oil slicks the API and the map serve (``slick_plus``: not NOT_OIL)."""
    failures: dict[str, str]
    """Failed scene -> its reason and error."""
    real_scene: bool
    """Whether the real Sentinel-1 scene is in the catalog."""
    seconds: dict[str, float]
    """Wall time of each step (``catalog``, ``database``, ``backfill``) and ``total``."""
    trigger_id: int | None
    """The backfill's ``trigger`` row (``None`` when every scene was done already)."""
    interrupted: bool = False
    """Ctrl-C stopped the backfill before every scene ran (run the demo again to finish)."""


def build_catalog(folder: Path, *, real_dir: Path) -> tuple[Path, bool]:
    """The demo catalog in ``folder``, written unless a complete one is there.

    Returns:
        Its ``catalog.json``, and whether the real scene is in it.
    """
    import pystac

    from catalog.demo import DEMO_SCENES, write_demo_catalog
    from catalog.simulate import write_scene
    from catalog.simulate.compare import REAL_SCENE_ID, real_paths
    from catalog.simulate.errors import RealSceneNotFound
    from catalog.stac import write_catalog

    root = folder / "catalog.json"
    if root.is_file():  # pystac saves the root last: a catalog.json means a complete catalog
        ids = {item.id for item in pystac.Catalog.from_file(str(root)).get_items(recursive=True)}
        logger.info("reusing the demo catalog %s (%d scenes)", root, len(ids))
        return root, REAL_SCENE_ID in ids
    try:
        real_paths(real_dir)
    except RealSceneNotFound as exc:
        # catalog.demo.write_demo_catalog always takes the real scene; without it, the same
        # simulated scenes are written the same way, so that a clone without ../shared works.
        logger.warning("%s The demo runs on the simulated scenes only.", exc)
        items = [write_scene(config, folder / "scenes", overwrite=True) for config in DEMO_SCENES]
        root = write_catalog(
            items,
            folder,
            title="slickwatch demo",
            description="Simulated Sentinel-1 IW scenes with labelled oil slicks.",
        )
        return root, False
    return write_demo_catalog(folder, real_dir=real_dir, overwrite=True), True


def served_slicks(database_url: str, scene_ids: list[str]) -> int:
    """Slicks of these scenes in ``slick_plus`` (what the API serves)."""
    import sqlalchemy as sa

    from schema.database import engine_for

    query = sa.text("SELECT count(*) FROM slick_plus WHERE scene_id = ANY(:ids)")
    with engine_for(database_url).connect() as conn:
        return int(conn.execute(query, {"ids": scene_ids}).scalar_one())


def slicks_per_class(database_url: str, scene_ids: list[str]) -> dict[str, int]:
    """Active slicks of these scenes per class short name."""
    import sqlalchemy as sa

    from schema.database import engine_for
    from schema.models import OrchestratorRun, Sentinel1Grd, Slick, SlickClass

    query = (
        sa.select(SlickClass.short_name, sa.func.count(Slick.id))
        .join(Slick, Slick.slick_class == SlickClass.id)
        .join(OrchestratorRun, OrchestratorRun.id == Slick.orchestrator_run)
        .join(Sentinel1Grd, Sentinel1Grd.id == OrchestratorRun.sentinel1_grd)
        .where(Slick.active, Sentinel1Grd.scene_id.in_(scene_ids))
        .group_by(SlickClass.short_name)
        .order_by(SlickClass.short_name)
    )
    with engine_for(database_url).connect() as conn:
        return {name: int(n) for name, n in conn.execute(query).all()}


def run_demo(
    settings: Any,
    *,
    real_dir: Path,
    model: str | Path | None = None,
    workers: int | None = None,
    max_concurrent: int = 2,
    progress: Any = None,
) -> DemoSummary:
    """Build the demo catalog, migrate the database, backfill the catalog; no serving.

    Args:
        settings: :class:`schema.settings.Settings` (data folder, database, model).
        real_dir: folder of the real Sentinel-1 scene (left out, with a warning, when missing).
        model: a model card or registered name; default ``settings.model``, else the newest
            registered, else the shipped model.
        workers: worker processes of the local Dask cluster (default: settings, else cores).
        max_concurrent: scenes in flight at once.
        progress: :data:`pipeline.backfill_run.BackfillProgress` callback.

    Raises:
        CatalogError, SchemaError, PipelineError: a step failed; its message says what to do.
    """
    from pipeline.backfill_interrupts import children_ignore_interrupts
    from pipeline.backfill_plan import plan_backfill
    from pipeline.backfill_run import run_backfill
    from pipeline.cluster import open_client
    from pipeline.detect import Options
    from schema.database import database_url
    from schema.migrate import upgrade

    seconds: dict[str, float] = {}
    t_start = t0 = time.perf_counter()
    folder = settings.data_dir.resolve() / "demo" / "catalog"
    root, has_real = build_catalog(folder, real_dir=real_dir)
    seconds["catalog"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    url = database_url(settings)
    upgrade(url, "head")
    seconds["database"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plan = plan_backfill(root, bbox=WORLD, database_url=url, model=model or settings.model)
    counts = plan.counts()
    failures: dict[str, str] = {}
    trigger_id = None
    interrupted = False
    if plan.to_run:
        options = Options(resolution=settings.resolution, chunks=settings.chunk_size)
        with contextlib.ExitStack() as stack:
            with children_ignore_interrupts():  # Ctrl-C is the demo's, not its workers'
                client = stack.enter_context(open_client(n_workers=workers or settings.n_workers))
            report = run_backfill(
                plan,
                client=client,
                database_url=url,
                options=options,
                max_concurrent=max_concurrent,
                progress=progress,
            )
        counts = report.counts()
        trigger_id, interrupted = report.trigger_id, report.interrupted
        failures = {r.scene_id: f"{r.reason}: {r.error}" for r in report.with_status("failed")}
    seconds["backfill"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start
    scene_ids = [c.scene_id for c in plan.candidates]
    return DemoSummary(
        catalog=root,
        database_url=url,
        scenes=counts,
        slicks_per_class=slicks_per_class(url, scene_ids),
        served=served_slicks(url, scene_ids),
        failures=failures,
        real_scene=has_real,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        trigger_id=trigger_id,
        interrupted=interrupted,
    )


def print_summary(summary: DemoSummary, *, console: Any) -> None:
    """The demo's summary table."""
    from rich.table import Table

    table = Table(title="slickwatch demo", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    n = sum(summary.scenes.values())
    table.add_row(
        "scenes",
        f"{n} in the catalog"
        + ("" if summary.real_scene else " (simulated only: the real scene was not found)")
        + ": "
        + ", ".join(f"{status} {count}" for status, count in sorted(summary.scenes.items())),
    )
    per_class = summary.slicks_per_class
    table.add_row(
        "slicks",
        f"{sum(per_class.values())}"
        + (": " + ", ".join(f"{k} {v}" for k, v in per_class.items()) if per_class else "")
        + f" ({summary.served} oil slicks on the map and the API)",
    )
    for scene_id, why in summary.failures.items():
        table.add_row("failed", f"{scene_id}: {why}")
    s = summary.seconds
    table.add_row(
        "time",
        f"{s['total']:.0f} s (catalog {s['catalog']:.0f} s, database {s['database']:.0f} s, "
        f"backfill {s['backfill']:.0f} s)",
    )
    table.add_row("catalog", str(summary.catalog))
    console.print(table)


def demo(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder for the catalog and the database (default .slickwatch)."
    ),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="Serve the API and the map after the summary."
    ),
    real_dir: Path | None = typer.Option(
        None, "--real-dir", help="Folder of the real scene (default ../shared/data/real)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Registered model NAME[:VERSION] or a card (default: shipped)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes of the local Dask cluster."
    ),
    host: str | None = typer.Option(None, help="Address to serve on (default: settings host)."),
    port: int | None = typer.Option(None, help="Port to serve on (default: settings port)."),
) -> None:
    """Run the demo: simulated and real scenes, backfilled into PostGIS, served on a map."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from catalog.errors import CatalogError
    from catalog.simulate.compare import default_real_dir
    from pipeline.errors import PipelineError
    from schema.errors import SchemaError
    from schema.settings import get_settings

    settings = get_settings(data_dir=data_dir, host=host, port=port)
    err = Console(stderr=True)
    err.print(f"slickwatch demo in {settings.data_dir.resolve()}")
    columns = (
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
    )
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("backfill", total=None, last="")

            def progress(result: Any, counts: dict[str, int]) -> None:
                ended = sum(counts.values())
                bar.update(task, completed=ended, last=f"{result.status} {result.scene_id}")

            summary = run_demo(
                settings,
                real_dir=real_dir or default_real_dir(),
                model=model,
                workers=workers,
                progress=progress,
            )
    except (CatalogError, PipelineError, SchemaError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    print_summary(summary, console=Console(width=120))
    if summary.interrupted:
        err.print("[yellow]stopped:[/] run 'slickwatch demo' again to finish (nothing is redone).")
        raise typer.Exit(code=130)
    if not serve:
        return
    _serve(settings, summary.database_url)


def _serve(settings: Any, url: str) -> None:
    from schema.errors import SchemaError
    from service.app import create_app
    from service.errors import ServiceError
    from service.ogc_config import public_url
    from service.server import serve

    try:
        app = create_app(settings, database_url=url)
    except (SchemaError, ServiceError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    base = public_url(settings).rstrip("/")

    def ready() -> None:  # printed once the server listens: the links work when shown
        typer.echo(f"map:     {base}/map")
        typer.echo(f"slicks:  {base}/collections/slicks/items")
        typer.echo(f"API:     {base}/openapi?f=html")
        typer.echo("serving until Ctrl-C")

    serve(app, host=settings.host, port=settings.port, ready=ready)


def register(app: typer.Typer) -> None:
    """Add ``slickwatch demo`` to the ``slickwatch`` app."""
    app.command("demo")(demo)
