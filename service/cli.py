"""The ``slickwatch`` command. Each package adds its own subcommands through ``register(app)``."""

from __future__ import annotations

import logging

import typer

from catalog import cli as catalog_cli
from model import cli as model_cli
from pipeline import cli as pipeline_cli
from schema import cli as schema_cli
from service import commands as service_commands

app = typer.Typer(
    name="slickwatch",
    help="Find oil slicks in Sentinel-1 scenes, keep them in PostGIS, serve them over OGC API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
) -> None:
    """Find oil slicks in Sentinel-1 scenes, keep them in PostGIS, serve them over OGC API."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for _module in (schema_cli, catalog_cli, model_cli, pipeline_cli, service_commands):
    _module.register(app)
