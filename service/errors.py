"""Errors of ``service``: one base class, specific subclasses whose messages say what to do.

Their HTTP status codes are in one table, :data:`service.http_errors.STATUS_CODES`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class of every error raised by ``service``."""


class BadRequest(ServiceError):
    """The request is malformed: a bad parameter or body (the message names it)."""


class BadFilter(BadRequest):
    """A CQL2 filter that does not parse."""


class AuthenticationRequired(ServiceError):
    """No API key was given where one is needed."""


class InvalidKey(ServiceError):
    """The API key given is unknown."""


class RevokedKey(InvalidKey):
    """The API key given was revoked."""


class MissingScope(ServiceError):
    """The API key is valid but may not do this."""


class UnknownScope(ServiceError):
    """A scope that API keys do not have."""


class UnknownJob(ServiceError):
    """No job with that id."""


class SceneNotRelevant(ServiceError):
    """The relevancy filter rejects the scene and the request did not force the run."""


class JobsUnavailable(ServiceError):
    """Scene jobs cannot run here (the pipeline or the Dask cluster is missing)."""


class ConfigurationError(ServiceError):
    """The service cannot start with these settings."""
