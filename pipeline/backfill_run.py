"""Carry out a backfill plan: scenes on the cluster, a few at a time, with retries, resumable.

:func:`run_backfill` records a ``trigger`` row, then runs the plan's scenes with
:func:`pipeline.orchestrate.run_scene` on one Dask client, at most ``max_concurrent`` scenes in
flight. Each scene runs from its own thread of this process: the store (one transaction) happens
here, never on a worker, so once this process is gone nothing of it can still write. Before a
scene runs, its claim is taken and the database asked again whether the model has done it
(:mod:`pipeline.backfill_records`); a killed backfill therefore resumes with no scene stored
twice and none lost.

A failure of a scene is recorded on its run row and in the trigger's log, and the others go on.
Failures that may pass (the database or a worker went away) are retried after a growing pause;
failures of the scene itself (unreadable files, all nodata, no open water) are not.

Ctrl-C stops starting scenes and waits for those in flight; a second Ctrl-C leaves them (their
run rows stay "running" until the next backfill marks them interrupted and runs them again).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.errors import CatalogError
from catalog.scene import resolve_scene
from pipeline.backfill_errors import BackfillDatabaseError, BackfillError, BackfillParameterError
from pipeline.backfill_plan import BackfillPlan, Candidate
from pipeline.detect import Options

logger = logging.getLogger(__name__)

TRANSIENT_REASONS = frozenset({"store", "cluster", "error"})
"""Run outcomes worth another attempt: the database or the cluster went away, or an unexpected
error (a worker lost too often). The others are facts about the scene and would fail again."""

MAX_BACKOFF_S = 60.0
"""Longest pause between two attempts at a scene, seconds."""

Status = Literal["stored", "failed", "done", "claimed", "irrelevant", "not-started"]
"""What became of a scene: stored; failed (after its attempts); done before (skipped); claimed
by another live backfill (skipped); left out by the relevancy filter; not started (stopped)."""


@dataclass(frozen=True)
class SceneResult:
    """What became of one scene of a backfill."""

    scene_id: str
    """The scene."""
    status: Status
    """See :data:`Status`."""
    reason: str | None = None
    """The run's outcome (``stored``, ``unreadable``, ``no-ocean``, ``store``, ...) or why it
    was skipped."""
    error: str | None = None
    """The last error of a failed scene."""
    attempts: int = 0
    """Runs started for it in this backfill."""
    run_ids: tuple[int, ...] = ()
    """Its ``orchestrator_run`` rows written by this backfill, oldest first."""
    slicks: int = 0
    """Slicks stored."""
    seconds: float = 0.0
    """Wall time spent on it, attempts and pauses included."""

    def log_line(self) -> str:
        """The scene's line in the trigger's log."""
        head = f"{self.status:<11} {self.scene_id}"
        if self.status == "stored":
            runs = ",".join(map(str, self.run_ids))
            return f"{head}: {self.slicks} slicks, run {runs}, {self.seconds:.1f} s"
        if self.status == "failed":
            runs = f" (runs {','.join(map(str, self.run_ids))})" if self.run_ids else ""
            tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
            return f"{head}: {self.reason}{tries}{runs}: {self.error}"
        return f"{head}: {self.reason}" if self.reason else head


@dataclass(frozen=True)
class BackfillReport:
    """The outcome of a backfill."""

    trigger_id: int
    """Its ``trigger`` row."""
    plan: BackfillPlan
    """What it set out to do."""
    results: tuple[SceneResult, ...]
    """One per scene found, in the plan's order."""
    seconds: float
    """Wall time, seconds."""
    interrupted: bool = False
    """Stopped by Ctrl-C before every scene ran: rerun the same backfill to finish."""
    reaped: tuple[int, ...] = field(default=())
    """Run rows of earlier, interrupted backfills marked failed at the start."""

    def counts(self) -> dict[str, int]:
        """Scenes per status."""
        return dict(Counter(r.status for r in self.results))

    def with_status(self, status: Status) -> list[SceneResult]:
        """The results with this status."""
        return [r for r in self.results if r.status == status]


BackfillProgress = Callable[[SceneResult, dict[str, int]], None]
"""``progress(result, counts)``: called as each scene to run ends (counts per status so far)."""


def _register_model(plan: BackfillPlan, database_url: str) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from model.errors import ModelError
    from model.registry import register

    try:
        return register(plan.model.card_path, database_url)
    except ModelError as exc:
        raise BackfillError(f"Cannot register model {plan.model.label}: {exc}") from exc
    except SQLAlchemyError as exc:
        raise BackfillDatabaseError(
            f"Cannot register model {plan.model.label}: {exc}. Check 'slickwatch db status'."
        ) from exc


class _Runner:
    """The scenes of one backfill, run from daemon threads of this process."""

    def __init__(
        self,
        plan: BackfillPlan,
        *,
        client: Any,
        database_url: str,
        model_id: int,
        trigger_id: int,
        options: Options,
        retries: int,
        backoff_s: float,
    ) -> None:
        self.plan = plan
        self.client = client
        self.url = database_url
        self.model_id = model_id
        self.trigger_id = trigger_id
        self.options = options
        self.retries = retries
        self.backoff_s = backoff_s
        self.stop = threading.Event()
        self.finished: queue.Queue[tuple[str, SceneResult]] = queue.Queue()

    def start(self, candidate: Candidate) -> None:
        thread = threading.Thread(
            target=self._work,
            args=(candidate,),
            name=f"backfill-{candidate.scene_id}",
            daemon=True,  # a second Ctrl-C leaves them; the server drops their claims
        )
        thread.start()

    def _work(self, candidate: Candidate) -> None:
        try:
            result = self._scene(candidate)
        except BaseException as exc:  # never lose a scene's result, whatever happened
            logger.exception("backfill of %s failed unexpectedly", candidate.scene_id)
            result = SceneResult(
                candidate.scene_id, "failed", reason="error", error=f"{type(exc).__name__}: {exc}"
            )
        self.finished.put((candidate.scene_id, result))

    def _pause(self, attempt: int, scene_id: str, reason: str | None) -> bool:
        """Wait before the next attempt; False when the backfill is stopping."""
        delay = min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
        logger.warning(
            "%s: attempt %d failed (%s); next attempt in %.0f s", scene_id, attempt, reason, delay
        )
        return not self.stop.wait(delay)

    def _scene(self, candidate: Candidate) -> SceneResult:
        from pipeline.backfill_records import claim, done_scenes
        from pipeline.orchestrate import run_scene

        t0 = time.perf_counter()
        try:
            scene = resolve_scene(candidate.item)
        except CatalogError as exc:
            return SceneResult(candidate.scene_id, "failed", reason="bad-reference", error=str(exc))
        scene_id = scene.scene_id
        run_ids: list[int] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                with claim(self.url, model_id=self.model_id, scene_id=scene_id) as free:
                    if not free:
                        return SceneResult(
                            scene_id,
                            "claimed",
                            reason="another backfill is running it",
                            attempts=attempt - 1,
                            run_ids=tuple(run_ids),
                            seconds=time.perf_counter() - t0,
                        )
                    done = done_scenes(self.url, model_id=self.model_id, scene_ids=[scene_id])
                    if done:
                        return SceneResult(
                            scene_id,
                            "done",
                            reason=f"done in run {done[scene_id]} since the plan was made",
                            attempts=attempt - 1,
                            run_ids=tuple(run_ids),
                            seconds=time.perf_counter() - t0,
                        )
                    outcome = run_scene(
                        scene,
                        client=self.client,
                        database_url=self.url,
                        model=self.plan.model.card_path,
                        options=self.options,
                        trigger=self.trigger_id,
                    )
            except BackfillDatabaseError as exc:  # the claim could not be taken
                reason, error, success, slicks = "store", str(exc), False, 0
            else:
                if outcome.run_id is not None:
                    run_ids.append(outcome.run_id)
                reason, error, success = outcome.reason, outcome.error, outcome.success
                slicks = len(outcome.slick_ids)
            if success:
                return SceneResult(
                    scene_id,
                    "stored",
                    reason=reason,
                    attempts=attempt,
                    run_ids=tuple(run_ids),
                    slicks=slicks,
                    seconds=time.perf_counter() - t0,
                )
            if (
                reason not in TRANSIENT_REASONS
                or attempt > self.retries
                or self.stop.is_set()
                or not self._pause(attempt, scene_id, reason)
            ):
                return SceneResult(
                    scene_id,
                    "failed",
                    reason=reason,
                    error=error,
                    attempts=attempt,
                    run_ids=tuple(run_ids),
                    seconds=time.perf_counter() - t0,
                )


def run_backfill(
    plan: BackfillPlan,
    *,
    client: Any,
    database_url: str,
    options: Options | None = None,
    max_concurrent: int = 2,
    retries: int = 2,
    backoff_s: float = 5.0,
    trigger_type: str = "HISTORICAL_RUN",
    progress: BackfillProgress | None = None,
) -> BackfillReport:
    """Run a plan's scenes on a Dask client and store them; returns what became of each scene.

    Args:
        plan: from :func:`pipeline.backfill_plan.plan_backfill` (made with the same database).
        client: a ``distributed.Client``; its cluster runs every scene's graph.
        database_url: the database to store in (migrated).
        options: resolution, chunk size, buffers (recorded on every run row).
        max_concurrent: scenes in flight at once (each is one graph on the cluster).
        retries: further attempts at a scene whose failure may pass (:data:`TRANSIENT_REASONS`).
        backoff_s: pause before the first retry, seconds; doubled each time, at most
            :data:`MAX_BACKOFF_S`.
        trigger_type: ``trigger.trigger_type`` of the backfill's row.
        progress: called as each scene to run ends.

    Returns:
        The report; ``interrupted`` is true when Ctrl-C stopped it early.

    Raises:
        BackfillParameterError: ``max_concurrent`` or ``retries`` out of range.
        BackfillError: the model cannot be registered.
        BackfillDatabaseError: the trigger cannot be recorded.
        KeyboardInterrupt: a second Ctrl-C, leaving the scenes in flight.
    """
    import dask

    from pipeline.backfill_records import append_trigger_log, create_trigger, reap_interrupted
    from pipeline.infer import NO_FUSION

    if max_concurrent < 1:
        raise BackfillParameterError(f"--max-concurrent must be at least 1, got {max_concurrent}.")
    if retries < 0:
        raise BackfillParameterError(f"--retries must be 0 or more, got {retries}.")
    options = options or Options()
    t0 = time.perf_counter()
    model_id = _register_model(plan, database_url)
    reaped = tuple(reap_interrupted(database_url))
    lines = [f"backfill of {plan.source} with {plan.model.label}: {plan.counts()}"]
    if reaped:
        lines.append(f"marked interrupted runs {', '.join(map(str, reaped))} failed")
    lines += [line for line in plan.describe() if not line.startswith("run ")]
    trigger_id = create_trigger(
        database_url,
        trigger_type=trigger_type,
        scene_count=plan.found,
        filtered_scene_count=plan.relevant,
        parameters={
            "source": plan.source,
            **plan.search,
            "model": {"name": plan.model.name, "version": plan.model.version, "id": model_id},
            "options": options.as_dict(),
            "max_concurrent": max_concurrent,
            "retries": retries,
        },
        logs="\n".join(lines) + "\n",
    )
    logger.info("backfill trigger %d: %d scenes to run", trigger_id, len(plan.to_run))
    runner = _Runner(
        plan,
        client=client,
        database_url=database_url,
        model_id=model_id,
        trigger_id=trigger_id,
        options=options,
        retries=retries,
        backoff_s=backoff_s,
    )
    ended: dict[str, SceneResult] = {}
    counts: Counter[str] = Counter()
    pending = deque(plan.to_run)
    in_flight = 0
    interrupts = 0
    # Every scene's graph is built under NO_FUSION (pipeline.infer.no_fusion); holding it for the
    # whole backfill keeps the threads' nested settings from restoring fusion under each other.
    with dask.config.set(NO_FUSION):
        while pending or in_flight:
            try:
                while pending and in_flight < max_concurrent and not runner.stop.is_set():
                    runner.start(pending.popleft())
                    in_flight += 1
                if not in_flight:
                    break
                try:
                    scene_id, result = runner.finished.get(timeout=0.5)
                except queue.Empty:
                    continue
                in_flight -= 1
                ended[scene_id] = result
                counts[result.status] += 1
                append_trigger_log(database_url, trigger_id, result.log_line())
                if progress is not None:
                    progress(result, dict(counts))
            except KeyboardInterrupt:
                interrupts += 1
                if interrupts > 1:
                    append_trigger_log(
                        database_url,
                        trigger_id,
                        f"stopped by a second Ctrl-C, leaving {in_flight} scene(s) in flight "
                        f"and {len(pending)} not started",
                    )
                    raise
                runner.stop.set()
                logger.warning(
                    "stopping: %d scene(s) in flight finish first (Ctrl-C again to leave them; "
                    "rerun the backfill to finish it)",
                    in_flight,
                )
    results = []
    for candidate in plan.candidates:
        if candidate.scene_id in ended:
            results.append(ended[candidate.scene_id])
        elif candidate.action == "run":
            results.append(SceneResult(candidate.scene_id, "not-started", reason="stopped"))
        else:
            results.append(
                SceneResult(
                    candidate.scene_id, candidate.action, reason="; ".join(candidate.reasons)
                )
            )
    seconds = time.perf_counter() - t0
    report = BackfillReport(
        trigger_id=trigger_id,
        plan=plan,
        results=tuple(results),
        seconds=seconds,
        interrupted=runner.stop.is_set(),
        reaped=reaped,
    )
    verb = "stopped" if report.interrupted else "finished"
    append_trigger_log(
        database_url, trigger_id, f"backfill {verb} in {seconds:.1f} s: {report.counts()}"
    )
    return report
