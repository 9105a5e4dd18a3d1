"""Backfill: every relevant scene of a STAC source over an area and dates, on the Dask cluster.

    slickwatch backfill --stac https://stac.example/api --bbox -91,26,-89,28 \\
        --start 2020-11-01 --end 2020-11-30 --max-concurrent 4

From Python (a notebook)::

    from pipeline.backfill import backfill
    report = backfill("demo/catalog.json", bbox=(-180, -90, 180, 90), client=client)

The work is split by concept: :mod:`pipeline.backfill_plan` (search, relevancy, what is done),
:mod:`pipeline.backfill_run` (bounded concurrency, retries, Ctrl-C, the trigger's log) and
:mod:`pipeline.backfill_records` (the trigger row, claims on scenes, interrupted runs). This
module is the face: the names others import and the ``slickwatch backfill`` command; it imports
nothing heavy until used, so that ``slickwatch --help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pipeline.backfill_plan import BackfillModel, BackfillPlan, Candidate, plan_backfill
    from pipeline.backfill_run import BackfillProgress, BackfillReport, SceneResult, run_backfill
    from pipeline.detect import Options

__all__ = [
    "BackfillPlan",
    "BackfillReport",
    "Candidate",
    "SceneResult",
    "backfill",
    "plan_backfill",
    "register",
    "run_backfill",
]

_LAZY = {
    "plan_backfill": "pipeline.backfill_plan",
    "BackfillPlan": "pipeline.backfill_plan",
    "Candidate": "pipeline.backfill_plan",
    "run_backfill": "pipeline.backfill_run",
    "BackfillReport": "pipeline.backfill_run",
    "SceneResult": "pipeline.backfill_run",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pipeline.backfill' has no attribute {name!r}")


def backfill(
    source: str | Path,
    *,
    client: Any,
    database_url: str | None = None,
    bbox: Sequence[float] | str | None = None,
    aoi: Any = None,
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    collections: Sequence[str] | None = None,
    model: str | Path | BackfillModel | None = None,
    options: Options | None = None,
    max_concurrent: int = 2,
    retries: int = 2,
    backoff_s: float = 5.0,
    progress: BackfillProgress | None = None,
) -> BackfillReport:
    """Plan and run a backfill in one call (see :func:`plan_backfill` and :func:`run_backfill`).

    Args:
        source: STAC API URL or static catalog.
        client: a ``distributed.Client``.
        database_url: where to store; default: the project database (settings).
        bbox, aoi, start, end, collections: the search.
        model: card path, registered ``name[:version]``, or ``None`` (newest, else shipped).
        options: resolution, chunk size, buffers.
        max_concurrent: scenes in flight at once.
        retries: further attempts at a scene whose failure may pass.
        backoff_s: first pause between attempts, seconds (doubled each time).
        progress: called as each scene ends.
    """
    from pipeline.backfill_plan import plan_backfill
    from pipeline.backfill_run import run_backfill
    from schema.database import database_url as default_url

    url = database_url or default_url()
    plan = plan_backfill(
        source,
        bbox=bbox,
        aoi=aoi,
        start=start,
        end=end,
        collections=collections,
        database_url=url,
        model=model,
    )
    return run_backfill(
        plan,
        client=client,
        database_url=url,
        options=options,
        max_concurrent=max_concurrent,
        retries=retries,
        backoff_s=backoff_s,
        progress=progress,
    )


# ---------------------------------------------------------------------------- command line


def _fail(message: object, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)


def backfill_command(
    stac: str = typer.Option(
        ...,
        "--stac",
        envvar="SLICKWATCH_STAC_URL",
        help="STAC API URL or static catalog (folder or catalog.json) to search.",
    ),
    bbox: str | None = typer.Option(None, "--bbox", help="Area: W,S,E,N in degrees."),
    aoi: Path | None = typer.Option(None, "--aoi", help="Area: a GeoJSON or GeoPackage file."),
    start: str = typer.Option(..., "--start", help="First day (YYYY-MM-DD) or time."),
    end: str = typer.Option(..., "--end", help="Last day (YYYY-MM-DD, included) or time."),
    collection: list[str] = typer.Option(
        [], "--collection", "-c", help="Collection id to search (repeat for several)."
    ),
    max_concurrent: int = typer.Option(
        2, "--max-concurrent", "-j", min=1, help="Scenes in flight on the cluster at once."
    ),
    retries: int = typer.Option(
        2, "--retries", min=0, help="More attempts at a scene when the database or a worker fails."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Registered model NAME[:VERSION] or a card; default newest/shipped."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would run and why others are left out; write nothing."
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
    resolution: float | None = typer.Option(
        None, "--resolution", min=1.0, help="Working resolution in metres (default 80)."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", min=64, help="Block edge in working pixels (default 2048)."
    ),
) -> None:
    """Run every relevant scene of a STAC search on the cluster; resumable, skips done scenes."""
    from rich.console import Console

    from pipeline.backfill_errors import BackfillDatabaseError, BackfillError
    from pipeline.backfill_plan import plan_backfill
    from pipeline.detect import Options
    from schema.database import database_url as resolve_url
    from schema.errors import SchemaError
    from schema.settings import get_settings

    if (bbox is None) == (aoi is None):
        raise _fail("give the area as either --bbox W,S,E,N or --aoi FILE.", code=2)
    settings = get_settings()
    scheduler = scheduler or settings.scheduler
    kubernetes = kubernetes or settings.kubernetes_spec
    if scheduler and kubernetes:
        raise _fail("give either --scheduler or --kubernetes, not both.", code=2)
    err = Console(stderr=True)
    try:
        url = resolve_url(settings)
    except SchemaError as exc:
        raise _fail(exc) from exc
    search = {"bbox": bbox, "aoi": aoi, "start": start, "end": end, "collections": collection}
    chosen = model or settings.model
    try:
        try:
            plan = plan_backfill(stac, **search, database_url=url, model=chosen)
        except BackfillDatabaseError as exc:
            if not dry_run:
                raise
            err.print(f"[yellow]note:[/] {exc} Listing as if nothing were done yet.")
            plan = plan_backfill(stac, **search, database_url=None, model=chosen)
    except BackfillError as exc:
        raise _fail(exc, code=2 if exc.reason == "bad-parameters" else 1) from exc
    _print_plan(plan, console=Console(), dry_run=dry_run)
    if dry_run or not plan.to_run:
        return
    options = Options(
        resolution=resolution or settings.resolution, chunks=chunk_size or settings.chunk_size
    )
    report = _run_with_bar(
        plan,
        url=url,
        options=options,
        max_concurrent=max_concurrent,
        retries=retries,
        scheduler=scheduler,
        kubernetes=kubernetes,
        workers=workers or settings.n_workers,
        console=err,
    )
    print_report(report, console=Console())
    if report.interrupted:
        err.print("[yellow]stopped:[/] run the same command again to finish the backfill.")
        raise typer.Exit(code=130)
    failed = report.with_status("failed")
    if failed:
        raise _fail(
            f"{len(failed)} scene(s) failed (reasons above, and on their run rows); the others "
            "are stored. Run the same command again to retry them."
        )


def _print_plan(plan: BackfillPlan, *, console: Any, dry_run: bool) -> None:
    counts = plan.counts()
    console.print(
        f"{plan.found} scene(s) found in {plan.source}: {counts.get('run', 0)} to run with "
        f"{plan.model.label}, {counts.get('done', 0)} done already, "
        f"{counts.get('irrelevant', 0)} left out by the relevancy filter",
        soft_wrap=True,
        highlight=False,
    )
    if dry_run:
        for line in plan.describe():
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        console.print("(dry run: nothing was run or written)")


def _run_with_bar(
    plan: BackfillPlan,
    *,
    url: str,
    options: Options,
    max_concurrent: int,
    retries: int,
    scheduler: str | None,
    kubernetes: Path | None,
    workers: int | None,
    console: Any,
) -> BackfillReport:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from pipeline.backfill_errors import BackfillError
    from pipeline.backfill_interrupts import children_ignore_interrupts
    from pipeline.backfill_run import run_backfill
    from pipeline.cluster import open_client
    from pipeline.errors import ClusterError

    skipped_before = plan.found - len(plan.to_run)
    columns = (
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "stored {task.fields[stored]}  failed {task.fields[failed]}  "
            "skipped {task.fields[skipped]}"
        ),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(
            "backfill", total=len(plan.to_run), stored=0, failed=0, skipped=skipped_before
        )

        def progress(result: Any, counts: dict[str, int]) -> None:
            bar.update(
                task,
                advance=1,
                stored=counts.get("stored", 0),
                failed=counts.get("failed", 0),
                skipped=skipped_before + counts.get("done", 0) + counts.get("claimed", 0),
            )
            if result.status == "failed":
                bar.console.print(f"[red]failed[/] {result.log_line()[12:]}", highlight=False)

        try:
            with contextlib.ExitStack() as stack:
                with children_ignore_interrupts():
                    client = stack.enter_context(
                        open_client(scheduler=scheduler, kubernetes=kubernetes, n_workers=workers)
                    )
                return run_backfill(
                    plan,
                    client=client,
                    database_url=url,
                    options=options,
                    max_concurrent=max_concurrent,
                    retries=retries,
                    progress=progress,
                )
        except (ClusterError, BackfillError) as exc:
            raise _fail(exc) from exc


def print_report(report: BackfillReport, *, console: Any) -> None:
    """A summary table of a backfill: scenes per status, the failures with their reasons."""
    from rich.table import Table

    counts = report.counts()
    table = Table(title=f"backfill (trigger {report.trigger_id})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for status in ("stored", "failed", "done", "claimed", "irrelevant", "not-started"):
        if counts.get(status):
            table.add_row(status, str(counts[status]))
    slicks = sum(r.slicks for r in report.results)
    table.add_row("slicks stored", str(slicks))
    if report.reaped:
        table.add_row("interrupted runs closed", ", ".join(map(str, report.reaped)))
    table.add_row("time", f"{report.seconds:.1f} s")
    console.print(table)
    for result in report.with_status("failed"):
        console.print(f"failed {result.log_line()[12:]}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``slickwatch backfill`` to the ``slickwatch`` app."""
    app.command("backfill")(backfill_command)
