"""What a backfill keeps in the database: its ``trigger`` row, claims on scenes, done scenes.

A backfill never runs a scene that another live backfill is running, and never leaves a scene
blocked by a run that died:

- **claims** are PostgreSQL session-level advisory locks keyed by (model, scene), each held on its
  own connection for as long as the scene runs. A process that is killed loses its connections,
  and the server drops its locks with them, so a claim can never outlive its holder.
- **done** means an ``orchestrator_run`` row with ``success = true`` for the same model. A scene
  is re-checked after its claim is taken, so two backfills started together cannot both store it.
- **interrupted runs**: a killed backfill leaves run rows with ``success`` NULL (the store is one
  transaction: it either committed ``success = true`` or left nothing). The next backfill marks
  those rows failed ("interrupted") when nobody holds their claim, and runs the scene again.
  Rows of ``slickwatch detect`` and of API jobs are never touched: only runs whose trigger says
  ``runner = backfill``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from pipeline.backfill_errors import BackfillDatabaseError
from schema.database import engine_for, normalize_url
from schema.models import Model, OrchestratorRun, Sentinel1Grd, Trigger

logger = logging.getLogger(__name__)

RUNNER = "backfill"
"""``trigger.parameters['runner']`` of the triggers a backfill writes."""

INTERRUPTED_ERROR = (
    "Interrupted: the backfill running this scene stopped (Ctrl-C or killed) before the run "
    "finished; nothing of it was stored, and a later backfill runs the scene again."
)
"""The ``error`` given to run rows left running by a backfill that died."""

LOCK_NOT_AVAILABLE = "55P03"
"""SQLSTATE of a lock wait that ran past ``lock_timeout``."""

_CLAIM_KEY = "hashtextextended('slickwatch-backfill:' || :model || ':' || :scene, 0)"


@functools.cache
def _claim_engine(url: str) -> sa.Engine:
    # One connection per claim, really closed on release (no pool): a session-level advisory
    # lock lives as long as its connection, so a pooled connection would keep it.
    return sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)


def _wrap(exc: DBAPIError, url: str, action: str) -> BackfillDatabaseError:
    where = sa.engine.make_url(normalize_url(url)).render_as_string(hide_password=True)
    detail = str(exc.orig or exc).strip().splitlines()[0]
    return BackfillDatabaseError(
        f"Could not {action} in {where}: {detail}. Check that the database runs "
        "('slickwatch db status') and is migrated ('slickwatch db migrate')."
    )


CLAIM_WAIT_S = 5.0
"""How long to wait for a claim held by someone else before calling the scene taken, seconds.
A killed backfill's claims go within milliseconds (when the server sees its connections
close); this wait covers that moment, so that a rerun started at once does not skip them."""


@contextlib.contextmanager
def claim(
    url: str, *, model_id: int, scene_id: str, wait_s: float = CLAIM_WAIT_S
) -> Iterator[bool]:
    """Hold the claim on (model, scene) for the block; yields whether it was got.

    Waits up to ``wait_s`` seconds for a claim someone else holds. The claim is released when
    the block ends, and by the server if this process dies.

    Raises:
        BackfillDatabaseError: the database cannot be reached.
    """
    params = {"model": str(model_id), "scene": scene_id}
    try:
        conn = _claim_engine(url).connect()
    except DBAPIError as exc:
        raise _wrap(exc, url, f"claim scene {scene_id}") from exc
    try:
        try:
            conn.execute(sa.text(f"SET lock_timeout = {max(1, round(wait_s * 1000))}"))
            conn.execute(sa.text(f"SELECT pg_advisory_lock({_CLAIM_KEY})"), params)
            conn.commit()
            held = True
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise _wrap(exc, url, f"claim scene {scene_id}") from exc
            held = False
        yield held
    finally:
        conn.close()  # closes the session: its advisory locks go with it


def done_scenes(url: str, *, model_id: int, scene_ids: Iterable[str]) -> dict[str, int]:
    """Scenes of ``scene_ids`` with a successful run of ``model_id``: scene id -> newest run id."""
    ids = list(scene_ids)
    if not ids:
        return {}
    runs, scenes = OrchestratorRun.__table__, Sentinel1Grd.__table__
    query = (
        sa.select(scenes.c.scene_id, sa.func.max(runs.c.id))
        .join(runs, runs.c.sentinel1_grd == scenes.c.id)
        .where(runs.c.success.is_(True), runs.c.model == model_id, scenes.c.scene_id.in_(ids))
        .group_by(scenes.c.scene_id)
    )
    try:
        with engine_for(url).connect() as conn:
            return {scene: int(run) for scene, run in conn.execute(query).all()}
    except DBAPIError as exc:
        raise _wrap(exc, url, "look up the scenes done already") from exc


def registered_model_id(url: str, *, name: str, version: str) -> int | None:
    """The ``model`` row of ``name:version``, without registering anything."""
    table = Model.__table__
    query = sa.select(table.c.id).where(table.c.name == name, table.c.version == version)
    try:
        with engine_for(url).connect() as conn:
            return conn.execute(query).scalar_one_or_none()
    except DBAPIError as exc:
        raise _wrap(exc, url, "look up the model") from exc


def reap_interrupted(url: str) -> list[int]:
    """Mark failed the run rows left running by backfills that died; returns their ids.

    A row counts when its ``success`` is NULL, its trigger was written by a backfill, and nobody
    holds the claim on its (model, scene): a live backfill holds the claims of its runs.
    """
    runs, scenes, triggers = (
        OrchestratorRun.__table__,
        Sentinel1Grd.__table__,
        Trigger.__table__,
    )
    stale = (
        sa.select(runs.c.id, runs.c.model, scenes.c.scene_id)
        .join(scenes, scenes.c.id == runs.c.sentinel1_grd)
        .join(triggers, triggers.c.id == runs.c.trigger)
        .where(runs.c.success.is_(None), triggers.c.parameters["runner"].astext == RUNNER)
        .order_by(runs.c.id)
    )
    reaped: list[int] = []
    try:
        with engine_for(url).connect() as conn:
            rows = conn.execute(stale).all()
        for run_id, model_id, scene_id in rows:
            with claim(url, model_id=model_id, scene_id=scene_id, wait_s=1.0) as free:
                if not free:
                    continue  # a live backfill runs it right now
                with engine_for(url).begin() as conn:
                    updated = conn.execute(
                        sa.update(runs)
                        .where(runs.c.id == run_id, runs.c.success.is_(None))
                        .values(
                            success=False,
                            error=INTERRUPTED_ERROR,
                            run_end=sa.func.now(),
                            statistics=sa.literal_column(
                                """coalesce(statistics, '{}'::jsonb)"""
                                """ || '{"outcome": "interrupted"}'::jsonb"""
                            ),
                        )
                    ).rowcount
                if updated:
                    reaped.append(int(run_id))
    except DBAPIError as exc:
        raise _wrap(exc, url, "close the runs of interrupted backfills") from exc
    if reaped:
        logger.info("marked %d interrupted run(s) failed: %s", len(reaped), reaped)
    return reaped


def create_trigger(
    url: str,
    *,
    trigger_type: str,
    scene_count: int,
    filtered_scene_count: int,
    parameters: dict[str, Any],
    logs: str,
) -> int:
    """Insert the backfill's ``trigger`` row; returns its id."""
    table = Trigger.__table__
    values = {
        "trigger_type": trigger_type,
        "scene_count": scene_count,
        "filtered_scene_count": filtered_scene_count,
        "parameters": json.loads(json.dumps({**parameters, "runner": RUNNER}, default=str)),
        "trigger_logs": logs,
    }
    try:
        with engine_for(url).begin() as conn:
            return int(
                conn.execute(sa.insert(table).values(values).returning(table.c.id)).scalar_one()
            )
    except DBAPIError as exc:
        raise _wrap(exc, url, "record the backfill's trigger") from exc


def append_trigger_log(url: str, trigger_id: int, lines: str) -> None:
    """Append lines to a trigger's log (a database that went away only costs the log line)."""
    table = Trigger.__table__
    text = lines if lines.endswith("\n") else lines + "\n"
    try:
        with engine_for(url).begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c.id == trigger_id)
                .values(trigger_logs=sa.func.coalesce(table.c.trigger_logs, "") + text)
            )
    except DBAPIError as exc:
        logger.warning("could not append to the log of trigger %s: %s", trigger_id, exc)
