"""Errors of the backfill; subclasses of :class:`pipeline.errors.PipelineError`."""

from __future__ import annotations

from pipeline.errors import PipelineError


class BackfillError(PipelineError):
    """A backfill cannot start: bad area, dates, source, model or database."""

    reason = "backfill"


class BackfillParameterError(BackfillError, ValueError):
    """The area, the dates or the options of a backfill are malformed."""

    reason = "bad-parameters"


class BackfillDatabaseError(BackfillError):
    """The database cannot be reached, is not migrated, or refused the backfill's records."""

    reason = "store"
