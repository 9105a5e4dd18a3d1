"""CQL2 filters in the query string, in front of pygeoapi.

pygeoapi 0.21 reads ``filter=`` as ECQL and answers ``filter-lang=cql2-text`` with "Invalid filter
language", while OGC API - Features Part 3 makes CQL2 text the default language. Round-tripping
CQL2 text through CQL2 JSON loses timestamps and envelopes (pygeofilter 0.4), so the expression
goes to the provider as written:

- :func:`rewrite_filter_params` moves a CQL2 ``filter`` (``filter-lang=cql2-text`` or
  ``cql2-json``, or no ``filter-lang`` and text that parses as CQL2) into a provider parameter,
  :data:`CQL2_TEXT` or :data:`CQL2_JSON`, which pygeoapi hands to
  :class:`service.provider.SlickwatchProvider` (collections are configured with
  ``include_extra_query_parameters``); the provider parses it with pygeofilter.
- Text that does not parse as CQL2 but as ECQL, and names no language, stays in ``filter`` for
  pygeoapi's ECQL parser, so ECQL keeps working.
- :func:`restore_filter_links` turns the provider parameter in the ``next``/``prev``/alternate links
  of a JSON answer back into ``filter-lang`` + ``filter``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any

from pygeofilter import ast as cql_ast
from pygeofilter import values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from pygeofilter.parsers.ecql import parse as parse_ecql

from service.errors import BadFilter

CQL2_TEXT = "filter-cql2-text"
"""Query parameter that carries a CQL2 text filter from the front to the provider."""

CQL2_JSON = "filter-cql2-json"
"""Query parameter that carries a CQL2 JSON filter from the front to the provider."""

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

_LANGUAGES = {"cql2-text": CQL2_TEXT, "cql2-json": CQL2_JSON}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _envelopes(node: Any) -> Any:
    """``node`` with CQL2's ``BBOX(x1, y1, x2, y2)`` literals, which pygeofilter 0.4 parses as
    calls of a function ``bbox``, turned into envelopes."""
    if isinstance(node, cql_ast.Function) and node.name.lower() == "bbox":
        args = node.arguments
        if len(args) in (4, 6) and all(isinstance(a, int | float) for a in args):
            x1, y1, x2, y2 = (
                (args[0], args[1], args[2], args[3])
                if len(args) == 4
                else (args[0], args[1], args[3], args[4])
            )
            return values.Envelope(x1, x2, y1, y2)
        return node
    if isinstance(node, list):
        return [_envelopes(n) for n in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {
            f.name: _envelopes(getattr(node, f.name))
            for f in dataclasses.fields(node)
            if isinstance(getattr(node, f.name), cql_ast.Node | list)
        }
        return dataclasses.replace(node, **changes) if changes else node
    return node


@functools.lru_cache(maxsize=512)
def parse_filter(text: str, language: str) -> cql_ast.Node:
    """Parse a CQL2 filter (``language`` is ``cql2-text`` or ``cql2-json``).

    Cached: a request's filter is parsed once although the front checks it and the provider
    uses it (lark takes ~1 ms), and pages that follow ``next`` links repeat it. The tree is
    shared, so callers must not change it (pygeoapi's ``modify_pygeofilter`` copies it).

    Raises:
        BadFilter: the text is not valid in that language (the message says where).
    """
    try:
        if language == "cql2-json":
            return _envelopes(parse_cql2_json(json.loads(text)))
        return _envelopes(parse_cql2_text(text))
    except Exception as exc:  # lark and json raise many kinds; all mean "bad filter"
        raise BadFilter(
            f"The filter is not valid {language.upper()}: {_first_line(exc)}. Example: "
            "filter=machine_confidence > 0.5 AND class_short_name = 'VESSEL'"
            "&filter-lang=cql2-text"
        ) from None


def rewrite_filter_params(params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The query parameters with a CQL2 ``filter`` moved to the provider's parameter.

    Raises:
        BadFilter: ``filter-lang`` is CQL2 and the filter does not parse, or a CQL2 filter comes
            with a ``filter-crs`` other than CRS84.
    """
    values = dict(params)
    for name, lang in ((CQL2_TEXT, "cql2-text"), (CQL2_JSON, "cql2-json")):
        if name in values:  # a provider parameter given as such (an unrestored link): check it
            parse_filter(values[name], lang)
    language = values.get("filter-lang")
    text = values.get("filter")
    if language not in (None, *_LANGUAGES):
        return list(params)  # ECQL or CQL JSON: pygeoapi's own
    if text is None:
        return [(k, v) for k, v in params if k != "filter-lang"]
    if language is None:
        try:
            parse_cql2_text(text)
        except Exception as cql2_error:
            try:
                parse_ecql(text)
            except Exception:
                raise BadFilter(
                    f"The filter is neither CQL2 text nor ECQL: {_first_line(cql2_error)}."
                ) from None
            return list(params)  # ECQL: pygeoapi's own parser reads it
        language = "cql2-text"
    else:
        parse_filter(text, language)
    if values.get("filter-crs", CRS84) != CRS84:
        raise BadFilter(
            "filter-crs is supported with ECQL (filter-lang=cql-text) only; give CQL2 "
            "geometries in CRS84 longitude/latitude."
        )
    target = _LANGUAGES[language]
    out = []
    for key, value in params:
        if key == "filter":
            out.append((target, value))
        elif key not in ("filter-lang", "filter-crs"):
            out.append((key, value))
    return out


def restore_filter_links(body: bytes) -> bytes:
    """A JSON answer whose links name the provider's filter parameter, with OGC ones instead.

    pygeoapi writes the links after the features, and a JSON string cannot hold an unescaped
    ``"links":``, so only the text after the last ``"links":`` is touched; the provider parameter
    becomes ``filter-lang=...&filter=`` followed by the same (already URL-encoded) value. This
    avoids decoding and re-encoding a page of features.
    """
    start = body.rfind(b'"links":')
    if start < 0:
        return body
    tail = body[start:]
    for name, language in ((CQL2_TEXT, "cql2-text"), (CQL2_JSON, "cql2-json")):
        tail = tail.replace(f"{name}=".encode(), f"filter-lang={language}&filter=".encode())
    return body[:start] + tail
