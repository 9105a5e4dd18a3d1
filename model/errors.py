"""Errors of ``model``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class ModelError(Exception):
    """Base class of every error raised by ``model``."""
