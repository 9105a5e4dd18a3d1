"""Serving the app with uvicorn, in this process: ``slickwatch serve``, tests and benchmarks.

pygeoapi's own ``pygeoapi serve`` always runs uvicorn with reload and reads its configuration from
environment variables; here the app object is built first (:func:`service.app.create_app`) and
handed to uvicorn, so there is nothing to reload and no variable to set.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import STARTUP_FAILURE

from service.errors import ConfigurationError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def serve(
    app: Starlette,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    http: str = "auto",
    loop: str = "auto",
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` until interrupted (Ctrl-C or SIGTERM), as ``uvicorn.run`` does.

    ``http`` and ``loop`` are uvicorn's: ``auto`` takes httptools and uvloop when installed
    (``uvicorn[standard]``), else h11 and asyncio. ``ready`` is called once the socket listens:
    where the addresses are printed, so that whoever reads them can connect at once.
    """
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, proxy_headers=True, http=http, loop=loop
    )
    server = _Server(config, ready=ready)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``ready`` once it listens."""

    def __init__(self, config: uvicorn.Config, *, ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._ready is not None:
            self._ready()


class _TcpConfig(uvicorn.Config):
    """uvicorn's configuration, with a listening socket that says it is TCP.

    For ``--workers N`` uvicorn binds the socket itself with ``proto`` 0; the sockets it accepts
    inherit that, and asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that say
    IPPROTO_TCP, so every keep-alive request after the first waited ~40 ms for the client's
    delayed ACK (uvicorn issue 3149; a single item took 48 ms instead of 6 ms with two workers).
    """

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def serve_workers(
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    http: str = "auto",
    loop: str = "auto",
) -> None:
    """Serve with ``workers`` processes, each building its app from the environment's settings
    (:func:`service.app.app_from_environment`), until interrupted (as ``uvicorn.run`` does, with
    :class:`_TcpConfig`'s socket)."""
    from uvicorn.supervisors import Multiprocess

    config = _TcpConfig(
        "service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
        http=http,
        loop=loop,
    )
    sock = config.bind_socket()
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


@contextlib.contextmanager
def running(
    app: Starlette, *, host: str = "127.0.0.1", port: int | None = None, timeout: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` from a background thread; yields its base URL, stops it afterwards.

    Raises:
        ConfigurationError: the server did not start within ``timeout`` seconds.
    """
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigurationError(f"The server on {host}:{port} did not start.")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
