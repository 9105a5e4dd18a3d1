"""The model registry: ``model`` rows in the database, pointing at model cards on disk.

``register(card_path, database_url)`` records a card (idempotent for the same files);
``resolve_model(name, database_url)`` finds the card the pipeline should use: the named model
(``name`` or ``name:version``), else the newest registered, else the shipped one. Any model with a
card is usable through this path, a foreign TorchScript model included: the card says its inputs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from model.card import CARD_FILE, ModelCard
from model.errors import ModelError, ModelFileMissing, ModelHashMismatch, ModelNotRegistered
from model.predictor import SHIPPED_DIR, shipped_card

logger = logging.getLogger(__name__)


class ModelVersionTaken(ModelError):
    """``name:version`` is registered already with different files."""


@dataclass(frozen=True)
class ResolvedModel:
    """A model found for a run."""

    card: ModelCard
    """Its card (``card.location`` is its folder)."""
    card_path: Path
    """Its ``card.json``."""
    model_id: int | None
    """Its ``model.id``; ``None`` for the shipped model when it is not registered."""

    def __dask_tokenize__(self) -> tuple:
        return (str(self.card_path), self.card.artifact()[1], self.model_id)


def _card_path(path: str | Path) -> Path:
    path = Path(path)
    return (path / CARD_FILE if path.is_dir() else path).resolve()


def _url(database_url: str | None) -> str:
    from schema.database import database_url as default_url
    from schema.database import normalize_url

    return normalize_url(database_url) if database_url else default_url()


def register(card_path: str | Path | None, database_url: str | None = None) -> int:
    """Write (or find) the ``model`` row of a card and return its id.

    Args:
        card_path: a ``card.json`` or its folder; ``None`` for the shipped model.
        database_url: SQLAlchemy URL; ``None`` means the project database (settings).

    Raises:
        ModelHashMismatch: a file differs from the hash on the card.
        ModelVersionTaken: the name and version are registered with other weights.
    """
    import sqlalchemy as sa

    from schema.database import session_scope
    from schema.models import Model

    path = _card_path(card_path if card_path is not None else SHIPPED_DIR)
    card = ModelCard.load(path)
    card.verify()
    _, file_hash = card.artifact()
    with session_scope(_url(database_url)) as session:
        existing = session.scalars(
            sa.select(Model)
            .where(Model.name == card.name, Model.version == card.version)
            .with_for_update()
        ).one_or_none()
        if existing is not None:
            if existing.file_hash != file_hash:
                raise ModelVersionTaken(
                    f"model {card.name}:{card.version} is registered already "
                    f"(id {existing.id}) with "
                    "other weights: give the new model another version on its card."
                )
            if existing.file_path != str(path):
                existing.file_path = str(path)
            logger.info(
                "model %s:%s already registered as %d", card.name, card.version, existing.id
            )
            return existing.id
        meta = card.model_dump(
            mode="json",
            exclude={
                "name",
                "version",
                "layers",
                "classes",
                "thresholds",
                "resolution_m",
                "tile_size",
                "metrics",
            },
        )
        row = Model(
            name=card.name,
            version=card.version,
            description=f"{card.architecture}, inputs {', '.join(card.layers)}",
            file_path=str(path),
            file_hash=file_hash,
            layers=list(card.layers),
            class_map={str(k): v for k, v in card.classes.items()},
            thresholds=card.thresholds.model_dump(mode="json"),
            resolution_m=card.resolution_m,
            tile_size_px=card.tile_size,
            metrics=card.metrics or None,
            meta=meta,
        )
        session.add(row)
        session.flush()
        logger.info("registered model %s:%s as %d", card.name, card.version, row.id)
        return row.id


def resolve_model(name: str | None = None, database_url: str | None = None) -> ResolvedModel:
    """The model a run should use.

    Args:
        name: ``name`` (newest version of it) or ``name:version``; ``None`` for the newest
            registered model, or the shipped one when none is registered.
        database_url: SQLAlchemy URL; ``None`` means the project database (settings).

    Raises:
        ModelNotRegistered: ``name`` is neither registered nor the shipped model.
        ModelFileMissing, ModelHashMismatch: the registered card or its files moved or changed.
    """
    import sqlalchemy as sa

    from schema.database import session_scope
    from schema.models import Model

    wanted_name, _, wanted_version = (name or "").partition(":")
    query = sa.select(Model).order_by(Model.create_time.desc(), Model.id.desc()).limit(1)
    if wanted_name:
        query = query.where(Model.name == wanted_name)
    if wanted_version:
        query = query.where(Model.version == wanted_version)
    with session_scope(_url(database_url)) as session:
        row = session.scalars(query).one_or_none()
        found = None if row is None else (row.id, row.file_path, row.file_hash)
    if found is None:
        shipped = shipped_card()
        if not wanted_name or (
            wanted_name == shipped.name and wanted_version in ("", shipped.version)
        ):
            return ResolvedModel(shipped, _card_path(SHIPPED_DIR), None)
        raise ModelNotRegistered(
            f"no model {name!r} in the registry: list them with 'slickwatch model list', or "
            "register one with 'slickwatch model register CARD'."
        )
    model_id, file_path, file_hash = found
    path = Path(file_path)
    if not path.is_file():
        raise ModelFileMissing(
            f"model {model_id} is registered at {path}, which is gone: restore it, or register the "
            "card at its new place ('slickwatch model register CARD')."
        )
    card = ModelCard.load(path)
    card.verify()
    _, actual = card.artifact()
    if file_hash and actual != file_hash:
        raise ModelHashMismatch(
            f"model {model_id}'s file at {path} no longer has the registered SHA-256: "
            "restore it, or "
            "register it as a new version."
        )
    return ResolvedModel(card, path, model_id)


def list_models(database_url: str | None = None) -> list[dict[str, object]]:
    """Registered models, newest first (id, name, version, layers, file path, created)."""
    import sqlalchemy as sa

    from schema.database import session_scope
    from schema.models import Model

    with session_scope(_url(database_url)) as session:
        rows = session.scalars(sa.select(Model).order_by(Model.create_time.desc(), Model.id.desc()))
        return [
            {
                "id": r.id,
                "name": r.name,
                "version": r.version,
                "layers": list(r.layers),
                "file_path": r.file_path,
                "created": r.create_time.isoformat() if r.create_time else None,
            }
            for r in rows
        ]
