"""Scene jobs: ``POST /orchestrate`` queues one scene on the Dask cluster, ``GET /jobs/{id}``
tells how it went.

A job is a ``trigger`` row (``trigger_type = 'API'``): its id is the job id, so the job survives a
restart of the service in the database (its run rows point at it through
``orchestrator_run.trigger``). The service runs :func:`pipeline.orchestrate.run_scene` for it in a
worker thread, one scene at a time by default, on the cluster of the settings (a local cluster of
processes started at the first job, or ``SLICKWATCH_SCHEDULER``); states are ``queued``,
``running``, ``succeeded``, ``failed``, and ``lost`` for a job whose service stopped before it
ran. A dry run resolves the scene, answers the relevancy decision and the processing plan, and
writes nothing. A scene the relevancy filter rejects is not queued unless ``force`` is true.

Both endpoints need an API key with the ``orchestrate`` scope.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from schema.database import engine_for
from schema.settings import Settings
from service.auth import Gate
from service.bodies import RequestBody, read_body
from service.errors import BadRequest, JobsUnavailable, SceneNotRelevant, UnknownJob

log = logging.getLogger(__name__)

SCOPE = "orchestrate"
"""Scope an API key needs for jobs."""

MAX_JOB_ID = 2**31 - 1
"""Largest job id (``trigger.id`` is an integer)."""


class OrchestrateBody(RequestBody):
    """What to run: a scene id (found in the settings' STAC source) or a STAC item."""

    scene_id: str | None = Field(default=None, min_length=1, max_length=200)
    stac_item: dict[str, Any] | str | None = None
    dry_run: bool = False
    force: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> OrchestrateBody:
        if (self.scene_id is None) == (self.stac_item is None):
            raise ValueError("give either scene_id or stac_item (a STAC item, or its URL)")
        return self


@dataclass
class Job:
    """A job this service process queued."""

    id: int
    """The ``trigger`` row."""
    scene_id: str
    """The scene."""
    submitted: datetime
    """When it was queued."""
    model: Path
    """The model card it runs."""
    state: str = "queued"
    """``queued``, ``running``, ``succeeded`` or ``failed``."""
    started: datetime | None = None
    """When it began to run."""
    finished: datetime | None = None
    """When it ended."""
    outcome: Any = None
    """The :class:`pipeline.orchestrate.RunOutcome`, once it ended."""
    error: str | None = None
    """Why it failed."""
    future: Future | None = field(default=None, repr=False)


def _resolve(body: OrchestrateBody, stac: str | None) -> Any:
    """The ``Scene`` a request names (catalog errors propagate: 422)."""
    import pystac

    from catalog.scene import resolve_scene

    if body.scene_id is not None:
        return resolve_scene(body.scene_id, stac=stac)
    if isinstance(body.stac_item, dict):
        try:
            item = pystac.Item.from_dict(body.stac_item)
        except Exception as exc:  # pystac raises KeyError/TypeError/ValueError for bad items
            raise BadRequest(f"stac_item is not a STAC item: {type(exc).__name__}: {exc}") from None
        return resolve_scene(item)
    return resolve_scene(body.stac_item, stac=stac)


class JobManager:
    """The jobs of one app: queue, worker thread, Dask client, routes."""

    def __init__(
        self, settings: Settings, database_url: str, gate: Gate, *, base_url: str, workers: int = 1
    ):
        self.settings = settings
        self.database_url = database_url
        self.gate = gate
        self.base_url = base_url.rstrip("/")
        self.jobs: dict[int, Job] = {}
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scene-job")
        self._client_lock = threading.Lock()
        self._client_stack = contextlib.ExitStack()
        self._client: Any = None

    # -------------------------------------------------------------------------------- planning

    def _model_card(self) -> Path:
        """The card of the model jobs run: ``SLICKWATCH_MODEL`` as a card file or folder, else as
        a registered ``name[:version]``, else the newest registered or the shipped model.

        Raises:
            JobsUnavailable: there is no such model (nothing registered, nothing shipped).
        """
        from model.errors import ModelError

        wanted = self.settings.model
        if wanted and Path(wanted).exists():
            path = Path(wanted)
            return (path / "card.json" if path.is_dir() else path).resolve()
        try:
            from model.registry import resolve_model

            return resolve_model(wanted, self.database_url).card_path
        except (ModelError, OSError) as exc:
            raise JobsUnavailable(
                f"No model to run scenes with: {exc}. Register one (slickwatch model register "
                "CARD) or set SLICKWATCH_MODEL to a model card."
            ) from None

    def _model_summary(self) -> dict[str, Any]:
        from model.card import ModelCard

        try:
            path = self._model_card()
        except JobsUnavailable as exc:
            return {"error": str(exc)}
        card = ModelCard.load(path)
        return {"name": card.name, "version": card.version, "card": str(path)}

    def plan(self, body: OrchestrateBody) -> dict[str, Any]:
        """The relevancy decision and the processing plan of a request (writes nothing)."""
        from catalog.relevancy import check_relevancy
        from pipeline.grid import scene_grid

        scene = _resolve(body, self.settings.stac_url)
        relevancy = check_relevancy(scene)
        grid = scene_grid(scene, resolution=self.settings.resolution)
        chunk = self.settings.chunk_size
        rows, cols = grid.shape
        model = self._model_summary()
        cluster = (
            f"scheduler {self.settings.scheduler}"
            if self.settings.scheduler
            else f"Kubernetes ({self.settings.kubernetes_spec})"
            if self.settings.kubernetes_spec
            else f"local cluster ({self.settings.n_workers or 'one worker per core'})"
        )
        west, south, east, north = scene.footprint.bounds
        return {
            "scene": scene,
            "scene_id": scene.scene_id,
            "relevant": bool(relevancy),
            "reasons": list(relevancy.reasons),
            "plan": {
                "scene_id": scene.scene_id,
                "start_time": scene.start.isoformat(),
                "footprint_bbox": [west, south, east, north],
                "polarizations": list(scene.polarizations),
                "georeferencing": scene.georeferencing,
                "resolution_m": self.settings.resolution,
                "chunk_size_px": chunk,
                "grid": {
                    "epsg": grid.epsg,
                    "rows": rows,
                    "cols": cols,
                    "blocks": -(-rows // chunk) * -(-cols // chunk),
                },
                "model": model,
                "cluster": cluster,
                "steps": [
                    "resolve",
                    "load",
                    "prepare",
                    "infer",
                    "vectorize",
                    "stitch",
                    "describe",
                    "store",
                ],
                "will_run": (bool(relevancy) or body.force) and "error" not in model,
            },
        }

    # ------------------------------------------------------------------------------- running

    def _dask_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from pipeline.cluster import open_client

                self._client = self._client_stack.enter_context(
                    open_client(
                        scheduler=self.settings.scheduler,
                        kubernetes=self.settings.kubernetes_spec,
                        n_workers=self.settings.n_workers,
                    )
                )
            return self._client

    def _record(self, scene_id: str, principal: str, body: OrchestrateBody) -> int:
        parameters = {
            "scene_id": scene_id,
            "requested_by": principal,
            "force": body.force,
            "source": "stac_item" if body.stac_item is not None else "scene_id",
        }
        with engine_for(self.database_url).begin() as conn:
            return conn.execute(
                sa.text(
                    "INSERT INTO trigger (trigger_type, scene_count, filtered_scene_count, "
                    "parameters) VALUES ('API', 1, 1, CAST(:parameters AS jsonb)) RETURNING id"
                ),
                {"parameters": json.dumps(parameters)},
            ).scalar_one()

    def _run(self, job: Job, scene: Any) -> None:
        from pipeline.detect import Options
        from pipeline.orchestrate import run_scene

        job.state, job.started = "running", datetime.now(UTC)
        try:
            outcome = run_scene(
                scene,
                client=self._dask_client(),
                database_url=self.database_url,
                model=job.model,
                options=Options(
                    resolution=self.settings.resolution, chunks=self.settings.chunk_size
                ),
                trigger=job.id,
            )
            job.outcome = outcome
            job.state = "succeeded" if outcome.success else "failed"
            job.error = outcome.error
        except Exception as exc:  # the cluster could not start, a bug: the job says so
            log.exception("job %d failed", job.id)
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = datetime.now(UTC)

    def submit(self, body: OrchestrateBody, principal: str) -> tuple[dict[str, Any], Job | None]:
        """Plan, and unless it is a dry run, queue the scene; returns the plan and the job."""
        planned = self.plan(body)
        scene = planned.pop("scene")
        if body.dry_run:
            return planned, None
        if not planned["relevant"] and not body.force:
            raise SceneNotRelevant(
                f"Scene {scene.scene_id} is not relevant ({'; '.join(planned['reasons'])}); "
                'nothing was queued. Send "force": true to run it anyway.'
            )
        model = self._model_card()
        job_id = self._record(scene.scene_id, principal, body)
        job = Job(id=job_id, scene_id=scene.scene_id, submitted=datetime.now(UTC), model=model)
        self.jobs[job_id] = job
        job.future = self._executor.submit(self._run, job, scene)
        return planned, job

    def status(self, job_id: int) -> dict[str, Any]:
        """What is known about a job: its state, and its run and slicks once it has them."""
        with engine_for(self.database_url).connect() as conn:
            trigger = (
                conn.execute(
                    sa.text(
                        "SELECT id, trigger_time, parameters FROM trigger "
                        "WHERE id = :id AND trigger_type = 'API'"
                    ),
                    {"id": job_id},
                )
                .mappings()
                .first()
            )
            if trigger is None:
                raise UnknownJob(f"No job {job_id}; POST /orchestrate answers with job ids.")
            run = (
                conn.execute(
                    sa.text(
                        "SELECT id, success, error, run_start, run_end FROM orchestrator_run "
                        "WHERE trigger = :id ORDER BY id DESC LIMIT 1"
                    ),
                    {"id": job_id},
                )
                .mappings()
                .first()
            )
            slick_ids = []
            if run is not None:
                slick_ids = list(
                    conn.execute(
                        sa.text("SELECT id FROM slick WHERE orchestrator_run = :run ORDER BY id"),
                        {"run": run["id"]},
                    ).scalars()
                )
        job = self.jobs.get(job_id)
        if job is not None:
            state, error = job.state, job.error
        elif run is None:
            state, error = "lost", "The service stopped before this job ran; submit it again."
        else:
            state = {None: "running", True: "succeeded", False: "failed"}[run["success"]]
            error = run["error"]
        answer: dict[str, Any] = {
            "job_id": job_id,
            "state": state,
            "scene_id": (trigger["parameters"] or {}).get("scene_id"),
            "submitted": trigger["trigger_time"].isoformat(),
            "run_id": run["id"] if run is not None else None,
            "slick_ids": slick_ids,
            "error": error,
            "links": [{"rel": "self", "href": f"{self.base_url}/jobs/{job_id}"}],
        }
        if job is not None and job.outcome is not None:
            answer["reason"] = job.outcome.reason
        if run is not None:
            answer["links"].append(
                {
                    "rel": "run",
                    "type": "application/geo+json",
                    "href": f"{self.base_url}/collections/runs/items/{run['id']}",
                }
            )
        return answer

    # -------------------------------------------------------------------------------- routes

    async def orchestrate(self, request: Request) -> JSONResponse:
        """POST /orchestrate"""
        principal = await self.gate.require(request, SCOPE)
        body = await read_body(request, OrchestrateBody)
        try:
            planned, job = await run_in_threadpool(self.submit, body, principal.name)
        except ImportError as exc:
            raise JobsUnavailable(
                f"Scene jobs need the pipeline, which cannot load: {exc}"
            ) from exc
        if job is None:
            return JSONResponse({"dry_run": True, **planned})
        href = f"{self.base_url}/jobs/{job.id}"
        return JSONResponse(
            {
                "job_id": job.id,
                "state": job.state,
                "dry_run": False,
                **planned,
                "links": [{"rel": "status", "href": href}],
            },
            status_code=202,
            headers={"Location": href},
        )

    async def job(self, request: Request) -> JSONResponse:
        """GET /jobs/{job_id}"""
        await self.gate.require(request, SCOPE)
        text = request.path_params["job_id"]
        try:
            job_id = int(text)
        except ValueError:
            raise UnknownJob(f"No job {text!r}: job ids are integers.") from None
        if not 1 <= job_id <= MAX_JOB_ID:
            raise UnknownJob(f"No job {job_id}.")
        return JSONResponse(await run_in_threadpool(self.status, job_id))

    def routes(self) -> list[Route]:
        """The routes, for a Starlette app."""
        return [
            Route("/orchestrate", self.orchestrate, methods=["POST"]),
            Route("/jobs/{job_id}", self.job),
        ]

    def close(self) -> None:
        """Stop taking jobs, drop queued ones, and close the Dask client."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._client_lock:
            self._client_stack.close()
            self._client = None


def openapi_paths() -> dict[str, Any]:
    """OpenAPI path items of the job endpoints."""
    from service.openapi import KEY_REQUIRED

    guarded = {
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
    }
    answer = {"content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/orchestrate": {
            "post": {
                "summary": "Queue one scene on the Dask cluster (or plan it: dry_run)",
                "tags": ["jobs"],
                "security": KEY_REQUIRED,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "scene_id": {"type": "string"},
                                    "stac_item": {
                                        "oneOf": [{"type": "object"}, {"type": "string"}]
                                    },
                                    "dry_run": {"type": "boolean", "default": False},
                                    "force": {"type": "boolean", "default": False},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "The dry run's decision and plan.", **answer},
                    "202": {"description": "Queued: the job id.", **answer},
                    "400": {"$ref": "#/components/responses/InvalidParameter"},
                    **guarded,
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "422": {"$ref": "#/components/responses/Unprocessable"},
                    "503": {"$ref": "#/components/responses/Unavailable"},
                },
            }
        },
        "/jobs/{job_id}": {
            "get": {
                "summary": "A job's state and, once done, its run and slick ids",
                "tags": ["jobs"],
                "security": KEY_REQUIRED,
                "parameters": [
                    {
                        "name": "job_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    }
                ],
                "responses": {
                    "200": {"description": "The job.", **answer},
                    **guarded,
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            }
        },
    }
