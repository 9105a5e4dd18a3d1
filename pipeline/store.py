"""Store: the scene row, the run row and the slicks, with all-or-nothing semantics.

A run is written in three moments:

1. :func:`begin_run` (before any pixel is read): the scene row (inserted or refreshed) and a run
   row with ``success`` NULL, committed. A database that cannot be reached fails the run here,
   before minutes of computing are spent.
2. :func:`finish_run`, one transaction: the scene's earlier active slicks are deactivated, the new
   slicks are inserted, and the run row gets ``success = true``, its end time, timings and
   statistics. Running a scene twice leaves one active set.
3. :func:`fail_run` when anything went wrong: the run row gets ``success = false`` and the error.
   If the database itself went away it waits for it to come back (up to ``wait_s``) before
   writing; the transaction of step 2 was rolled back, so no slick of the run exists.

A process killed between 1 and 2/3 leaves ``success`` NULL and no ``run_end``: an interrupted run.
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError

from catalog.scene import Scene
from pipeline.errors import PipelineError, StoreError
from schema.database import engine_for
from schema.models import OrchestratorRun, Sentinel1Grd, Slick, footprint_value

logger = logging.getLogger(__name__)

RETRY_INTERVAL_S = 1.0
"""Seconds between attempts to reach a database that went away."""


@functools.cache
def code_version() -> str:
    """``git describe`` of the source tree when it is a checkout, else the package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        if described:
            return f"git:{described}"
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"slickwatch {version('slickwatch')}"
    except PackageNotFoundError:
        return "unknown"


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def scene_values(scene: Scene) -> dict[str, Any]:
    """Column values of the ``sentinel1_grd`` row of a scene."""
    sid = scene.sid
    assets = {a.polarization.lower(): a.href for a in scene.assets}
    assets.update(scene.labels)
    return {
        "scene_id": scene.scene_id,
        "mission": sid.mission,
        "mode": sid.mode,
        "product_type": sid.product_type_code,
        "polarization": sid.polarization,
        "absolute_orbit": sid.absolute_orbit,
        "relative_orbit": sid.relative_orbit,
        "datatake_id": f"{sid.datatake_id:06X}",
        "start_time": scene.start,
        "stop_time": scene.stop,
        "footprint": footprint_value(scene.footprint),
        "assets": assets,
        "url": scene.item_href or (scene.assets[0].href if scene.assets else None),
        "meta": {"georeferencing": scene.georeferencing, "epsg": scene.epsg},
        "simulated": scene.simulated,
    }


def _database_error(exc: BaseException, url: str, action: str) -> StoreError:
    engine = engine_for(url)
    where = engine.url.render_as_string(hide_password=True)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return StoreError(
        f"Could not {action} in {where}: {detail}. Check that the database is running "
        "('slickwatch db status') and migrated ('slickwatch db migrate')."
    )


def begin_run(
    url: str,
    scene: Scene,
    *,
    model_id: int,
    parameters: dict[str, Any],
    trigger: int | None = None,
) -> int:
    """Insert (or refresh) the scene row and a running run row; returns the run id.

    Args:
        url: the database.
        scene: the scene.
        model_id: the ``model`` row (:func:`model.registry.register`).
        parameters: the run's parameters (JSON-ready).
        trigger: the ``trigger`` row of a batch, if any.

    Raises:
        StoreError: the database cannot be reached or written.
    """
    values = scene_values(scene)
    upsert = sa.dialects.postgresql.insert(Sentinel1Grd.__table__).values(values)
    upsert = upsert.on_conflict_do_update(
        index_elements=["scene_id"],
        set_={k: upsert.excluded[k] for k in values if k != "scene_id"},
    ).returning(Sentinel1Grd.__table__.c.id)
    try:
        with engine_for(url).begin() as conn:
            scene_row = conn.execute(upsert).scalar_one()
            run_id = conn.execute(
                sa.insert(OrchestratorRun.__table__)
                .values(
                    sentinel1_grd=scene_row,
                    model=model_id,
                    trigger=trigger,
                    parameters=_jsonable(parameters),
                    code_version=code_version(),
                    success=None,
                )
                .returning(OrchestratorRun.__table__.c.id)
            ).scalar_one()
    except (OperationalError, DBAPIError) as exc:
        raise _database_error(exc, url, f"record the run of {scene.scene_id}") from exc
    logger.info("run %s of %s started", run_id, scene.scene_id)
    return int(run_id)


def _slick_rows(
    conn: sa.Connection, slicks: gpd.GeoDataFrame, *, run_id: int
) -> list[dict[str, Any]]:
    class_ids = dict(conn.execute(sa.text("SELECT short_name, id FROM slick_class")).all())
    rows = []
    for record in slicks.itertuples(index=False):
        name = record.slick_class
        if name not in class_ids:
            raise StoreError(
                f"The database has no slick class {name!r}: migrate it ('slickwatch db migrate') "
                "or give the model a card whose class names the schema knows."
            )
        line = record.centerline
        rows.append(
            {
                "slick_timestamp": record.slick_timestamp.to_pydatetime(),
                "geometry": sa.func.ST_GeogFromWKB(shapely.to_wkb(record.geometry)),
                "machine_confidence": float(record.machine_confidence),
                "active": True,
                "orchestrator_run": run_id,
                "slick_class": class_ids[name],
                "meta": _jsonable(
                    {
                        "scene_id": record.scene_id,
                        "model_class": record.model_class,
                        "reclassified": record.reclassified,
                        "class_probabilities": record.class_probabilities,
                        "pixels": int(record.pixels),
                        "parts": int(record.parts),
                        "centerline": json.loads(shapely.to_geojson(line)) if line else None,
                        "centerline_length_m": float(record.centerline_length_m),
                        "aspect_ratio_factor": float(record.aspect_ratio_factor),
                    }
                ),
            }
        )
    return rows


def finish_run(
    url: str,
    run_id: int,
    slicks: gpd.GeoDataFrame,
    *,
    timings: dict[str, Any],
    statistics: dict[str, Any],
) -> list[int]:
    """In one transaction: deactivate the scene's earlier slicks, insert these, close the run.

    Returns:
        The ids of the inserted slicks, in the frame's order.

    Raises:
        StoreError: the database went away or refused the rows; nothing was written.
    """
    runs = OrchestratorRun.__table__
    slick = Slick.__table__
    t0 = time.perf_counter()
    try:
        with engine_for(url).begin() as conn:
            scene_row = conn.execute(
                sa.select(runs.c.sentinel1_grd).where(runs.c.id == run_id).with_for_update()
            ).scalar_one()
            earlier = sa.select(runs.c.id).where(
                runs.c.sentinel1_grd == scene_row, runs.c.id != run_id
            )
            deactivated = conn.execute(
                sa.update(slick)
                .where(slick.c.active, slick.c.orchestrator_run.in_(earlier))
                .values(active=False)
            ).rowcount
            ids: list[int] = []
            for row in _slick_rows(conn, slicks, run_id=run_id):
                ids.append(
                    conn.execute(sa.insert(slick).values(row).returning(slick.c.id)).scalar_one()
                )
            timings = {**timings, "store": round(time.perf_counter() - t0, 3)}
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(
                    success=True,
                    error=None,
                    run_end=sa.func.now(),
                    timings=_jsonable(timings),
                    statistics=_jsonable(
                        {**statistics, "outcome": "stored", "deactivated": deactivated}
                    ),
                )
            )
    except StoreError:
        raise
    except (OperationalError, DBAPIError) as exc:
        raise _database_error(exc, url, f"store the slicks of run {run_id}") from exc
    logger.info("run %s stored %d slicks (deactivated %d)", run_id, len(ids), deactivated)
    return ids


def fail_run(
    url: str,
    run_id: int,
    error: BaseException | str,
    *,
    timings: dict[str, Any] | None = None,
    statistics: dict[str, Any] | None = None,
    wait_s: float = 120.0,
) -> bool:
    """Mark a run failed with its error, waiting up to ``wait_s`` for the database to answer.

    Returns:
        True when the row was written; False when the database stayed away (logged).
    """
    if isinstance(error, BaseException):
        reason = error.reason if isinstance(error, PipelineError) else "error"
        message = f"{type(error).__name__}: {error}"
    else:
        reason, message = "error", str(error)
    values = {
        "success": False,
        "error": message,
        "run_end": datetime.now(UTC),
        "timings": _jsonable(timings or {}),
        "statistics": _jsonable({**(statistics or {}), "outcome": reason}),
    }
    runs = OrchestratorRun.__table__
    deadline = time.monotonic() + wait_s
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine_for(url).begin() as conn:
                conn.execute(sa.update(runs).where(runs.c.id == run_id).values(values))
            logger.info("run %s recorded as failed: %s", run_id, message)
            return True
        except (OperationalError, DBAPIError) as exc:
            if time.monotonic() >= deadline:
                logger.error(
                    "run %s failed (%s) and the database stayed unreachable for %.0f s (%s); "
                    "its row still says it is running",
                    run_id,
                    message,
                    wait_s,
                    exc,
                )
                return False
            if attempt == 1:
                logger.warning("database unreachable; retrying to record run %s as failed", run_id)
            time.sleep(RETRY_INTERVAL_S)
