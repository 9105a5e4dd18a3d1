"""The project's private PostgreSQL + PostGIS cluster, in a data folder the project owns.

Layout of the folder (``Settings().pg_path``, by default ``./.slickwatch/pg``)::

    data/          the PostgreSQL data directory (PGDATA), created by initdb
    run/           the unix socket, when the folder's path is short enough (else a folder in the
                   system temp dir named after a hash of the path)
    cluster.json   the loopback TCP port and the socket folder, kept stable across restarts
    server.log     the server's log

The server listens on the unix socket and on ``127.0.0.1:<port>`` (pygeoapi and other clients need
a host and a port), trusts every local connection, and has one superuser, ``postgres``. Run as
root, every server command runs as the ``postgres`` system user (``runuser -u postgres --``).

Usage::

    cluster = Cluster.from_settings(get_settings())
    url = cluster.ensure()      # init if needed, start if needed, create the database with PostGIS
    cluster.stop()
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from schema.errors import (
    ClusterError,
    ClusterPermissionError,
    ClusterStartFailed,
    PostgresNotInstalled,
)

if TYPE_CHECKING:
    from schema.settings import Settings

log = logging.getLogger(__name__)

SERVER_USER = "postgres"
"""System user that owns and runs the server when slickwatch runs as root."""
SUPERUSER = "postgres"
"""Database superuser created by initdb; trusted on the socket and on loopback."""
HOST = "127.0.0.1"
"""The only address the server listens on."""
SOCKET_PATH_MAX = 107
"""Longest unix socket path the kernel accepts (``sun_path`` is 108 bytes with the NUL)."""
INSTALL_HINT = (
    "Run 'make setup' (it installs them with apt when run as root), or install them yourself: "
    "'apt-get install postgresql-15-postgis-3' on Debian/Ubuntu, or "
    "'conda env create -f environment.yml' with conda. "
    "Alternatively set SLICKWATCH_DATABASE_URL to a PostGIS database you already run."
)


@dataclass(frozen=True)
class ClusterStatus:
    """What ``slickwatch db status`` reports about the private cluster."""

    path: Path
    """The cluster's folder."""
    initialized: bool
    """Whether initdb has run in ``path/data``."""
    running: bool
    """Whether the postmaster is alive."""
    pid: int | None
    """PID of the running postmaster."""
    port: int | None
    """Loopback TCP port (the one in use when running, else the one kept for the next start)."""
    socket_dir: Path | None
    """Folder of the unix socket."""
    version: str | None
    """PostgreSQL major version of the data folder."""
    url: str | None
    """SQLAlchemy URL of the project database, when running."""


@dataclass(frozen=True)
class _Tools:
    bin_dir: Path
    share_dir: Path
    version: str


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def find_postgres_bin(explicit: Path | None = None) -> Path:
    """Folder holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``explicit`` (``SLICKWATCH_PG_BIN``) when given, and nothing else; otherwise the newest
    ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), then the folder of the ``pg_ctl`` on
    ``PATH`` (conda, Homebrew).

    Raises:
        PostgresNotInstalled: when none holds the programs; the message says how to install them.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    else:
        candidates += sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True
        )
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if all((candidate / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    if explicit is not None:
        raise PostgresNotInstalled(
            f"SLICKWATCH_PG_BIN={explicit} does not hold initdb, pg_ctl and postgres. "
            "Point it at the 'bin' folder of a PostgreSQL installation, or unset it."
        )
    raise PostgresNotInstalled(
        "PostgreSQL server programs (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin "
        "nor on PATH. " + INSTALL_HINT
    )


def _tools(explicit: Path | None) -> _Tools:
    bin_dir = find_postgres_bin(explicit)
    share_dir = None
    if (bin_dir / "pg_config").exists():
        out = subprocess.run(
            [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0 and out.stdout.strip():
            share_dir = Path(out.stdout.strip())
    if share_dir is None:  # Debian: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
        share_dir = Path("/usr/share/postgresql") / bin_dir.parent.name
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    version = match.group(1) if match else bin_dir.parent.name
    if not (share_dir / "extension" / "postgis.control").exists():
        raise PostgresNotInstalled(
            f"PostgreSQL {version} is installed ({bin_dir}) but the PostGIS extension is not "
            f"({share_dir / 'extension' / 'postgis.control'} is missing). "
            f"Install 'postgresql-{version}-postgis-3'. " + INSTALL_HINT
        )
    return _Tools(bin_dir=bin_dir, share_dir=share_dir, version=version)


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as PostgreSQL binds: connections of the previous run in TIME_WAIT do not hold the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _process_alive(pid: int, *, data_dir: Path | None = None) -> bool:
    """Whether ``pid`` is a live process (not a zombie), and a postgres on ``data_dir`` if given."""
    proc = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        except PermissionError:
            return True
        if state in ("Z", "X") or not cmdline:
            return False
        if data_dir is not None:
            return b"postgres" in cmdline and str(data_dir).encode() in cmdline
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _shm_attached(shmid: int) -> int:
    """Number of processes attached to System V shared memory segment ``shmid`` (0 if gone)."""
    table = Path("/proc/sysvipc/shm")
    if not table.exists():
        return 0
    lines = table.read_text().splitlines()
    header = lines[0].split()
    for line in lines[1:]:
        fields = dict(zip(header, line.split(), strict=False))
        if fields.get("shmid") == str(shmid):
            return int(fields.get("nattch", "0"))
    return 0


class Cluster:
    """A PostgreSQL + PostGIS cluster living in ``path``, started and stopped on demand.

    Args:
        path: the cluster's folder (created if missing).
        database: the project database created by :meth:`ensure`.
        fsync: ``False`` turns off fsync and full page writes: faster, and committed data still
            survives a crashed server (kill -9) but not a crashed machine (tests use it).
        bin_dir: folder of initdb/pg_ctl; default: the newest installed PostgreSQL.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        database: str = "slickwatch",
        fsync: bool = True,
        bin_dir: Path | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        self.database = database
        self.fsync = fsync
        self._bin_dir = bin_dir
        self._tools_cache: _Tools | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Cluster:
        """The cluster that ``settings`` describe (``pg_path``, ``database_name``, ``pg_fsync``)."""
        return cls(
            settings.pg_path,
            database=settings.database_name,
            fsync=settings.pg_fsync,
            bin_dir=settings.pg_bin,
        )

    def __repr__(self) -> str:
        return f"Cluster({str(self.path)!r}, database={self.database!r})"

    # ----------------------------------------------------------------------------- paths and state

    @property
    def data_dir(self) -> Path:
        """PGDATA."""
        return self.path / "data"

    @property
    def log_file(self) -> Path:
        """The server's log file."""
        return self.path / "server.log"

    @property
    def _state_file(self) -> Path:
        return self.path / "cluster.json"

    @property
    def initialized(self) -> bool:
        """Whether initdb has run here."""
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def tools(self) -> _Tools:
        """The PostgreSQL installation used (found on first use)."""
        if self._tools_cache is None:
            self._tools_cache = _tools(self._bin_dir)
        return self._tools_cache

    def _read_state(self) -> dict[str, object]:
        try:
            return json.loads(self._state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write_state(self, **state: object) -> None:
        tmp = self._state_file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str))
        tmp.replace(self._state_file)

    def _socket_dir_for(self, port: int) -> Path:
        """``path/run`` when the socket path fits the kernel's limit, else a short temp folder."""
        local = self.path / "run"
        if len(f"{local}/.s.PGSQL.{port}") <= SOCKET_PATH_MAX:
            return local
        digest = hashlib.sha1(str(self.path).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"slickwatch-pg-{digest}"

    # ----------------------------------------------------------------------------- running commands

    def _as_server_user(self) -> bool:
        return _is_root()

    def _run(
        self, args: list[str], *, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a server program, as the ``postgres`` user when we are root."""
        cmd = list(args)
        if self._as_server_user():
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ClusterError(
                    "slickwatch runs as root, and PostgreSQL refuses to run as root, but "
                    "'runuser' (util-linux) is missing. Install util-linux, or run slickwatch as a "
                    "normal user."
                )
            cmd = [runuser, "-u", SERVER_USER, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        log.debug("running %s", " ".join(cmd))
        result = subprocess.run(
            cmd, cwd=self.path, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"'{' '.join(args[:2])}' failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        return result

    def _chown(self, path: Path, *, recursive: bool = False) -> None:
        if not self._as_server_user():
            return
        user = pwd.getpwnam(SERVER_USER)
        paths: Iterator[Path] = iter([path])
        if recursive:
            paths = iter([path, *path.rglob("*")])
        for item in paths:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(item, user.pw_uid, user.pw_gid)

    def _check_reachable(self, folder: Path) -> None:
        """As root, make sure the ``postgres`` user can reach ``folder`` (parents searchable)."""
        if not self._as_server_user():
            return
        try:
            user = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise ClusterError(
                f"slickwatch runs as root but there is no '{SERVER_USER}' system user to run the "
                "server as. Install PostgreSQL from your distribution (it creates the user), or "
                "run slickwatch as a normal user."
            ) from exc
        for parent in folder.parents:
            st = parent.stat()
            if st.st_uid == user.pw_uid:
                continue
            searchable = st.st_mode & stat.S_IXOTH or (
                st.st_gid == user.pw_gid and st.st_mode & stat.S_IXGRP
            )
            if not searchable:
                raise ClusterPermissionError(
                    f"The '{SERVER_USER}' user, which runs the database server, cannot reach "
                    f"{folder}: {parent} is not searchable by it (mode "
                    f"{stat.filemode(st.st_mode)}). Put the cluster in a folder other users can "
                    f"reach (set SLICKWATCH_PG_DIR), or run 'chmod o+x {parent}'."
                )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize init/start/stop of this folder across processes."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ----------------------------------------------------------------------------- lifecycle

    def init(self) -> None:
        """Create the data folder with initdb (superuser ``postgres``, trust auth); once only."""
        with self._locked():
            self._init_locked()

    def _init_locked(self) -> None:
        if self.initialized:
            return
        tools = self.tools
        self._check_reachable(self.path)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(
                f"{self.data_dir} exists, is not empty, and is not a PostgreSQL data folder. "
                "Move it away or choose another folder with SLICKWATCH_PG_DIR."
            )
        self._chown(self.path, recursive=True)
        log.info("initializing a PostgreSQL %s cluster in %s", tools.version, self.data_dir)
        args = [
            str(tools.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]
        if not self.fsync:
            args.append("--no-sync")
        self._run(args)
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\n# slickwatch: port, socket and durability are set in this file\n")
            handle.write("include_if_exists = 'slickwatch.conf'\n")

    def _write_conf(self, port: int, socket_dir: Path) -> None:
        durability = "on" if self.fsync else "off"
        lines = [
            "# Written by slickwatch at every start; edit schema/cluster.py rather than this.",
            f"listen_addresses = '{HOST}'",
            f"port = {port}",
            f"unix_socket_directories = '{socket_dir}'",
            f"fsync = {durability}",
            f"full_page_writes = {durability}",
            "max_connections = 200",
            "shared_buffers = 64MB",
            "log_min_messages = warning",
            "log_line_prefix = '%m [%p] '",
        ]
        target = self.data_dir / "slickwatch.conf"
        tmp = self.data_dir / "slickwatch.conf.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(target)
        self._chown(target)

    def _postmaster_pid_file(self) -> tuple[int, list[str]] | None:
        """PID and lines of ``postmaster.pid``, or ``None`` when absent or unreadable."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), lines
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def _running_pid(self) -> int | None:
        info = self._postmaster_pid_file()
        if info is None:
            return None
        pid, _ = info
        return pid if _process_alive(pid, data_dir=self.data_dir) else None

    def status(self) -> ClusterStatus:
        """Whether the cluster is initialized and running, with its pid, port, socket and URL."""
        state = self._read_state()
        pid = self._running_pid() if self.initialized else None
        port = None
        socket_dir = None
        if pid is not None:
            _, lines = self._postmaster_pid_file() or (0, [])
            if len(lines) >= 5:
                port = int(lines[3])
                socket_dir = Path(lines[4]) if lines[4] else None
        else:
            port = int(state["port"]) if "port" in state else None
            socket_dir = Path(str(state["socket_dir"])) if "socket_dir" in state else None
        version = None
        with contextlib.suppress(FileNotFoundError):
            version = (self.data_dir / "PG_VERSION").read_text().strip()
        return ClusterStatus(
            path=self.path,
            initialized=self.initialized,
            running=pid is not None,
            pid=pid,
            port=port,
            socket_dir=socket_dir,
            version=version,
            url=self.url() if pid is not None and port is not None else None,
        )

    def _recover_stale_pid(self) -> None:
        """Remove ``postmaster.pid`` left by a server that died (kill -9, power loss)."""
        info = self._postmaster_pid_file()
        if info is None:
            return
        pid, lines = info
        if _process_alive(pid, data_dir=self.data_dir):
            return
        log.warning(
            "%s: the server (PID %d) is not running but left postmaster.pid; recovering",
            self.path,
            pid,
        )
        # The dead postmaster's children exit once they notice; wait until none is attached to its
        # shared memory, so that the new server never runs beside a leftover backend.
        shmid = None
        if len(lines) >= 7 and len(lines[6].split()) == 2:
            shmid = int(lines[6].split()[1])
        deadline = time.monotonic() + 30
        while shmid is not None and _shm_attached(shmid) > 0:
            if time.monotonic() > deadline:
                raise ClusterStartFailed(
                    f"Processes of the crashed server in {self.data_dir} still hold its shared "
                    f"memory (segment {shmid}) after 30 s. Stop them ('ps -u {SERVER_USER}') and "
                    "run 'slickwatch db start' again."
                )
            time.sleep(0.2)
        if shmid is not None and shutil.which("ipcrm"):
            with contextlib.suppress(ClusterError, subprocess.SubprocessError):
                self._run(["ipcrm", "-m", str(shmid)], check=False)
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        if len(lines) >= 5 and lines[4]:
            lock = Path(lines[4]) / f".s.PGSQL.{lines[3]}.lock"
            with contextlib.suppress(OSError):
                lock.unlink(missing_ok=True)

    def start(self, *, timeout: float = 60) -> ClusterStatus:
        """Start the server (initializing the folder first if needed). No-op when it runs.

        Keeps the TCP port of the previous start unless something else took it.

        Raises:
            PostgresNotInstalled: no PostgreSQL/PostGIS installation.
            ClusterPermissionError: the server user cannot reach the folder.
            ClusterStartFailed: the server did not come up; the message holds the log's end.
        """
        with self._locked():
            self._init_locked()
            if self._running_pid() is not None:
                log.debug("%s already running", self.path)
                return self.status()
            self._recover_stale_pid()
            state = self._read_state()
            previous = int(state["port"]) if "port" in state else None
            for attempt in range(3):
                if previous is not None and attempt == 0 and _port_is_free(previous):
                    port = previous
                else:
                    port = free_port()
                socket_dir = self._socket_dir_for(port)
                socket_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
                self._chown(socket_dir)
                self._write_conf(port, socket_dir)
                self._write_state(port=port, socket_dir=str(socket_dir), version=self.tools.version)
                self._chown(self._state_file)
                if not self.log_file.exists():
                    self.log_file.touch()
                    self._chown(self.log_file)
                log_offset = self.log_file.stat().st_size
                result = self._run(
                    [
                        str(self.tools.bin_dir / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_file),
                        "-w",
                        "-t",
                        str(int(timeout)),
                        "start",
                    ],
                    check=False,
                    timeout=timeout + 30,
                )
                if result.returncode == 0:
                    log.info("PostgreSQL running in %s on %s:%d", self.path, HOST, port)
                    return self.status()
                with self.log_file.open() as handle:
                    handle.seek(log_offset)
                    tail = handle.read()[-3000:]
                if "could not bind" in tail or "Address already in use" in tail:
                    log.warning("port %d was taken while starting; trying another", port)
                    previous = None
                    continue
                break
            raise ClusterStartFailed(
                f"PostgreSQL did not start in {self.data_dir} (pg_ctl exit {result.returncode}). "
                f"Server log ({self.log_file}):\n{tail.strip() or result.stderr.strip()}"
            )

    def stop(self, *, timeout: float = 60) -> bool:
        """Stop the server (fast shutdown). Returns whether it was running."""
        with self._locked():
            pid = self._running_pid() if self.initialized else None
            if pid is None:
                self._recover_stale_pid()
                return False
            pg_ctl = str(self.tools.bin_dir / "pg_ctl")
            result = self._run(
                [
                    pg_ctl,
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "stop",
                ],
                check=False,
                timeout=timeout + 30,
            )
            if result.returncode != 0 and self._running_pid() is not None:
                log.warning(
                    "fast shutdown failed (%s); stopping immediately", result.stderr.strip()
                )
                self._run([pg_ctl, "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"])
            deadline = time.monotonic() + timeout
            while _process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            socket_dir = self._read_state().get("socket_dir")
            if socket_dir and not Path(str(socket_dir)).is_relative_to(self.path):
                with contextlib.suppress(OSError):
                    Path(str(socket_dir)).rmdir()  # the short temp folder, once empty
            log.info("PostgreSQL in %s stopped", self.path)
            return True

    def stop_with(self, pid: int, *, remove: bool = False) -> subprocess.Popen[bytes]:
        """Start a watchdog process that stops this cluster once process ``pid`` has ended.

        Args:
            pid: the process to outlive (usually ``os.getpid()``).
            remove: also delete the cluster's folder afterwards (throw-away test clusters).

        Returns:
            The watchdog process; terminate it when you stop the cluster yourself.
        """
        return subprocess.Popen(
            [sys.executable, "-m", "schema.watchdog", str(pid), str(self.path)]
            + (["--remove"] if remove else []),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    # ----------------------------------------------------------------------------- databases

    def url(self, database: str | None = None) -> str:
        """SQLAlchemy URL (psycopg2, loopback TCP) of ``database`` (default: the project's)."""
        state = self._read_state()
        if "port" not in state:
            raise ClusterError(
                f"The cluster in {self.path} has never been started: run 'slickwatch db start'."
            )
        return (
            f"postgresql+psycopg2://{SUPERUSER}@{HOST}:{state['port']}/{database or self.database}"
        )

    def connect(self, database: str = "postgres"):  # noqa: ANN201 - a psycopg2 connection
        """An autocommit psycopg2 connection as the superuser to ``database``; close it yourself."""
        import psycopg2

        status = self.status()
        if not status.running or status.port is None:
            raise ClusterError(
                f"The cluster in {self.path} is not running: run 'slickwatch db start'."
            )
        conn = psycopg2.connect(
            host=HOST, port=status.port, user=SUPERUSER, dbname=database, connect_timeout=10
        )
        conn.autocommit = True
        return conn

    def database_exists(self, name: str) -> bool:
        """Whether database ``name`` exists."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None

    def create_database(
        self, name: str, *, template: str | None = None, postgis: bool = True
    ) -> str:
        """Create database ``name`` and return its URL.

        Args:
            name: the new database.
            template: copy this database (it must have no open connection); ``None`` gives an
                empty database, with the ``postgis`` extension when ``postgis`` is true.
            postgis: create the ``postgis`` extension in an empty database.
        """
        from psycopg2 import sql

        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            if template is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            else:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
        if template is None and postgis:
            with contextlib.closing(self.connect(name)) as conn, conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, closing its connections first."""
        from psycopg2 import sql

        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def ensure(self) -> str:
        """Start the cluster if needed, create the project database with PostGIS if missing.

        Returns:
            The project database's SQLAlchemy URL.
        """
        self.start()
        if not self.database_exists(self.database):
            log.info("creating database %s with PostGIS", self.database)
            self.create_database(self.database)
        return self.url()
