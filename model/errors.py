"""Errors of ``model``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class ModelError(Exception):
    """Base class of every error raised by ``model``."""


class InvalidModelCard(ModelError):
    """A card that does not parse or contradicts itself."""


class ModelFileMissing(ModelError):
    """A card, weights or TorchScript file that is not where the card says."""


class ModelHashMismatch(ModelError):
    """A weights file whose SHA-256 differs from the one on its card."""


class UnknownLayer(ModelError):
    """A card asks for an input layer the project cannot prepare."""


class InvalidInput(ModelError):
    """An array given to the predictor with the wrong shape, dtype or layer count."""


class ModelNotRegistered(ModelError):
    """A model name (or name:version) that the ``model`` table does not hold."""


class TrainingDataError(ModelError):
    """Training data that cannot be made or read (simulator missing, cache corrupt, ...)."""
