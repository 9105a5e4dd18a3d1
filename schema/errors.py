"""Errors of ``schema``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class SchemaError(Exception):
    """Base class of every error raised by ``schema``."""
