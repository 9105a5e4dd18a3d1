"""Subcommands of ``slickwatch`` that belong to ``service``: ``serve`` and ``apikey ...``."""

from __future__ import annotations

from enum import StrEnum

import typer

apikey_app = typer.Typer(
    help="API keys of the service: create, list, revoke.", no_args_is_help=True
)


class HttpParser(StrEnum):
    """uvicorn's HTTP/1.1 implementations."""

    auto = "auto"
    httptools = "httptools"
    h11 = "h11"


class EventLoop(StrEnum):
    """uvicorn's event loops."""

    auto = "auto"
    uvloop = "uvloop"
    asyncio = "asyncio"


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default: settings host)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: settings port)."),
    public_url: str | None = typer.Option(
        None, help="URL clients reach the service at, if not http://HOST:PORT (a proxy)."
    ),
    workers: int = typer.Option(1, min=1, help="Server processes (each with its own app)."),
    log_level: str = typer.Option("info", help="uvicorn's log level."),
    http: HttpParser = typer.Option(
        HttpParser.auto, help="HTTP parser: auto (httptools if installed), httptools or h11."
    ),
    loop: EventLoop = typer.Option(
        EventLoop.auto, help="Event loop: auto (uvloop if installed), uvloop or asyncio."
    ),
) -> None:
    """Serve OGC API - Features, jobs, review endpoints and the map page."""
    import importlib.util
    import os

    from schema.errors import SchemaError
    from schema.settings import get_settings
    from service.app import create_app
    from service.errors import ServiceError
    from service.server import serve as run
    from service.server import serve_workers

    for chosen in (http.value, loop.value):
        if chosen in ("httptools", "uvloop") and importlib.util.find_spec(chosen) is None:
            raise _fail(
                RuntimeError(
                    f"--{'http' if chosen == 'httptools' else 'loop'} {chosen} needs the "
                    f"{chosen} package: pip install {chosen} (or 'uvicorn[standard]'), or leave "
                    "the option at auto."
                )
            )
    settings = get_settings(host=host, port=port, public_url=public_url)
    try:
        app = create_app(settings)  # also checks the settings before any worker starts
    except (SchemaError, ServiceError) as exc:
        raise _fail(exc) from exc
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    line = f"slickwatch at {base}/  (map: {base}/map, API: {base}/openapi?f=html)"
    if workers == 1:
        run(
            app,
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            http=http.value,
            loop=loop.value,
            ready=lambda: typer.echo(line),  # once it listens: the links work when shown
        )
        return
    typer.echo(line)
    # worker processes read their settings from the environment: pass the options on
    for name, value in (("HOST", host), ("PORT", port), ("PUBLIC_URL", public_url)):
        if value is not None:
            os.environ[f"SLICKWATCH_{name}"] = str(value)
    serve_workers(
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=log_level,
        http=http.value,
        loop=loop.value,
    )


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Argument(..., help="Who or what will use the key."),
    scope: list[str] = typer.Option(
        ["read"],
        "--scope",
        "-s",
        help="What it may do: read, review, orchestrate, admin (repeat for several).",
    ),
) -> None:
    """Make an API key and print it (it is shown this once)."""
    from schema.api_keys import create_api_key
    from schema.errors import SchemaError
    from service.errors import ServiceError
    from service.keys import check_scopes

    try:
        key, info = create_api_key(name, scopes=check_scopes(scope))
    except (SchemaError, ServiceError) as exc:
        raise _fail(exc) from exc
    typer.secho(key, bold=True)
    typer.echo(
        f"key of {info.name!r} (scopes {', '.join(info.scopes)}). Keep it now: only its hash "
        "is stored. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
        err=True,
    )


@apikey_app.command("list")
def apikey_list(
    all_: bool = typer.Option(False, "--all", "-a", help="Show revoked keys too."),
) -> None:
    """List the API keys (never the keys themselves)."""
    from rich.console import Console
    from rich.table import Table

    from schema.api_keys import list_api_keys
    from schema.errors import SchemaError

    try:
        keys = list_api_keys()
    except SchemaError as exc:
        raise _fail(exc) from exc
    table = Table(title="API keys")
    for column in ("name", "prefix", "scopes", "created", "last used", "revoked"):
        table.add_column(column)
    for info in keys:
        if info.revoked is not None and not all_:
            continue
        table.add_row(
            info.name,
            f"{info.prefix}...",
            ", ".join(info.scopes),
            f"{info.created:%Y-%m-%d %H:%M}",
            f"{info.last_used:%Y-%m-%d %H:%M}" if info.last_used else "",
            f"{info.revoked:%Y-%m-%d %H:%M}" if info.revoked else "",
        )
    Console(width=120).print(table)


@apikey_app.command("revoke")
def apikey_revoke(name: str = typer.Argument(..., help="Name of the key to revoke.")) -> None:
    """Revoke the valid API key of NAME; requests with it get 401 from now on."""
    from schema.api_keys import revoke_api_key
    from schema.errors import SchemaError

    try:
        count = revoke_api_key(name)
    except SchemaError as exc:
        raise _fail(exc) from exc
    if not count:
        raise _fail(LookupError(f"No valid key named {name!r}; see slickwatch apikey list."))
    typer.echo(f"revoked the key of {name!r}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey", help="API keys of the service: create, list, revoke.")
    __import__("service.demo", fromlist=["register"]).register(app)
