"""Subcommands of ``slickwatch`` that belong to ``schema``: ``db ...`` and ``review ...``."""

from __future__ import annotations

from pathlib import Path

import typer

from schema.errors import SchemaError

db_app = typer.Typer(
    help="The project's PostGIS: start, stop, status, migrate, url.", no_args_is_help=True
)


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _cluster():  # noqa: ANN202 - schema.cluster.Cluster, imported lazily
    from schema.cluster import Cluster
    from schema.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        typer.secho(
            "note: SLICKWATCH_DATABASE_URL is set, so slickwatch uses that database, "
            "not the private cluster below.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    return Cluster.from_settings(settings)


@db_app.command("start")
def db_start() -> None:
    """Start the private PostGIS (initializing it and creating the database on first use)."""
    try:
        cluster = _cluster()
        url = cluster.ensure()
    except SchemaError as exc:
        raise _fail(exc) from exc
    status = cluster.status()
    typer.echo(f"running  pid {status.pid}  {url}  (socket {status.socket_dir})")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the private PostGIS."""
    try:
        was_running = _cluster().stop()
    except SchemaError as exc:
        raise _fail(exc) from exc
    typer.echo("stopped" if was_running else "not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the private PostGIS runs, where, and at which migration."""
    from schema.migrate import current, heads

    try:
        cluster = _cluster()
        status = cluster.status()
    except SchemaError as exc:
        raise _fail(exc) from exc
    typer.echo(f"folder   {status.path}")
    if not status.initialized:
        typer.echo("state    not initialized (run 'slickwatch db start')")
        raise typer.Exit(code=3)
    typer.echo(f"version  PostgreSQL {status.version}")
    if not status.running:
        typer.echo(f"state    stopped (port {status.port} kept for the next start)")
        raise typer.Exit(code=3)
    typer.echo(f"state    running, pid {status.pid}")
    typer.echo(f"url      {status.url}")
    typer.echo(f"socket   {status.socket_dir}")
    if cluster.database_exists(cluster.database):
        revision = current(cluster.url())
        head = ", ".join(heads()) or "none"
        note = "up to date" if revision in heads() else "run 'slickwatch db migrate'"
        typer.echo(f"schema   {revision or 'not migrated'} (head {head}: {note})")


@db_app.command("migrate")
def db_migrate(
    revision: str = typer.Argument("head", help="Target revision (default: the newest)."),
    downgrade: bool = typer.Option(False, "--downgrade", help="Go down to REVISION instead."),
) -> None:
    """Migrate the database (the private PostGIS, or SLICKWATCH_DATABASE_URL) to a revision."""
    from schema import migrate
    from schema.database import database_url

    try:
        url = database_url()
        if downgrade:
            migrate.downgrade(url, revision)
        else:
            migrate.upgrade(url, revision)
        typer.echo(f"database at {migrate.current(url) or 'base'}")
    except SchemaError as exc:
        raise _fail(exc) from exc


@db_app.command("url")
def db_url(
    libpq: bool = typer.Option(
        False, "--libpq", help="Print a plain postgresql:// URL (for psql, ogr2ogr, QGIS)."
    ),
) -> None:
    """Print the database URL (starting the private PostGIS if it is the one in use)."""
    from sqlalchemy.engine import make_url

    from schema.database import database_url

    try:
        url = database_url()
    except SchemaError as exc:
        raise _fail(exc) from exc
    if libpq:
        url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    typer.echo(url)


review_app = typer.Typer(
    help="Review slicks: validate, reclassify, merge, split, note, history.", no_args_is_help=True
)

_CONFIDENCE = typer.Option(
    None, "--confidence", "-c", min=0.0, max=1.0, help="Your confidence, 0 to 1."
)
_REVIEWER = typer.Option(None, "--reviewer", "-r", help="Who reviews (default: your user name).")
_CLASS = typer.Option(None, "--class", help="Class short name, e.g. VESSEL, NATURAL, ARTEFACT.")


def _reviewer(name: str | None) -> str:
    import getpass

    return name or getpass.getuser()


def _review(action, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """Run a review operation; print its error (and exit 1) instead of a traceback."""
    from schema.errors import SchemaError

    try:
        return action(*args, **kwargs)
    except SchemaError as exc:
        raise _fail(exc) from exc


@review_app.command("validate")
def review_validate(
    slick_id: int = typer.Argument(..., help="The slick to validate."),
    confidence: float = typer.Option(
        ..., "--confidence", "-c", min=0.0, max=1.0, help="Your confidence, 0 to 1."
    ),
    slick_class: str | None = _CLASS,
    reviewer: str | None = _REVIEWER,
) -> None:
    """Confirm a slick with your confidence (and its class, if it changes)."""
    from schema import review

    new_id = _review(
        review.validate,
        slick_id,
        human_confidence=confidence,
        slick_class=slick_class,
        reviewer=_reviewer(reviewer),
    )
    typer.echo(f"slick {slick_id} validated as {new_id}")


@review_app.command("reclassify")
def review_reclassify(
    slick_id: int = typer.Argument(..., help="The slick to reclassify."),
    slick_class: str = typer.Argument(..., help="New class short name, e.g. NATURAL."),
    confidence: float | None = _CONFIDENCE,
    reviewer: str | None = _REVIEWER,
) -> None:
    """Give a slick another class."""
    from schema import review

    new_id = _review(
        review.reclassify,
        slick_id,
        slick_class,
        human_confidence=confidence,
        reviewer=_reviewer(reviewer),
    )
    typer.echo(f"slick {slick_id} reclassified as {slick_class}: {new_id}")


@review_app.command("merge")
def review_merge(
    slick_ids: list[int] = typer.Argument(..., help="Two or more slicks to merge."),
    slick_class: str | None = _CLASS,
    confidence: float | None = _CONFIDENCE,
    reviewer: str | None = _REVIEWER,
) -> None:
    """Merge two or more slicks into one."""
    from schema import review

    new_id = _review(
        review.merge,
        slick_ids,
        slick_class=slick_class,
        human_confidence=confidence,
        reviewer=_reviewer(reviewer),
    )
    typer.echo(f"slicks {', '.join(map(str, slick_ids))} merged into {new_id}")


@review_app.command("split")
def review_split(
    slick_id: int = typer.Argument(..., help="The slick to split."),
    parts: int | None = typer.Option(
        None, "--parts", "-n", min=2, help="Cut it into this many parts along its length."
    ),
    geojson: Path | None = typer.Option(
        None,
        "--geojson",
        exists=True,
        dir_okay=False,
        help="A GeoJSON file (EPSG:4326) whose polygons are the parts.",
    ),
    slick_class: str | None = _CLASS,
    confidence: float | None = _CONFIDENCE,
    reviewer: str | None = _REVIEWER,
) -> None:
    """Split a slick into parts (a number of parts, or polygons from a GeoJSON file)."""
    from schema import review

    if (parts is None) == (geojson is None):
        raise _fail(ValueError("Give either --parts N or --geojson FILE."))
    shapes = _read_geojson_parts(geojson) if geojson is not None else parts
    new_ids = _review(
        review.split,
        slick_id,
        shapes,
        slick_class=slick_class,
        human_confidence=confidence,
        reviewer=_reviewer(reviewer),
    )
    typer.echo(f"slick {slick_id} split into {', '.join(map(str, new_ids))}")


def _read_geojson_parts(path: Path) -> list:
    import json

    import shapely.geometry

    try:
        data = json.loads(path.read_text())
        if data.get("type") == "FeatureCollection":
            geometries = [f["geometry"] for f in data["features"]]
        elif data.get("type") == "Feature":
            geometries = [data["geometry"]]
        else:
            geometries = [data]
        shapes = [shapely.geometry.shape(g) for g in geometries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _fail(ValueError(f"{path} is not GeoJSON with polygons: {exc}")) from exc
    if len(shapes) == 1 and shapes[0].geom_type == "MultiPolygon":
        shapes = list(shapes[0].geoms)
    return shapes


@review_app.command("note")
def review_note(
    slick_id: int = typer.Argument(..., help="The slick to annotate."),
    text: str = typer.Argument(..., help="The note (replaces the current one; history keeps it)."),
    confidence: float | None = _CONFIDENCE,
    reviewer: str | None = _REVIEWER,
) -> None:
    """Set a slick's note (an action taken, a reference id, ...)."""
    from schema import review

    new_id = _review(
        review.note, slick_id, text, human_confidence=confidence, reviewer=_reviewer(reviewer)
    )
    typer.echo(f"slick {slick_id} annotated as {new_id}")


@review_app.command("history")
def review_history(slick_id: int = typer.Argument(..., help="The slick.")) -> None:
    """Show a slick and every row it came from."""
    from rich.console import Console
    from rich.table import Table

    from schema import review

    entries = _review(review.history, slick_id)
    table = Table(title=f"History of slick {slick_id}")
    for column in ("id", "depth", "created", "active", "validated", "class", "human", "machine"):
        table.add_column(column)
    for column in ("from", "reviewer", "notes"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.id),
            str(e.depth),
            e.create_time.strftime("%Y-%m-%d %H:%M:%S"),
            "yes" if e.active else "no",
            "yes" if e.validated else "no",
            e.slick_class,
            "" if e.human_confidence is None else f"{e.human_confidence:.2f}",
            "" if e.machine_confidence is None else f"{e.machine_confidence:.2f}",
            ", ".join(map(str, e.precursors)),
            e.reviewer or "",
            e.notes or "",
        )
    Console(width=160).print(table)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    app.add_typer(
        db_app, name="db", help="The project's PostGIS: start, stop, status, migrate, url."
    )
    app.add_typer(
        review_app,
        name="review",
        help="Review slicks: validate, reclassify, merge, split, note, history.",
    )
