"""Errors of ``catalog``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of every error raised by ``catalog``."""
