"""GeoJSON features written by PostgreSQL, spliced into pygeoapi's answers as text.

pygeoapi turns a provider's rows into Python dicts and encodes the whole answer with
:func:`json.dumps`; for a page of 100 slicks (33-vertex polygons, 30 properties) that decoding and
re-encoding cost more CPU than the query. For JSON answers without a CRS change the OGC routes
(:mod:`service.ogc`) therefore ask the provider for feature *text* instead:

1. the route puts a :class:`RawFeatures` holder into :data:`RAW_FEATURES` (a context variable:
   Starlette's worker thread, where pygeoapi and the provider run, sees it);
2. the provider's statement builds each feature's GeoJSON in the database (:func:`feature_text`),
   keeps the texts in the holder and hands pygeoapi a *shell*: one ``null`` per feature of a page
   (pygeoapi counts them for its ``next`` link), or ``{"type": "Feature"}`` for one item;
3. pygeoapi validates the request, adds ``links``, ``numberMatched``/``numberReturned`` and
   ``timeStamp`` and encodes the shell as usual; :meth:`RawFeatures.splice` then puts the
   features' text where the shell's placeholders are.

The answer holds the same members, in the same order, with the same values as pygeoapi's own
encoding of the provider's dicts (``tests/service/test_raw_geojson.py`` compares the two): only
the spacing inside ``properties``, the escaping of non-ASCII text (UTF-8 here, ``\\u`` escapes
there) and the spelling of whole-number floats (``1`` for ``1.0``) differ. Timestamps are
written as Python's ``isoformat`` writes them, in UTC, the service sessions' time zone
(:func:`service.provider.service_engine`).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field

import sqlalchemy as sa

MAX_PROPERTIES = 50
"""Most properties one ``json_build_object`` call takes (PostgreSQL allows 100 arguments)."""

_PAGE_SHELL = '{"type":"FeatureCollection","features":['
_ITEM_SHELL = '{"type":"Feature",'


class SpliceError(RuntimeError):
    """pygeoapi's answer does not start with the shell the provider gave it (a bug here)."""


@dataclass
class RawFeatures:
    """Feature texts of one request, from the provider to the route (one per request)."""

    page: list[str] | None = None
    """GeoJSON text of each feature of a page, in order (set by the provider's ``query``)."""
    item: str | None = None
    """GeoJSON text of one feature (set by the provider's ``get``)."""
    _shell: list[None] = field(default_factory=list, repr=False)

    def page_shell(self, texts: list[str]) -> list[None]:
        """Keep a page's feature texts; the ``features`` list to give pygeoapi instead."""
        self.page = texts
        self._shell = [None] * len(texts)
        return self._shell

    def item_shell(self, text: str) -> dict[str, str]:
        """Keep one feature's text; the feature to give pygeoapi instead."""
        self.item = text
        return {"type": "Feature"}

    @property
    def used(self) -> bool:
        """Whether the provider answered with text (else pygeoapi's answer is complete)."""
        return self.page is not None or self.item is not None

    def splice(self, body: str) -> str:
        """pygeoapi's JSON answer with the features' text in place of the shell.

        Raises:
            SpliceError: the answer does not start with the shell.
        """
        if self.page is not None:
            shell = _PAGE_SHELL + ",".join(["null"] * len(self.page)) + "]"
            if not body.startswith(shell):
                raise SpliceError(f"a page answer starts with {body[:80]!r}")
            return f"{_PAGE_SHELL}{','.join(self.page)}]{body[len(shell) :]}"
        if self.item is not None:
            if not body.startswith(_ITEM_SHELL):
                raise SpliceError(f"an item answer starts with {body[:80]!r}")
            # the feature's text ends with "}": the shell's other members follow inside it
            return f"{self.item[:-1]},{body[len(_ITEM_SHELL) :]}"
        return body


RAW_FEATURES: ContextVar[RawFeatures | None] = ContextVar("raw_features", default=None)
"""The current request's holder, when its answer may be spliced (``None``: plain pygeoapi)."""


def feature_text(
    identifier: sa.ColumnElement,
    properties: dict[str, sa.ColumnElement],
    geometry: sa.ColumnElement | None,
    *,
    digits: int,
) -> sa.ColumnElement:
    """SQL for one row's GeoJSON Feature as text:
    ``{"type":"Feature","id":...,"geometry":...,"properties":{...}}``.

    Args:
        identifier: the ``id`` column.
        properties: the properties, by name, in output order (at most :data:`MAX_PROPERTIES`).
        geometry: a ``geometry`` column in EPSG:4326 (``None``: ``"geometry":null``).
        digits: decimal digits of coordinates.
    """
    if len(properties) > MAX_PROPERTIES:
        raise ValueError(f"{len(properties)} properties; at most {MAX_PROPERTIES} fit")
    arguments = [
        part for name, column in properties.items() for part in (_constant(name), _value(column))
    ]
    shape = (
        sa.func.coalesce(sa.func.ST_AsGeoJSON(geometry, digits), _constant("null"))
        if geometry is not None
        else _constant("null")
    )
    return sa.func.concat(
        _constant('{"type":"Feature","id":'),
        sa.cast(sa.func.to_json(identifier), sa.Text),
        _constant(',"geometry":'),
        shape,
        _constant(',"properties":'),
        sa.cast(sa.func.json_build_object(*arguments), sa.Text),
        _constant("}"),
    )


def _value(column: sa.ColumnElement) -> sa.ColumnElement:
    """A property as ``json_build_object`` should see it: timestamps as the text Python's
    ``isoformat`` writes (PostgreSQL's JSON drops trailing zeros of the fraction: ``.1234``
    where Python writes ``.123400``), everything else as it is. Time zone: UTC (the service's
    sessions are in UTC, so Python's values carry ``+00:00`` too)."""
    if not isinstance(column.type, sa.DateTime):
        return column
    local = sa.func.timezone(_constant("UTC"), column) if column.type.timezone else column
    # a whole second has no fraction in isoformat: drop ".000000" (it cannot occur elsewhere)
    text = sa.func.replace(
        sa.func.to_char(local, _constant('YYYY-MM-DD"T"HH24:MI:SS.US')),
        _constant(".000000"),
        _constant(""),
    )
    return text.op("||")(_constant("+00:00")) if column.type.timezone else text


_NAME = re.compile(r'^[A-Za-z0-9_ {}":,.+\-]*$')


def _constant(text: str) -> sa.ColumnElement:
    """A constant text written into the statement (names of our own columns and JSON
    punctuation only: never values from a request, which stay bound parameters)."""
    if not _NAME.match(text):
        raise ValueError(f"{text!r} is not a column name or JSON punctuation")
    return sa.literal_column(f"'{text}'", sa.Text)
