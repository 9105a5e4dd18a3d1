"""pygeoapi feature provider over the slickwatch collections (a plugin subclass of pygeoapi's own).

pygeoapi 0.21's :class:`~pygeoapi.provider.sql.PostgreSQLProvider` reflects one table, maps it with
the ORM and trusts its input; this subclass keeps its interface and replaces what falls short,
without patching pygeoapi:

- **counts**: pygeoapi runs ``count(*)`` over the whole match for every page, which on a million
  slicks costs more than the page. Here ``numberMatched`` comes for free when the page reaches the
  end of the results (the provider reads ``limit + 1`` rows, so it knows), and is then exact;
  otherwise it is omitted, as OGC API - Features allows, and clients follow the ``next`` links.
  ``resulttype=hits`` asks for the count and gets an exact one.
- **sources**: a collection is any ``SELECT`` of :mod:`service.collections` (joins, geography
  columns cast to geometry), not only one table.
- **bad input**: property values are converted to the column's type, filters naming unknown
  properties or functions, out-of-range bboxes, datetimes and offsets are 400s with a message, and
  database errors become 400 (bad values) or 503 (database away or too slow), never a traceback.
- **speed**: rows are read with SQLAlchemy Core over a pool of psycopg 3 connections (statements
  prepared per connection); a page selects the ids first, then the full rows of those ids only.
  For GeoJSON answers the database writes each feature's text (:mod:`service.raw_geojson`), and
  pygeoapi only wraps it; other formats (HTML, CSV, JSON-LD, another ``crs``) get dicts.

CQL2 text is parsed in front of pygeoapi (:mod:`service.cql2`); the provider gets pygeofilter ASTs
from ECQL, CQL2 text and CQL2 JSON alike.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import shapely
import shapely.geometry
import sqlalchemy as sa
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderGenericError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)
from pygeoapi.provider.sql import PostgreSQLProvider
from pygeoapi.util import modify_pygeofilter
from pygeofilter import ast as cql_ast
from pygeofilter.backends.sqlalchemy.evaluate import to_filter
from pygeofilter.backends.sqlalchemy.filters import function_map
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.engine import Connection, Engine

from schema.database import normalize_url
from service.collections import COLLECTIONS, CollectionSpec
from service.cql2 import CQL2_JSON, CQL2_TEXT, CRS84, parse_filter
from service.errors import BadFilter
from service.raw_geojson import MAX_PROPERTIES, RAW_FEATURES, feature_text

log = logging.getLogger(__name__)

MAX_OFFSET = 1_000_000
"""Largest ``offset`` accepted; deeper pages are better reached with a narrower filter."""

STATEMENT_TIMEOUT_MS = 30_000
"""Longest one query of the service may run in the database, ms."""

GEOJSON_DIGITS = 6
"""Decimal digits of coordinates in GeoJSON output (1e-6 degree is about 10 cm)."""

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ProviderUnavailable(ProviderGenericError):
    """The database cannot be reached, or did not answer in time."""

    ogc_exception_code = "ServiceUnavailable"
    http_status_code = HTTPStatus.SERVICE_UNAVAILABLE
    default_msg = "The database is unavailable right now; try again in a moment."


def _bad(message: str) -> ProviderInvalidQueryError:
    return ProviderInvalidQueryError(user_msg=message)


def json_type(column_type: sa.types.TypeEngine) -> dict[str, str]:
    """JSON-schema type (and format) of a column, as pygeoapi's ``fields`` hold them."""
    if isinstance(column_type, sa.Boolean):
        return {"type": "boolean"}
    if isinstance(column_type, sa.Integer):
        return {"type": "integer"}
    if isinstance(column_type, sa.Float | sa.Numeric):
        return {"type": "number"}
    if isinstance(column_type, sa.DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(column_type, ARRAY):
        return {"type": "array"}
    if isinstance(column_type, JSON | JSONB):
        return {"type": "object"}
    return {"type": "string"}


@dataclass(frozen=True, eq=False)  # one per (database, collection): hashed by identity
class Source:
    """A collection's rows as a subquery, with its columns sorted out."""

    spec: CollectionSpec
    """The collection."""
    engine: Engine
    """Where the rows are."""
    rows: sa.Subquery
    """The collection's ``SELECT`` as a subquery (filters and sorting refer to it)."""
    rows_out: sa.Subquery
    """A second copy of it, for the columns of a page (``page_statement``)."""
    columns: dict[str, sa.ColumnElement]
    """Non-geometry columns by name (the properties)."""
    geometry: sa.ColumnElement | None
    """The ``geometry`` column, if any."""
    fields: dict[str, dict[str, str]]
    """JSON-schema type of each property."""


@functools.cache
def source_for(url: str, name: str) -> Source:
    """The :class:`Source` of collection ``name`` in the database at ``url`` (cached)."""
    spec = COLLECTIONS[name]
    engine = service_engine(url)
    select = spec.select(engine)
    rows = select.subquery(name)
    columns = {c.name: c for c in rows.c if c.name != "geometry"}
    geometry = rows.c.geometry if "geometry" in rows.c else None
    fields = {name: json_type(column.type) for name, column in columns.items()}
    return Source(spec, engine, rows, select.subquery(f"{name}_out"), columns, geometry, fields)


@functools.cache
def _item_statement(source: Source, *, as_text: bool = False) -> sa.Select:
    """One item's ``SELECT`` with the id as a parameter, built once per collection (its columns,
    or with ``as_text`` one column: the GeoJSON Feature's text)."""
    table = source.rows
    names = [n for n in source.columns if n != "id"]
    if as_text:
        columns = [_feature_column(source, table, tuple(names), skip_geometry=False)]
    else:
        columns = [table.c.id, *(table.c[n] for n in names)]
        if source.geometry is not None:
            columns.append(
                sa.func.ST_AsGeoJSON(table.c.geometry, GEOJSON_DIGITS).label("__geojson")
            )
    return sa.select(*columns).where(table.c.id == sa.bindparam("id"))


@functools.lru_cache(maxsize=256)
def _feature_column(
    source: Source, table: sa.Subquery, names: tuple[str, ...], *, skip_geometry: bool
) -> sa.ColumnElement:
    """The GeoJSON Feature text of a row of ``table`` with properties ``names`` (built once
    per collection and property selection)."""
    geometry = None if skip_geometry or source.geometry is None else table.c.geometry
    return feature_text(
        table.c.id, {n: table.c[n] for n in names}, geometry, digits=GEOJSON_DIGITS
    ).label("__feature")


def _text_answers(source: Source) -> bool:
    """Whether the collection's features can be written by the database (few enough columns)."""
    return len(source.columns) <= MAX_PROPERTIES


@functools.cache
def service_engine(url: str) -> Engine:
    """The engine the collections read with: a pool of connections, autocommit (no
    BEGIN/ROLLBACK round trips), a statement timeout and the UTC time zone set once per
    connection, and no ping before each use (a connection that the database dropped fails its
    query with a 503 and leaves the pool).

    Its driver is psycopg 3 whatever ``url`` names: it binds parameters on the server and
    prepares a statement that a connection runs for the fifth time, so the pages' statements
    (the same text for every bbox, datetime and filter value) are parsed and planned once per
    connection instead of once per request; PostgreSQL still plans a prepared statement for its
    values (``plan_cache_mode=auto``) until a generic plan proves as cheap. On a million slicks
    this halves a single item's database time and takes ~30% off a bbox page's.
    """
    return sa.create_engine(
        sa.make_url(normalize_url(url)).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=False,
        connect_args={
            # UTC: timestamps read ...+00:00 whether the database or Python writes the JSON
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c timezone=UTC",
            "application_name": "slickwatch-service",
        },
    )


def parse_instant(text: str, *, end: bool = False) -> datetime:
    """An RFC 3339 date-time (or a date: its first instant, or its last with ``end``) in UTC.

    Raises:
        ProviderInvalidQueryError: the text is no date or date-time.
    """
    text = text.strip()
    try:
        if _DATE_ONLY.match(text):
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            f"{text!r} is not an RFC 3339 date-time; write e.g. 2020-11-21T22:57:59Z, "
            "2020-11-21, or an interval such as 2020-11-01/2020-11-30 (.. for open ends)."
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _convert(name: str, column: sa.ColumnElement, value: str) -> Any:
    """A query-string value as a value of ``column``'s type (for ``?name=value`` filters)."""
    kind = column.type
    text = value.strip()
    try:
        if isinstance(kind, sa.Boolean):
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "t"):
                return True
            if lowered in ("false", "0", "no", "f"):
                return False
            raise ValueError(text)
        if isinstance(kind, sa.Integer):
            number = int(text)
            if not -(2**63) <= number < 2**63:
                raise ValueError(text)
            return number
        if isinstance(kind, sa.Float | sa.Numeric):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
    except ValueError:
        raise _bad(f"Property {name} is {json_type(kind)['type']}; {value!r} is not one.") from None
    if isinstance(kind, sa.DateTime):
        return parse_instant(text)
    if isinstance(kind, ARRAY | JSON | JSONB):
        raise _bad(
            f"Property {name} holds a list or an object; filter it with a CQL2 expression "
            "(filter=...) instead of a query parameter."
        )
    return value


def _names(node: Any) -> Iterator[cql_ast.Node]:
    """Every node of a pygeofilter AST, depth first."""
    yield node
    if isinstance(node, cql_ast.Node):
        for sub in node.get_sub_nodes():
            yield from _names(sub)
    elif isinstance(node, list | tuple):
        for sub in node:
            yield from _names(sub)


class SlickwatchProvider(PostgreSQLProvider):
    """Feature provider for one collection of :data:`service.collections.COLLECTIONS`.

    Provider definition (pygeoapi configuration): ``name: service.provider.SlickwatchProvider``,
    ``data``: the SQLAlchemy URL of the database, ``table``: the collection name, ``id_field``:
    ``id``, ``time_field`` and ``geom_field`` as the collection has them.
    """

    def __init__(self, provider_def: dict[str, Any]):
        # GenericSQLProvider.__init__ would reflect a table and open its own engine: not wanted here
        BaseProvider.__init__(self, provider_def)
        name = provider_def["table"]
        if name not in COLLECTIONS:
            raise ProviderGenericError(user_msg=f"No collection {name!r} in slickwatch.")
        self.source = source_for(str(provider_def["data"]), name)
        self.table = name
        self.id_field = "id"
        self.geom = "geometry" if self.source.geometry is not None else None
        self.time_field = self.source.spec.time_field
        self.title_field = provider_def.get("title_field", self.source.spec.title_field)
        self.storage_crs = provider_def.get("storage_crs", CRS84)
        self._engine = self.source.engine
        self._fields = dict(self.source.fields)

    def get_fields(self) -> dict[str, dict[str, str]]:
        """Properties and their JSON-schema types."""
        return self._fields

    # ---------------------------------------------------------------------------------- queries

    def query(
        self,
        offset: int = 0,
        limit: int = 10,
        resulttype: str = "results",
        bbox: Sequence[float] = (),
        datetime_: str | None = None,
        properties: Sequence[tuple[str, str]] = (),
        sortby: Sequence[dict[str, str]] = (),
        select_properties: Sequence[str] = (),
        skip_geometry: bool = False,
        q: str | None = None,
        filterq: cql_ast.Node | None = None,
        crs_transform_spec: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """A page of features (GeoJSON FeatureCollection) matching every condition given."""
        conditions = self.conditions(
            bbox=bbox, datetime_=datetime_, properties=properties, filterq=filterq
        )
        response: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        # the route takes feature text (service.raw_geojson) when the output is plain GeoJSON
        raw = RAW_FEATURES.get()
        as_text = raw is not None and crs_transform_spec is None and _text_answers(self.source)
        with self._connection() as conn:
            if resulttype == "hits":
                response["numberMatched"] = self._count(conn, conditions)
                response["numberReturned"] = 0
                return response
            statement = self.page_statement(
                offset=offset,
                limit=limit,
                sortby=sortby,
                select_properties=select_properties,
                skip_geometry=skip_geometry,
                conditions=conditions,
                as_text=as_text,
            )
            result = conn.execute(statement)
            rows = result.scalars().all() if as_text else result.mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            # exact for free when this page reaches the end; otherwise unknown (not counted)
            matched = offset + len(rows) if not more and (rows or offset == 0) else None
        if as_text:
            response["features"] = raw.page_shell(rows)
        else:
            transform = self._get_crs_transform(crs_transform_spec)
            response["features"] = [self._feature(row, transform) for row in rows]
        if matched is not None:
            response["numberMatched"] = matched
        response["numberReturned"] = len(rows)
        return response

    def conditions(
        self,
        *,
        bbox: Sequence[float] = (),
        datetime_: str | None = None,
        properties: Sequence[tuple[str, str]] = (),
        filterq: cql_ast.Node | None = None,
    ) -> list[sa.ColumnElement]:
        """The WHERE conditions of a query (property values, filters, bbox, datetime).

        Raises:
            ProviderInvalidQueryError: a bad value, property, filter, bbox or datetime.
        """
        plain, filters = [], [filterq] if filterq is not None else []
        for name, value in properties:
            if name in (CQL2_TEXT, CQL2_JSON):
                language = "cql2-text" if name == CQL2_TEXT else "cql2-json"
                filters.append(self._cql2(value, language))
            else:
                plain.append((name, value))
        return [
            *self._property_conditions(plain),
            *(c for node in filters for c in self._filter_conditions(node)),
            *self._bbox_conditions(bbox),
            *self._time_conditions(datetime_),
        ]

    def page_statement(
        self,
        *,
        offset: int = 0,
        limit: int = 10,
        sortby: Sequence[dict[str, str]] = (),
        select_properties: Sequence[str] = (),
        skip_geometry: bool = False,
        conditions: Sequence[sa.ColumnElement] | None = None,
        as_text: bool = False,
        **query: Any,
    ) -> sa.Select:
        """The ``SELECT`` of one page (``limit + 1`` rows, to know whether more follow).

        ``conditions`` come from :meth:`conditions`, or are built from ``query`` (its keyword
        arguments). Rows hold the id, the properties and the geometry as GeoJSON text
        (``__geojson``), or with ``as_text`` one column: each feature's GeoJSON text.
        """
        if offset > MAX_OFFSET:
            raise _bad(
                f"offset {offset} is too deep (at most {MAX_OFFSET}); narrow the query with "
                "bbox, datetime or a filter instead."
            )
        if conditions is None:
            conditions = self.conditions(**query)
        # ids (and sort keys) of the page first, then the full rows of those ids only: the view's
        # costly columns (GeoJSON, AOI lists) are computed for the page, not for every match
        keys = self._sort_keys(sortby)
        page = (
            sa.select(*(column.label(f"k{i}") for i, (column, _) in enumerate(keys)))
            .where(*conditions)
            .order_by(*(column.desc() if desc else column.asc() for column, desc in keys))
            .offset(offset)
            .limit(limit + 1)
            .subquery("page")
        )
        out = self.source.rows_out
        if as_text:
            names = tuple(self._property_names(select_properties))
            columns = [_feature_column(self.source, out, names, skip_geometry=skip_geometry)]
        else:
            columns = self._output_columns(select_properties, skip_geometry, table=out)
        return (
            sa.select(*columns)
            .join_from(out, page, out.c.id == page.c[f"k{len(keys) - 1}"])
            .order_by(
                *(
                    page.c[f"k{i}"].desc() if desc else page.c[f"k{i}"].asc()
                    for i, (_, desc) in enumerate(keys)
                )
            )
        )

    def item_statement(self, identifier: Any, *, as_text: bool = False) -> sa.Select:
        """The ``SELECT`` of one item (with ``as_text``: of its GeoJSON Feature text).

        Raises:
            ProviderItemNotFoundError: the identifier cannot be an id of this collection.
        """
        try:
            value = _convert("id", self.source.columns["id"], str(identifier))
        except ProviderInvalidQueryError:
            raise ProviderItemNotFoundError(
                user_msg=f"No item {identifier!r} in {self.table}: ids are integers."
            ) from None
        return _item_statement(self.source, as_text=as_text).params(id=value)

    def get(self, identifier: Any, crs_transform_spec: Any = None, **kwargs: Any) -> dict:
        """One feature by id; a 404 when there is none."""
        raw = RAW_FEATURES.get()
        as_text = raw is not None and crs_transform_spec is None and _text_answers(self.source)
        statement = self.item_statement(identifier, as_text=as_text)
        with self._connection() as conn:
            result = conn.execute(statement)
            row = result.scalar() if as_text else result.mappings().first()
        if row is None:
            raise ProviderItemNotFoundError(user_msg=f"No item {identifier} in {self.table}.")
        if as_text:
            return raw.item_shell(row)
        return self._feature(row, self._get_crs_transform(crs_transform_spec))

    # ------------------------------------------------------------------------- query building

    def _count(self, conn: Connection, conditions: list) -> int:
        """Rows matching ``conditions`` (a full count: ``resulttype=hits`` only)."""
        inner = sa.select(sa.literal(1)).select_from(self.source.rows).where(*conditions)
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one()
        )

    def _output_columns(
        self,
        select_properties: Sequence[str],
        skip_geometry: bool,
        *,
        table: sa.Subquery | None = None,
    ) -> list[sa.ColumnElement]:
        table = self.source.rows if table is None else table
        out = [table.c.id, *(table.c[n] for n in self._property_names(select_properties))]
        if self.source.geometry is not None and not skip_geometry:
            out.append(sa.func.ST_AsGeoJSON(table.c.geometry, GEOJSON_DIGITS).label("__geojson"))
        return out

    def _property_names(self, select_properties: Sequence[str]) -> list[str]:
        """Names of the properties a feature shows (all, or those selected), in column order."""
        return [
            n
            for n in self.source.columns
            if n != "id" and (not select_properties or n in select_properties)
        ]

    def _sort_keys(self, sortby: Sequence[dict[str, str]]) -> list[tuple[sa.ColumnElement, bool]]:
        """(column, descending) of each sort key, ending with ``id`` (stable pages)."""
        keys = []
        for item in sortby:
            column = self.source.columns.get(item["property"])
            if column is None:
                raise _bad(f"Cannot sort by {item['property']!r}: no such property.")
            keys.append((column, item.get("order") == "-"))
            if item["property"] == "id":
                return keys  # ids are unique: nothing after them matters
        keys.append((self.source.columns["id"], False))
        return keys

    def _property_conditions(self, properties: Sequence[tuple[str, str]]) -> list:
        conditions = []
        for name, value in properties:
            column = self.source.columns.get(name)
            if column is None:
                raise _bad(f"No property {name!r} in {self.table}; see its queryables.")
            conditions.append(column == _convert(name, column, value))
        return conditions

    def _filter_conditions(self, filterq: cql_ast.Node | None) -> list:
        if filterq is None:
            return []
        mapping = dict(self.source.columns)
        if self.source.geometry is not None:
            mapping["geometry"] = self.source.geometry
        for node in _names(filterq):
            if isinstance(node, cql_ast.Attribute) and node.name not in mapping:
                raise _bad(
                    f"The filter names {node.name!r}, which {self.table} does not have. "
                    f"Queryables: {', '.join(sorted(mapping))}."
                )
            if isinstance(node, cql_ast.Function) and node.name not in function_map:
                raise _bad(
                    f"The filter calls {node.name}(), which is not supported. "
                    f"Supported functions: {', '.join(sorted(function_map))} (and CASEI)."
                )
        try:
            return [to_filter(filterq, mapping)]
        except Exception as exc:  # pygeofilter raises plain KeyError/TypeError/ValueError
            raise _bad(f"This filter cannot be evaluated here: {exc}") from None

    def _cql2(self, text: str, language: str) -> cql_ast.Node:
        try:
            node = parse_filter(text, language)
        except BadFilter as exc:
            raise _bad(str(exc)) from None
        # CQL2 geometries are CRS84 like the storage: only the geometry's name may need mapping
        # (pygeoapi's CRS step would write SRID=CRS84, which PostGIS cannot read)
        return modify_pygeofilter(node, filter_crs_uri=CRS84, geometry_column_name=self.geom)

    def _bbox_conditions(self, bbox: Sequence[float]) -> list:
        if not bbox:
            return []
        if self.source.geometry is None:
            raise _bad(f"{self.table} has no geometry; leave out bbox.")
        values = [float(v) for v in bbox]
        if len(values) == 6:
            values = [values[0], values[1], values[3], values[4]]
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise _bad("bbox takes four finite numbers: minlon,minlat,maxlon,maxlat.")
        minx, miny, maxx, maxy = values
        if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise _bad(
                "bbox is out of range: longitudes go from -180 to 180, latitudes from -90 to 90, "
                "and miny must not exceed maxy."
            )
        geometry = self.source.geometry
        if minx <= maxx:
            return [geometry.ST_Intersects(sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))]
        # a bbox across the anti-meridian: its two halves
        return [
            sa.or_(
                geometry.ST_Intersects(sa.func.ST_MakeEnvelope(minx, miny, 180, maxy, 4326)),
                geometry.ST_Intersects(sa.func.ST_MakeEnvelope(-180, miny, maxx, maxy, 4326)),
            )
        ]

    def _time_conditions(self, datetime_: str | None) -> list:
        if datetime_ is None or datetime_.strip() in ("", "../..", "/"):
            return []
        if self.time_field is None:
            raise _bad(f"{self.table} has no time; leave out datetime.")
        column = self.source.columns[self.time_field]
        if "/" in datetime_:
            begin, _, end = datetime_.partition("/")
            conditions = []
            if begin.strip() not in ("", ".."):
                conditions.append(column >= parse_instant(begin))
            if end.strip() not in ("", ".."):
                conditions.append(column <= parse_instant(end, end=True))
            if len(conditions) == 2 and parse_instant(begin) > parse_instant(end, end=True):
                raise _bad(f"datetime {datetime_!r} ends before it begins.")
            return conditions
        if _DATE_ONLY.match(datetime_.strip()):
            return [
                column >= parse_instant(datetime_),
                column <= parse_instant(datetime_, end=True),
            ]
        return [column == parse_instant(datetime_)]

    # ---------------------------------------------------------------------------------- output

    def _feature(self, row: sa.RowMapping, transform: Any) -> dict[str, Any]:
        properties = {k: v for k, v in row.items() if k not in ("id", "__geojson")}
        geometry = None
        text = row.get("__geojson")
        if text is not None:
            geometry = json.loads(text)
            if transform is not None:
                geometry = shapely.geometry.mapping(transform(shapely.geometry.shape(geometry)))
        return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": properties}

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection (autocommit, with a statement timeout); database errors mapped."""
        try:
            with self._engine.connect() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: sa.exc.DBAPIError) -> ProviderGenericError:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None) or str(exc.orig).splitlines()[0]
        if code == "57014":
            return ProviderUnavailable(
                user_msg=f"The query ran longer than {STATEMENT_TIMEOUT_MS // 1000} s and was "
                "stopped; narrow it with bbox, datetime or a filter."
            )
        if code.startswith(("22", "42")):
            return _bad(f"The database cannot evaluate this query: {message}.")
        if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or code.startswith(
            ("08", "53", "57")
        ):
            log.warning("database unavailable: %s", message)
            return ProviderUnavailable()
        log.error("query of %s failed: %s", self.table, exc)
        return ProviderGenericError(user_msg="The query failed inside the service (logged).")
