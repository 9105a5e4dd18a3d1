"""``slickwatch db ...`` and ``slickwatch review ...`` from the command line."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely
import typer
from typer.testing import CliRunner

from schema.cli import register
from schema.cluster import Cluster
from schema.database import engine_for
from tests.schema.slick_rows import add_slick, geodesic_rectangle


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def pg_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="slickwatch-test-cli-"))
    folder.chmod(0o755)
    monkeypatch.delenv("SLICKWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("SLICKWATCH_PG_DIR", str(folder / "pg"))
    monkeypatch.setenv("SLICKWATCH_PG_FSYNC", "false")
    try:
        yield folder / "pg"
    finally:
        Cluster(folder / "pg").stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_db_lifecycle(app: typer.Typer, runner: CliRunner, pg_dir: Path) -> None:
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 3 and "not initialized" in result.output

    result = runner.invoke(app, ["db", "start"])
    assert result.exit_code == 0, result.output
    pid = Cluster(pg_dir).status().pid
    assert f"pid {pid}" in result.output
    assert runner.invoke(app, ["db", "start"]).exit_code == 0
    assert Cluster(pg_dir).status().pid == pid  # the second start did nothing

    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert "database at 0006" in result.output
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert "schema   0006 (head 0006: up to date)" in result.output

    result = runner.invoke(app, ["db", "url", "--libpq"])
    port = Cluster(pg_dir).status().port
    assert result.output.strip() == f"postgresql://postgres@127.0.0.1:{port}/slickwatch"

    result = runner.invoke(app, ["db", "stop"])
    assert result.exit_code == 0 and "stopped" in result.output
    assert not Cluster(pg_dir).status().running
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 3 and f"stopped (port {port} kept" in result.output


@pytest.fixture
def review_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SLICKWATCH_DATABASE_URL", database_url)
    return database_url


def test_review_commands(
    app: typer.Typer, runner: CliRunner, review_env: str, tmp_path: Path
) -> None:
    with engine_for(review_env).begin() as conn:
        first = add_slick(conn, geodesic_rectangle(5.0, 55.0, long_m=4000, short_m=500))
        second = add_slick(conn, shapely.box(6, 55, 6.01, 55.01))

    result = runner.invoke(
        app,
        ["review", "validate", str(first), "-c", "0.9", "--class", "RECENT_VESSEL", "-r", "ana"],
    )
    assert result.exit_code == 0, result.output
    validated = int(result.output.split()[-1])

    result = runner.invoke(app, ["review", "reclassify", str(validated), "PUDDLE"])
    assert result.exit_code == 1
    assert "Unknown slick class 'PUDDLE'" in result.output and "Traceback" not in result.output

    result = runner.invoke(app, ["review", "validate", str(first), "-c", "0.5"])
    assert result.exit_code == 1 and f"replaced it (by {validated})" in result.output

    result = runner.invoke(app, ["review", "split", str(validated), "--parts", "2", "-r", "bo"])
    assert result.exit_code == 0, result.output
    halves = [int(i) for i in result.output.split("into")[1].replace(",", " ").split()]
    assert len(halves) == 2

    result = runner.invoke(app, ["review", "merge", str(halves[0]), str(second)])
    assert result.exit_code == 1 and "different classes" in result.output
    result = runner.invoke(
        app, ["review", "merge", str(halves[0]), str(second), "--class", "VESSEL"]
    )
    assert result.exit_code == 0, result.output
    merged = int(result.output.split()[-1])

    result = runner.invoke(app, ["review", "note", str(merged), "NOAA report 1234"])
    assert result.exit_code == 0, result.output
    noted = int(result.output.split()[-1])

    result = runner.invoke(app, ["review", "history", str(noted)])
    assert result.exit_code == 0, result.output
    for slick_id in (noted, merged, halves[0], second, validated, first):
        assert str(slick_id) in result.output
    assert "NOAA report 1234" in result.output and "ana" in result.output

    parts = tmp_path / "parts.geojson"
    parts.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)}
                    for g in (shapely.box(6, 55, 6.005, 55.01), shapely.box(6.005, 55, 6.01, 55.01))
                ],
            }
        )
    )
    result = runner.invoke(app, ["review", "split", str(halves[1]), "--geojson", str(parts)])
    assert result.exit_code == 1 and "outside the slick" in result.output

    result = runner.invoke(app, ["review", "history", "999999"])
    assert result.exit_code == 1 and "No slick with id 999999" in result.output
