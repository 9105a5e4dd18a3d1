"""Subcommands of ``slickwatch`` that belong to ``schema``: ``db ...`` and ``review ...``."""

from __future__ import annotations

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


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    app.add_typer(
        db_app, name="db", help="The project's PostGIS: start, stop, status, migrate, url."
    )
