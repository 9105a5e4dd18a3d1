"""Errors of the simulator; each message says what to change."""

from __future__ import annotations

from catalog.errors import CatalogError


class SimulationError(CatalogError):
    """Base class of the simulator's errors."""


class InvalidSimulationConfig(SimulationError, ValueError):
    """A :class:`~catalog.simulate.SimulationConfig` field is out of range."""


class RealSceneNotFound(SimulationError, FileNotFoundError):
    """The real reference scene for ``--compare-real`` is not where it was looked for."""


class OutputExists(SimulationError, FileExistsError):
    """The output folder already holds a scene of that name."""
