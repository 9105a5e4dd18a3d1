"""Errors of ``pipeline``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error raised by ``pipeline``."""
