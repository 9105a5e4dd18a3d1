"""Subcommands of ``slickwatch`` that belong to ``catalog``: ``scene info`` and ``search``."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from catalog.errors import CatalogError

scene_app = typer.Typer(help="Look at one Sentinel-1 scene.", no_args_is_help=True)

_STAC_HELP = "STAC API URL or static catalog (folder or catalog.json) to look scene ids up in."


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _bbox(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not W,S,E,N in degrees, e.g. -76,34,-73,37"
        ) from None
    if len(values) != 4:
        raise typer.BadParameter(f"{text!r} has {len(values)} numbers; a bbox is W,S,E,N.")
    return values


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@scene_app.command("info")
def scene_info(
    ref: str = typer.Argument(..., help="Scene id, STAC item file/URL, or GRD measurement file."),
    stac: str | None = typer.Option(None, "--stac", envvar="SLICKWATCH_STAC_URL", help=_STAC_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Show a scene's parsed id, footprint, assets and relevancy."""
    from rich.console import Console
    from rich.table import Table

    from catalog.footprint import footprint_bbox, footprint_geojson
    from catalog.relevancy import check_relevancy
    from catalog.scene import resolve_scene

    try:
        scene = resolve_scene(ref, stac=stac)
        relevancy = check_relevancy(scene)
    except CatalogError as exc:
        raise _fail(exc) from exc
    sid = scene.sid
    if as_json:
        doc = {
            "scene_id": scene.scene_id,
            "mission": sid.mission,
            "mode": sid.mode,
            "product_type": sid.product_type_code,
            "polarization": sid.polarization,
            "start": scene.start.isoformat(),
            "stop": scene.stop.isoformat(),
            "absolute_orbit": sid.absolute_orbit,
            "relative_orbit": sid.relative_orbit,
            "datatake_id": sid.datatake_id,
            "unique_id": sid.unique_id,
            "georeferencing": scene.georeferencing,
            "epsg": scene.epsg,
            "simulated": scene.simulated,
            "footprint": footprint_geojson(scene.footprint),
            "bbox": footprint_bbox(scene.footprint),
            "assets": [
                {
                    "polarization": a.polarization,
                    "href": a.href,
                    "kind": a.kind,
                    "calibration_constant": a.calibration_constant,
                    "shape": list(a.shape) if a.shape else None,
                }
                for a in scene.assets
            ],
            "labels": scene.labels,
            "relevant": relevancy.relevant,
            "reasons": list(relevancy.reasons),
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    console = Console()
    table = Table(title=scene.scene_id, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("mission / mode", f"{sid.mission} / {sid.mode}")
    table.add_row("product", f"{sid.product_type_code} level {sid.level}, {sid.polarization}")
    table.add_row("sensing (UTC)", f"{_when(scene.start)} to {_when(scene.stop)}")
    table.add_row(
        "orbit",
        f"absolute {sid.absolute_orbit}, relative {sid.relative_orbit or '-'}, "
        f"datatake {sid.datatake_id} (0x{sid.datatake_id:06X})",
    )
    west, south, east, north = footprint_bbox(scene.footprint)
    table.add_row(
        "footprint",
        f"{scene.footprint.geom_type}, bbox {west:.3f},{south:.3f},{east:.3f},{north:.3f}",
    )
    table.add_row(
        "georeferencing",
        scene.georeferencing + (f" (EPSG:{scene.epsg})" if scene.epsg is not None else ""),
    )
    for a in scene.assets:
        k = f", K={a.calibration_constant:g}" if a.calibration_constant is not None else ""
        shape = f"{a.shape[0]}x{a.shape[1]} px, " if a.shape else ""
        table.add_row(f"asset {a.polarization}", f"{shape}{a.kind}{k}\n{a.href}")
    for key, href in scene.labels.items():
        table.add_row(f"label {key}", href)
    table.add_row("simulated", "yes" if scene.simulated else "no")
    verdict = "[green]relevant[/green]" if relevancy.relevant else "[red]not relevant[/red]"
    table.add_row("relevancy", "\n".join([verdict, *relevancy.reasons]))
    console.print(table)


def search(
    stac: str = typer.Option(..., "--stac", envvar="SLICKWATCH_STAC_URL", help=_STAC_HELP),
    bbox: str | None = typer.Option(
        None, "--bbox", help="W,S,E,N in degrees (W > E crosses 180°)."
    ),
    start: str | None = typer.Option(
        None, "--start", help="Start date or time (UTC), e.g. 2020-11-01."
    ),
    end: str | None = typer.Option(None, "--end", help="End date or time (UTC), inclusive."),
    collection: list[str] | None = typer.Option(
        None, "--collection", help="Collection id (repeatable)."
    ),
    mode: str = typer.Option("IW", "--mode", help="Beam mode to keep; 'any' keeps all."),
    polarization: list[str] | None = typer.Option(
        None, "--polarization", help="Channel every scene must hold (repeatable; default VV)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many scenes."),
) -> None:
    """Search a STAC API or static catalog for Sentinel-1 scenes and print them as a table."""
    from rich.console import Console
    from rich.table import Table

    from catalog.relevancy import check_relevancy
    from catalog.search import search_scenes
    from catalog.stac import item_time_range

    datetime_ = None
    if start is not None or end is not None:
        datetime_ = [start or "..", end or ".."]
    try:
        items = search_scenes(
            stac,
            bbox=_bbox(bbox),
            datetime=datetime_,
            collections=collection or None,
            mode=None if mode.lower() == "any" else mode.upper(),
            polarizations=tuple(polarization) if polarization else ("VV",),
            limit=limit,
        )
    except CatalogError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"{len(items)} scene(s) in {stac}")
    for column in ("scene id", "start (UTC)", "mode", "channels", "orbit", "relevant"):
        table.add_column(column)
    for item in items:
        t0, _ = item_time_range(item)
        props = item.properties
        verdict = check_relevancy(item)
        table.add_row(
            item.id,
            _when(t0),
            str(props.get("sar:instrument_mode", "-")),
            ",".join(props.get("sar:polarizations", [])),
            f"{props.get('sat:relative_orbit', '-')}",
            "yes" if verdict.relevant else "no: " + "; ".join(verdict.reasons),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    from catalog.simulate import commands as simulate_commands

    app.add_typer(scene_app, name="scene")
    app.command("search")(search)
    simulate_commands.register(app)
