"""One scene, steps 1-8: what ``slickwatch detect`` and the backfill run for each scene.

:func:`run_scene` resolves the reference, opens the run row, detects, and stores the slicks or
records the failure; it returns a :class:`RunOutcome` instead of raising for failures of the scene
itself (bad files, empty scenes, a database gone away), so that a batch can go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from sqlalchemy.exc import SQLAlchemyError

from catalog.errors import CatalogError
from catalog.scene import Scene, resolve_scene
from model.errors import ModelError
from pipeline.detect import Detection, Options, Progress, model_card_path, run_detection
from pipeline.errors import PipelineError, StoreError

logger = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """What happened to one scene."""

    ref: str
    """The reference as given."""
    success: bool
    """Whether the slicks were detected (and stored, when storing)."""
    scene_id: str | None = None
    """The scene id, once resolved."""
    run_id: int | None = None
    """The ``orchestrator_run`` row, when storing."""
    slick_ids: list[int] = field(default_factory=list)
    """Ids of the stored slicks."""
    error: str | None = None
    """The error message of a failed run."""
    reason: str | None = None
    """Short outcome: ``stored``, ``detected``, ``unreadable``, ``all-nodata``, ``no-ocean``,
    ``store``, ``bad-reference``, ``error``."""
    detection: Detection | None = None
    """Slicks and provenance, when detection finished."""

    @property
    def slicks(self) -> gpd.GeoDataFrame | None:
        """The detected slicks, if any."""
        return self.detection.slicks if self.detection is not None else None


def run_scene(
    ref: str | Path | Scene,
    *,
    client: Any,
    database_url: str | None = None,
    model: str | Path | None = None,
    options: Options | None = None,
    stac: str | Path | None = None,
    trigger: int | None = None,
    progress: Progress | None = None,
    store_wait_s: float = 120.0,
) -> RunOutcome:
    """Detect the slicks of a scene and, with ``database_url``, store them in one transaction.

    Args:
        ref: scene id (with ``stac``), STAC item, GRD file, or a resolved Scene.
        client: a ``distributed.Client``.
        database_url: where to store; ``None`` detects only.
        model: the model card (file or folder); ``None``: the shipped model.
        options: resolution, chunk size, buffers.
        stac: STAC source for scene ids.
        trigger: the ``trigger`` row this run belongs to (a backfill).
        progress: progress callback.
        store_wait_s: how long a failed run waits for a vanished database to record its failure.

    Returns:
        The outcome; a failure of the scene (even an unexpected one, logged with its trace)
        is in it rather than raised, so that a batch goes on.
    """
    from model.card import ModelCard
    from model.registry import register
    from pipeline.store import begin_run, fail_run, finish_run

    options = options or Options()
    label = str(ref.scene_id if isinstance(ref, Scene) else ref)
    try:
        scene = ref if isinstance(ref, Scene) else resolve_scene(ref, stac=stac)
    except CatalogError as exc:
        return RunOutcome(ref=label, success=False, error=str(exc), reason="bad-reference")

    card_path = model_card_path(model)
    run_id = None
    if database_url is not None:
        card = ModelCard.load(card_path)
        parameters = {
            **options.as_dict(),
            "model": {"name": card.name, "version": card.version, "card": str(card_path)},
        }
        try:
            model_id = register(card_path, database_url)
            run_id = begin_run(
                database_url, scene, model_id=model_id, parameters=parameters, trigger=trigger
            )
        except (StoreError, ModelError, SQLAlchemyError) as exc:
            reason = exc.reason if isinstance(exc, StoreError) else "store"
            return RunOutcome(
                ref=label, success=False, scene_id=scene.scene_id, error=str(exc), reason=reason
            )
    outcome = RunOutcome(ref=label, success=False, scene_id=scene.scene_id, run_id=run_id)
    try:
        detection = run_detection(
            scene, client=client, model=card_path, options=options, progress=progress
        )
        outcome.detection = detection
        if database_url is not None and run_id is not None:
            if progress is not None:
                progress("store", 0, 1)
            ids = finish_run(
                database_url,
                run_id,
                detection.slicks,
                timings=detection.timings,
                statistics=detection.statistics,
            )
            outcome.slick_ids = ids
            if progress is not None:
                progress("store", 1, 1)
            outcome.reason = "stored"
        else:
            outcome.reason = "detected"
        outcome.success = True
        return outcome
    except (PipelineError, CatalogError, ModelError) as exc:
        outcome.error = str(exc)
        outcome.reason = exc.reason if isinstance(exc, PipelineError) else "error"
        failure: BaseException = exc
    except Exception as exc:  # a worker lost too often, GDAL, a bug: recorded, with its trace
        logger.exception("%s failed unexpectedly", label)
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.reason = "error"
        failure = exc
    if database_url is not None and run_id is not None:
        detection = outcome.detection
        fail_run(
            database_url,
            run_id,
            failure,
            wait_s=store_wait_s,
            timings=detection.timings if detection else None,
            statistics=detection.statistics if detection else None,
        )
    logger.warning("%s failed: %s", label, outcome.error)
    return outcome
