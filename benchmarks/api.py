"""OGC API under load: 1,000,000 slicks, 8 concurrent clients on loopback.

    .venv/bin/python benchmarks/api.py [--slicks 1000000] [--clients 8] [--seconds 20]
                                       [--workers 1 [2 ...]] [--http auto|h11|httptools ...]
                                       [--keep] [--reuse]

1. A database ``slickwatch_bench_api`` in the project's private PostGIS (unset
   ``SLICKWATCH_DATABASE_URL``), migrated, is filled in bulk: 2,000 scenes over the oceans
   (one run each) and N slicks, elongated 33-vertex polygons inside their scene's footprint, over
   two years. The load is set-based (``INSERT ... SELECT generate_series``) with the slick
   triggers off and the derived columns computed in the same statement, and the secondary indexes
   dropped before and rebuilt after: row-by-row triggers would take an hour. ``--reuse`` keeps a
   database from an earlier run; ``--keep`` does not drop it at the end.
2. ``slickwatch serve`` runs in its own process (``--workers`` uvicorn processes, ``--http``
   stack); with several worker counts or stacks, one server per combination runs at once and
   they are measured in turn, kind by kind, so that a neighbour's load falls on all alike.
3. For each query kind, ``--clients`` concurrent clients (asyncio + aiohttp, one process) send
   requests for ``--seconds``: a bbox (1 degree square in a scene) + datetime (a month) page of
   100, a CQL2 attribute filter page of 100, a single item. Then the same queries' SQL (the
   provider's own statements, as the HTTP path runs them: GeoJSON text built in PostgreSQL, on
   the service's engine) runs from as many threads straight on the database.

Printed: requests, requests per second, p50 and p95 latency (ms) per kind, HTTP and raw SQL side
by side, and the load time. Also the CPU time per request of the server with the database, and
of the load generator, and what their sum allows on idle cores: on a shared machine (other jobs
running) wall-clock figures measure the neighbours too. Targets: p95 <= 250 ms and >= 100
requests/s over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATABASE = "slickwatch_bench_api"
SCENES = 2000
KINDS = ("bbox+datetime", "cql2 filter", "single item")


def _log(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------- loading

LOAD_SQL = [
    # scenes: 250 x 170 km-ish boxes over the oceans' latitudes, over two years
    """
    INSERT INTO sentinel1_grd (scene_id, mission, mode, polarization, start_time, stop_time,
                               footprint, simulated)
    SELECT format('S1A_IW_GRDH_1SDV_BENCH_%s', lpad(g::text, 6, '0')), 'S1A', 'IW', 'DV', t,
           t + interval '25 s',
           ST_MakeEnvelope(lon, lat, lon + 2.5, lat + 1.5, 4326)::geography, true
    FROM (
        SELECT g,
               timestamptz '2020-01-01' + (random() * 730) * interval '1 day' AS t,
               -170 + random() * 335 AS lon,
               -55 + random() * 108 AS lat
        FROM generate_series(1, :scenes) AS g
    ) AS s
    """,
    """
    INSERT INTO model (name, version, file_path, layers, class_map, thresholds, resolution_m,
                       tile_size_px)
    VALUES ('bench', '1', 'none', '{VV_DB}', '{"1": "VESSEL"}', '{"seed": 0.7}', 80, 512)
    """,
    """
    INSERT INTO orchestrator_run (sentinel1_grd, model, success, run_end)
    SELECT g.id, (SELECT id FROM model WHERE name = 'bench'), true, g.start_time
    FROM sentinel1_grd AS g ORDER BY g.id
    """,
    "ALTER TABLE slick DISABLE TRIGGER USER",
    # derived attributes from planar degrees scaled to metres at the slick's latitude: exact
    # geodesic ones (the trigger's) cost ~1 ms a row, an hour for a million
    """
    INSERT INTO slick (slick_timestamp, geometry, machine_confidence, orchestrator_run,
                       slick_class, area, perimeter, centroid, polsby_popper, geometry_count,
                       largest_area, median_area, length)
    SELECT t, geom::geography, conf, run, cls, a, p, ST_Centroid(geom)::geography,
           4 * pi() * a / (p * p), 1, a, a, len
    FROM (
        SELECT g.start_time + (random() * 20) * interval '1 s' AS t,
               x.geom,
               round(random()::numeric, 3)::float8 AS conf,
               r.id AS run,
               c.ids[1 + floor(random() * array_length(c.ids, 1))::int] AS cls,
               ST_Area(x.geom) * 111320 * 110574 * cos(radians(x.lat)) AS a,
               ST_Perimeter(x.geom) * 110947 * (1 + cos(radians(x.lat))) / 2 AS p,
               q.half_length * 2 * 110947 AS len
        FROM (
            SELECT i, 1 + (i % :scenes) AS scene, random() AS u, random() AS v,
                   0.005 + random() * 0.05 AS half_length, random() * pi() AS angle
            FROM generate_series(0, :slicks - 1) AS i
        ) AS q
        JOIN sentinel1_grd AS g ON g.id = q.scene  -- a fresh database: ids from 1
        JOIN orchestrator_run AS r ON r.sentinel1_grd = g.id
        CROSS JOIN (
            SELECT array_agg(id ORDER BY short_name) AS ids FROM slick_class
            WHERE short_name IN ('ANTHRO', 'INFRA', 'NATURAL', 'VESSEL')
        ) AS c
        CROSS JOIN LATERAL (
            SELECT ST_SetSRID(ST_Multi(ST_Translate(
                       ST_Rotate(ST_Scale(ST_Buffer(ST_MakePoint(0, 0), 1, 'quad_segs=8'),
                                          q.half_length, q.half_length / 8), q.angle),
                       ST_XMin(g.footprint::geometry) + 0.1 + q.u * 2.3,
                       ST_YMin(g.footprint::geometry) + 0.1 + q.v * 1.3)), 4326) AS geom,
                   ST_YMin(g.footprint::geometry) + 0.1 + q.v * 1.3 AS lat
        ) AS x
        ORDER BY q.i
    ) AS rows
    """,
    "ALTER TABLE slick ENABLE TRIGGER USER",
]


def _secondary_indexes(conn) -> list[tuple[str, str]]:  # noqa: ANN001 - SQLAlchemy Connection
    import sqlalchemy as sa

    return [
        (row.indexname, row.indexdef)
        for row in conn.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'slick' "
                "AND indexname <> 'pk_slick'"
            )
        )
    ]


def load(url: str, *, slicks: int) -> float:
    """Fill a migrated, empty database; returns the seconds it took."""
    import sqlalchemy as sa

    from schema.database import engine_for

    started = time.perf_counter()
    engine = engine_for(url)
    with engine.begin() as conn:
        indexes = _secondary_indexes(conn)
        for name, _ in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
        for statement in LOAD_SQL:
            conn.execute(sa.text(statement), {"scenes": SCENES, "slicks": slicks})
        _log(f"  rows in {time.perf_counter() - started:.0f} s; rebuilding {len(indexes)} indexes")
        conn.execute(sa.text("SET maintenance_work_mem = '512MB'"))
        for _, definition in indexes:
            conn.execute(sa.text(definition))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def prepare_database(*, slicks: int, reuse: bool) -> tuple[str, object, float | None]:
    """The benchmark database's URL, the cluster (to drop it), and the load time (None: reused)."""
    import sqlalchemy as sa

    from schema.cluster import Cluster
    from schema.database import engine_for
    from schema.migrate import upgrade
    from schema.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        raise SystemExit(
            "Unset SLICKWATCH_DATABASE_URL: the benchmark makes its own database in the private "
            "cluster."
        )
    cluster = Cluster.from_settings(settings)
    cluster.ensure()
    if cluster.database_exists(DATABASE):
        url = cluster.url(DATABASE)
        with engine_for(url).connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM slick")).scalar_one()
        if reuse and count == slicks:
            upgrade(url, "head")  # migrations newer than the database (indexes, views)
            _log(f"reusing {DATABASE} ({count:,} slicks)")
            return url, cluster, None
        cluster.drop_database(DATABASE)
    url = cluster.create_database(DATABASE)
    upgrade(url, "head")
    _log(f"loading {slicks:,} slicks over {SCENES:,} scenes into {DATABASE} ...")
    seconds = load(url, slicks=slicks)
    return url, cluster, seconds


# ------------------------------------------------------------------------------------ requests


@dataclass(frozen=True)
class Scene:
    """What a bbox + datetime request is drawn from."""

    west: float
    south: float
    day: float
    """Start time, seconds since the epoch."""


def scenes_of(url: str) -> list[Scene]:
    import sqlalchemy as sa

    from schema.database import engine_for

    with engine_for(url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT ST_XMin(footprint::geometry), ST_YMin(footprint::geometry), "
                "extract(epoch FROM start_time) FROM sentinel1_grd"
            )
        ).all()
    return [Scene(float(w), float(s), float(t)) for w, s, t in rows]


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def request_params(kind: str, rng: random.Random, scenes: list[Scene], slicks: int) -> dict:
    """Query of one request: the collection items path's parameters, or an item id."""
    if kind == "bbox+datetime":
        scene = rng.choice(scenes)
        west = scene.west + rng.uniform(0, 1.5)
        south = scene.south + rng.uniform(0, 0.5)
        return {
            "bbox": f"{west:.4f},{south:.4f},{west + 1:.4f},{south + 1:.4f}",
            "datetime": f"{_iso(scene.day - 15 * 86400)}/{_iso(scene.day + 15 * 86400)}",
            "limit": 100,
        }
    if kind == "cql2 filter":
        threshold = rng.uniform(0.5, 0.99)
        klass = rng.choice(("VESSEL", "INFRA", "NATURAL"))
        return {
            "filter": f"machine_confidence > {threshold:.3f} AND class_short_name = '{klass}'",
            "filter-lang": "cql2-text",
            "limit": 100,
        }
    return {"id": rng.randint(1, slicks)}


class CpuMeter:
    """CPU seconds used by some processes, with their descendants unless ``children=False``
    (the load generator: the servers it started are its children)."""

    def __init__(self, *pids: int, children: bool = True):
        import psutil

        self.roots = [psutil.Process(pid) for pid in pids]
        self.children = children

    def seconds(self) -> float:
        import psutil

        total = 0.0
        for root in self.roots:
            family = root.children(recursive=True) if self.children else []
            for process in [root, *family]:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                total += times.user + times.system
        return total


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def _http_run(
    base: str, kind: str, *, clients: int, seconds: float, scenes: list[Scene], slicks: int
) -> tuple[int, float, list[float], int]:
    """``clients`` clients, each on its own keep-alive connection, one request at a time, for
    ``seconds``: (requests, seconds, latencies, non-200 answers).

    aiohttp, for its C HTTP parser: httpx parses answers in Python and spent ~9 ms of CPU per
    100-slick page (170 kB), as much as the server and the database together, on the same cores.
    """
    import aiohttp

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client_loop(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
            while time.perf_counter() < deadline:
                params = request_params(kind, rng, scenes, slicks)
                if "id" in params:
                    path, query = f"/collections/slicks/items/{params['id']}", {"f": "json"}
                else:
                    path, query = "/collections/slicks/items", {"f": "json", **params}
                start = time.perf_counter()
                async with client.get(path, params=query) as response:
                    await response.read()
                    status = response.status
                latencies.append(time.perf_counter() - start)
                if status != 200:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(1000 * i + len(kind)) for i in range(clients)))
    return len(latencies), time.perf_counter() - started, latencies, errors


def _sql_run(
    statement_for: Callable[[dict], object],
    url: str,
    kind: str,
    *,
    clients: int,
    seconds: float,
    scenes: list[Scene],
    slicks: int,
) -> tuple[int, float, list[float]]:
    from service.provider import service_engine

    engine = service_engine(url)  # the service's own: driver, prepared statements, time zone
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        with engine.connect() as conn:
            while time.perf_counter() < deadline:
                statement = statement_for(request_params(kind, rng, scenes, slicks))
                start = time.perf_counter()
                conn.execute(statement).all()
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
            conn.rollback()

    threads = [threading.Thread(target=loop, args=(1000 * i + len(kind),)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), time.perf_counter() - started, latencies


def sql_statements(url: str) -> Callable[[dict], object]:
    """The provider's own SQL for a request's parameters (what the HTTP path runs for a page)."""
    from service.cql2 import CQL2_TEXT
    from service.provider import SlickwatchProvider

    provider = SlickwatchProvider(
        {"name": "bench", "type": "feature", "data": url, "table": "slicks"}
    )

    def statement_for(params: dict) -> object:
        if "id" in params:
            return provider.item_statement(params["id"], as_text=True)
        bbox = [float(v) for v in params["bbox"].split(",")] if "bbox" in params else []
        properties = [(CQL2_TEXT, params["filter"])] if "filter" in params else []
        return provider.page_statement(
            limit=params["limit"],
            bbox=bbox,
            datetime_=params.get("datetime"),
            properties=properties,
            as_text=True,
        )

    return statement_for


# ---------------------------------------------------------------------------------------- main


STACKS = {
    "auto": ("auto", "auto"),
    "h11": ("h11", "asyncio"),
    "httptools": ("httptools", "uvloop"),
}
"""``--http`` choices: uvicorn's (HTTP parser, event loop)."""


@dataclass(frozen=True)
class Variant:
    """One way of serving: worker processes and HTTP stack."""

    workers: int
    """uvicorn worker processes."""
    http: str
    """A key of :data:`STACKS`."""

    def __str__(self) -> str:
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}, {self.http}"


def _serve(url: str, variant: Variant, *, data_dir: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    from service.server import free_port

    port = free_port()
    env = {
        **os.environ,
        "SLICKWATCH_DATABASE_URL": url,
        "SLICKWATCH_DATA_DIR": str(data_dir),
        "SLICKWATCH_PORT": str(port),
    }
    parser, loop = STACKS[variant.http]
    command = [
        str(Path(sys.executable).with_name("slickwatch")),
        "serve",
        "--workers",
        str(variant.workers),
        "--http",
        parser,
        "--loop",
        loop,
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/conformance", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"slickwatch serve ({variant}) exited with {process.returncode}")
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"slickwatch serve ({variant}) did not answer within 120 s")


@dataclass(frozen=True)
class Measure:
    """Requests of one kind against one server (or straight SQL)."""

    n: int
    """Requests answered."""
    elapsed: float
    """Seconds the clients ran."""
    latencies: list[float]
    """Seconds each request took."""
    errors: int = 0
    """Answers other than 200."""
    server_cpu: float = 0.0
    """CPU seconds per request of the server and the database."""
    client_cpu: float = 0.0
    """CPU seconds per request of the load generator (this process)."""

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.n / self.elapsed


def _measure(
    base: str,
    kind: str,
    server: CpuMeter,
    client: CpuMeter,
    *,
    clients: int,
    seconds: float,
    scenes: list[Scene],
    slicks: int,
) -> Measure:
    """Warm up, then ``clients`` clients for ``seconds``: one server's figures for one kind."""
    warm = dict(clients=clients, seconds=2, scenes=scenes, slicks=slicks)
    asyncio.run(_http_run(base, kind, **warm))
    server_before, client_before = server.seconds(), client.seconds()
    n, elapsed, latencies, errors = asyncio.run(
        _http_run(base, kind, clients=clients, seconds=seconds, scenes=scenes, slicks=slicks)
    )
    count = max(n, 1)
    return Measure(
        n,
        elapsed,
        latencies,
        errors,
        (server.seconds() - server_before) / count,
        (client.seconds() - client_before) / count,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slicks", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="uvicorn worker processes; several counts (--workers 1 2) are served at once and "
        "measured in turn, kind by kind",
    )
    parser.add_argument(
        "--http",
        nargs="+",
        choices=sorted(STACKS),
        default=["auto"],
        help="uvicorn's HTTP stack: h11 (with asyncio), httptools (with uvloop), auto (those "
        "if installed); several are served side by side like --workers",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a database of this size")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    url, cluster, load_seconds = prepare_database(slicks=args.slicks, reuse=args.reuse)
    scenes = scenes_of(url)
    statement_for = sql_statements(url)
    options = dict(clients=args.clients, seconds=args.seconds, scenes=scenes, slicks=args.slicks)
    variants = [Variant(w, h) for w in args.workers for h in args.http]
    http: dict[tuple[str, Variant], Measure] = {}
    sql: dict[str, Measure] = {}
    load_before = os.getloadavg()[0]
    client = CpuMeter(os.getpid(), children=False)
    with tempfile.TemporaryDirectory(prefix="slickwatch-bench-") as folder:
        servers: dict[Variant, tuple[subprocess.Popen, str]] = {}
        try:
            for number, variant in enumerate(variants):
                data_dir = Path(folder) / f"server-{number}"
                servers[variant] = _serve(url, variant, data_dir=data_dir)
            for kind in KINDS:
                for variant, (process, base) in servers.items():
                    server = CpuMeter(process.pid, cluster.status().pid)
                    m = http[kind, variant] = _measure(base, kind, server, client, **options)
                    p50, p95 = _percentiles(m.latencies)
                    _log(
                        f"  {kind}, {variant}: {m.rate:.0f} req/s, p50 {p50:.0f} ms, "
                        f"p95 {p95:.0f} ms"
                    )
                n, elapsed, latencies = _sql_run(
                    statement_for, url, kind, **{**options, "seconds": min(args.seconds, 10)}
                )
                sql[kind] = Measure(n, elapsed, latencies)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=30)
    if not args.keep:
        from schema.database import dispose_engine

        dispose_engine(url)
        cluster.drop_database(DATABASE)

    cores = os.cpu_count() or 1
    table = Table(
        title=(
            f"OGC API, {args.slicks:,} slicks, {args.clients} clients, {cores} cores "
            f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
    )
    for column in (
        "query",
        "server",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "errors",
        "CPU ms/req server+DB",
        "CPU ms/req clients",
        "req/s on free cores",
        "SQL req/s",
        "SQL p50 ms",
        "SQL p95 ms",
        "p95 <= 250 ms",
        ">= 100 req/s",
    ):
        table.add_column(column, justify="right")
    for (kind, variant), m in http.items():
        p50, p95 = _percentiles(m.latencies)
        s50, s95 = _percentiles(sql[kind].latencies)
        total = m.server_cpu + m.client_cpu
        table.add_row(
            kind,
            str(variant),
            str(m.n),
            f"{m.rate:.0f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
            str(m.errors),
            f"{m.server_cpu * 1000:.1f}",
            f"{m.client_cpu * 1000:.1f}",
            f"{cores / total:.0f}" if total > 0 else "",
            f"{sql[kind].rate:.0f}",
            f"{s50:.1f}",
            f"{s95:.1f}",
            "yes" if p95 <= 250 else "NO",
            "yes" if m.rate >= 100 else "NO",
        )
    Console(width=180).print(table)
    _log(
        "HTTP columns: --clients concurrent clients over loopback. CPU ms/req: CPU time per "
        "request of the server's processes and the database (server+DB), and of the load "
        f"generator (clients); req/s on free cores = {cores} cores / their sum, what this machine "
        "would serve with nothing else running (wall-clock figures measure the neighbours too). "
        "SQL: the same statements from as many threads on the service's engine (prepared, as the "
        "server runs them), without HTTP or pygeoapi."
    )
    if load_seconds is not None:
        _log(f"bulk load of {args.slicks:,} slicks (with index rebuild): {load_seconds:.0f} s")


if __name__ == "__main__":
    main()
