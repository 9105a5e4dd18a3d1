"""Errors of ``pipeline``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error raised by ``pipeline``."""

    reason = "error"
    """Short machine-readable outcome recorded on the run row (``statistics.outcome``)."""


class GridError(PipelineError, ValueError):
    """The working grid cannot be made (bad resolution or chunk size, geographic CRS, too large)."""

    reason = "bad-parameters"


class RasterReadError(PipelineError):
    """A measurement raster cannot be read: missing, truncated, corrupt or not georeferenced."""

    reason = "unreadable"


class EmptySceneError(PipelineError):
    """A scene with nothing to look at: every pixel nodata, or no open water."""

    reason = "empty"


class NoDataError(EmptySceneError):
    """Every pixel of the scene is nodata."""

    reason = "all-nodata"


class NoOceanError(EmptySceneError):
    """Every valid pixel of the scene is land (or within the coastal buffer)."""

    reason = "no-ocean"


class ClusterError(PipelineError):
    """A Dask cluster cannot be started or reached, or its specification is invalid."""

    reason = "cluster"


class StoreError(PipelineError):
    """The results could not be written to the database; nothing of the run was kept but its row."""

    reason = "store"


class OutputError(PipelineError, ValueError):
    """An output file that cannot be written (unknown extension, unwritable folder)."""

    reason = "output"
