"""Errors of ``service``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error raised by ``service``."""
