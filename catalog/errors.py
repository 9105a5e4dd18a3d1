"""Errors of ``catalog``: one base class, specific subclasses whose messages say what to do."""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of every error raised by ``catalog``."""


class SceneIdError(CatalogError, ValueError):
    """A Sentinel-1 product identifier is malformed; the message names the bad part."""


class SceneNotFoundError(CatalogError, LookupError):
    """A scene id is not in the STAC source it was looked up in, or no source was given."""


class SceneReadError(CatalogError):
    """A scene file, item or its metadata cannot be read or does not describe a Sentinel-1 scene."""


class StacSourceError(CatalogError):
    """A STAC API or static catalog cannot be reached or read."""


class SearchParameterError(CatalogError, ValueError):
    """A search parameter (bbox, datetime, polarizations, ...) is malformed."""


class LandMaskError(CatalogError):
    """A land mask cannot be built for the requested grid."""
