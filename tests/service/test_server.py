"""The listening socket of ``slickwatch serve --workers N``: connections it accepts have Nagle's
algorithm off, as single-process uvicorn's do (else each keep-alive request waits ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from service.server import _TcpConfig, free_port


def _nodelay_of_accepted(sock: socket.socket) -> int:
    """TCP_NODELAY of the server side of one connection that asyncio accepts on ``sock``."""

    async def main() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                peer = transport.get_extra_info("socket")
                accepted.set_result(peer.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            value = await asyncio.wait_for(accepted, 10)
            writer.close()
        return value

    return asyncio.run(main())


def test_worker_socket_accepts_connections_without_nagle() -> None:
    config = _TcpConfig("service.app:app_from_environment", host="127.0.0.1", port=free_port())
    sock = config.bind_socket()
    assert sock.proto == socket.IPPROTO_TCP
    assert _nodelay_of_accepted(sock) != 0


def test_a_socket_bound_like_uvicorns_would_keep_nagle() -> None:
    """What the subclass fixes: a listener made without a protocol number (uvicorn's)."""
    sock = socket.socket(socket.AF_INET)
    sock.bind(("127.0.0.1", 0))
    assert sock.proto == 0
    assert _nodelay_of_accepted(sock) == 0


def test_serve_names_the_missing_package_of_a_chosen_parser(monkeypatch) -> None:  # noqa: ANN001
    import importlib.util

    from typer.testing import CliRunner

    from service.cli import app

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "httptools" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    result = CliRunner().invoke(app, ["serve", "--http", "httptools"])
    assert result.exit_code == 1
    assert "pip install httptools" in result.output


def test_ready_is_called_once_the_socket_listens() -> None:
    """``slickwatch serve`` and ``slickwatch demo`` print their links from ``ready``: by then a
    client that reads them connects at once (printed before uvicorn bound its socket, a quick
    client was refused)."""
    import threading

    import uvicorn
    from starlette.applications import Starlette

    from service.server import _Server

    port = free_port()
    connected: list[bool] = []
    servers: list[_Server] = []

    def ready() -> None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            connected.append(True)
        except OSError:
            connected.append(False)
        servers[0].should_exit = True

    config = uvicorn.Config(Starlette(), host="127.0.0.1", port=port, log_level="warning")
    servers.append(_Server(config, ready=ready))
    thread = threading.Thread(target=servers[0].run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert connected == [True]
