"""Errors of ``schema``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class SchemaError(Exception):
    """Base class of every error raised by ``schema``."""


class ClusterError(SchemaError):
    """The private PostgreSQL cluster could not be set up, started or stopped."""


class PostgresNotInstalled(ClusterError):
    """The PostgreSQL server programs (initdb, pg_ctl) or the PostGIS extension are missing."""


class ClusterPermissionError(ClusterError):
    """The server user cannot reach or write the cluster's data folder."""


class ClusterStartFailed(ClusterError):
    """``pg_ctl start`` did not bring the server up."""


class MigrationError(SchemaError):
    """A migration could not be applied, or the database and the models disagree."""


class ReviewError(SchemaError):
    """Base class of the errors of review operations; nothing was changed when one is raised."""


class UnknownSlick(ReviewError):
    """A slick id that is not in the database."""


class InactiveSlick(ReviewError):
    """A slick that was already replaced by a later review (``active`` is false)."""


class ReviewConflict(ReviewError):
    """Another reviewer holds the slick right now."""


class InvalidReview(ReviewError):
    """The review's arguments are wrong (unknown class, bad confidence, bad geometry)."""


class ApiKeyError(SchemaError):
    """An API key could not be made (no name, or the name already holds an active key)."""
