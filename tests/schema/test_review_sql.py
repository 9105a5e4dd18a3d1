"""The five review SQL snippets of the seed README, run as written (only slick ids substituted),
their lineage through ``slick_history``, and the Python review operations giving the same rows."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa

from schema import review
from schema.database import engine_for
from tests.schema.slick_rows import add_run, add_slick, slick_row

README = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "seed" / "cerulean-cloud-README.txt"
)

SNIPPET = re.compile(
    r"(UPDATE slick SET active=False.*?RETURNING id;)(.*?)(?=UPDATE slick SET active=False|\Z)",
    re.S,
)

# columns that must be equal between the SQL result and the Python result
COMPARED = (
    "slick_timestamp",
    "wkb",
    "machine_confidence",
    "human_confidence",
    "active",
    "validated",
    "notes",
    "meta",
    "orchestrator_run",
    "slick_class",
    "area",
    "perimeter",
    "length",
    "polsby_popper",
    "fill_factor",
    "geometry_count",
    "largest_area",
    "median_area",
)


def readme_snippets() -> list[tuple[str, list[int]]]:
    """(SQL, ids passed to slick_history after it) for each HITL example of the README."""
    found = SNIPPET.findall(README.read_text())
    return [
        (sql, [int(i) for i in re.findall(r"slick_history\((\d+)\)", tail)]) for sql, tail in found
    ]


def run_snippet(conn: sa.Connection, sql: str, ids: dict[int, int]) -> list[int]:
    """Run one README snippet with its slick ids replaced; returns the ids it inserted.

    The only other change is dropping the README's ``# Returns 3 records`` remark, which is a note
    to the reader, not SQL.
    """
    sql = re.sub(r"\b\d{5}\b", lambda m: str(ids[int(m.group())]), sql)
    sql = re.sub(r"#[^\n]*", "", sql)
    update, insert = (part.strip() for part in sql.split(";", 1))
    conn.exec_driver_sql(update)
    return [row[0] for row in conn.exec_driver_sql(insert.rstrip(";"))]


def history(conn: sa.Connection, readme_id: int, ids: dict[int, int]) -> list[dict]:
    """``SELECT * FROM slick_history(N)`` as the README writes it, N substituted."""
    rows = conn.exec_driver_sql(f"SELECT * FROM slick_history({ids[readme_id]})").mappings()
    return [dict(r) for r in rows]


def ellipse(lon: float, lat: float, vertices: int) -> shapely.Polygon:
    return shapely.Polygon(
        [
            (
                lon + 0.05 * math.cos(2 * math.pi * i / vertices),
                lat + 0.01 * math.sin(2 * math.pi * i / vertices),
            )
            for i in range(vertices)
        ]
    )


@pytest.fixture
def twins(database_url: str) -> dict[str, tuple[int, int]]:
    """Pairs of identical slicks: one for the README SQL, one for the Python operations."""
    shapes = {
        "validate": (shapely.box(-75.0, 35.0, -74.98, 35.01), "seen by AIS", '{"source": "a"}'),
        "merge_first": (shapely.box(-74.5, 35.0, -74.48, 35.01), "first", '{"part": 1}'),
        "merge_second": (shapely.box(-74.49, 35.0, -74.47, 35.01), "second", '{"part": 2}'),
        # two parts, one of 400 vertices: ST_Subdivide gives 3 pieces, as in the README
        "split": (
            shapely.MultiPolygon(
                [ellipse(-74.0, 35.5, 400), shapely.box(-73.8, 35.5, -73.79, 35.51)]
            ),
            None,
            None,
        ),
    }
    pairs = {}
    with engine_for(database_url).begin() as conn:
        run = add_run(conn)
        for name, (geometry, notes, meta) in shapes.items():
            pairs[name] = tuple(
                add_slick(conn, geometry, run=run, notes=notes, meta=meta, confidence=0.7)
                for _ in range(2)
            )
    return pairs


def _same(sql_row: dict, py_row: dict, id_map: dict[int, int]) -> None:
    for column in COMPARED:
        assert sql_row[column] == py_row[column], column
    assert [id_map[i] for i in sql_row["slick"]] == py_row["slick"]


def _short_name(conn: sa.Connection, class_id: int) -> str:
    return conn.execute(
        sa.text("SELECT short_name FROM slick_class WHERE id = :id"), {"id": class_id}
    ).scalar_one()


def test_readme_review_sql_runs_as_written_and_python_gives_the_same_rows(
    database_url: str, twins: dict[str, tuple[int, int]]
) -> None:
    snippets = readme_snippets()
    assert len(snippets) == 5
    (validate_sql, h1), (reclass_sql, h2), (merge_sql, h3), (split_sql, h4), (note_sql, h5) = (
        snippets
    )
    engine = engine_for(database_url)
    a, a_py = twins["validate"]
    b, b_py = twins["merge_first"]
    c, c_py = twins["merge_second"]
    d, d_py = twins["split"]
    same = {a: a_py, b: b_py, c: c_py, d: d_py}  # SQL row -> Python row

    # 1. validate: 34913 -> 34927
    with engine.begin() as conn:
        (n1,) = run_snippet(conn, validate_sql, {34913: a})
    m1 = review.validate(a_py, human_confidence=0.9, db=database_url)
    same[n1] = m1
    with engine.connect() as conn:
        lineage = history(conn, h1[0], {34927: n1})
        _same(slick_row(conn, n1), slick_row(conn, m1), same)
    assert [(r["id"], r["depth"], r["active"], r["validated"]) for r in lineage] == [
        (n1, 0, True, True),
        (a, 1, False, False),
    ]
    assert lineage[0]["human_confidence"] == 0.9 and lineage[0]["slick"] == [a]

    # 2. change class: 34927 -> 34930, class id 3
    with engine.begin() as conn:
        (n2,) = run_snippet(conn, reclass_sql, {34927: n1})
        class_3 = _short_name(conn, 3)
    m2 = review.reclassify(m1, class_3, human_confidence=0.9, db=database_url)
    same[n2] = m2
    with engine.connect() as conn:
        lineage = history(conn, h2[0], {34930: n2})
        _same(slick_row(conn, n2), slick_row(conn, m2), same)
    assert [(r["id"], r["depth"]) for r in lineage] == [(n2, 0), (n1, 1), (a, 2)]
    assert lineage[0]["slick_class"] == 3 and lineage[0]["class_short_name"] == class_3
    assert [r["active"] for r in lineage] == [True, False, False]

    # 3. combine two slicks: (34817, 34816) -> 34931, class id 2
    with engine.begin() as conn:
        (n3,) = run_snippet(conn, merge_sql, {34817: b, 34816: c})
        class_2 = _short_name(conn, 2)
    m3 = review.merge([b_py, c_py], slick_class=class_2, human_confidence=0.9, db=database_url)
    same[n3] = m3
    with engine.connect() as conn:
        lineage = history(conn, h3[0], {34931: n3})
        merged = slick_row(conn, n3)
        _same(merged, slick_row(conn, m3), same)
        union_area = conn.execute(
            sa.text(
                "SELECT ST_Area(ST_Union(geometry::geometry)::geography) FROM slick "
                "WHERE id IN (:b, :c)"
            ),
            {"b": b, "c": c},
        ).scalar_one()
    assert [(r["id"], r["depth"], r["active"]) for r in lineage] == [
        (n3, 0, True),
        (b, 1, False),
        (c, 1, False),
    ]
    # ST_Union of two overlapping slicks is a Polygon; the table stores a one-part MultiPolygon
    assert merged["geometry_count"] == 1
    assert merged["area"] == pytest.approx(union_area, rel=1e-9)
    assert merged["slick"] == [b, c] and merged["slick_class"] == 2
    assert merged["notes"] == "first,second"
    assert merged["meta"] == [{"part": 1}, {"part": 2}]

    # 4. break one slick into n: 34817 -> 34933, 34934, 34935 (class id 3)
    with engine.begin() as conn:
        parts = run_snippet(conn, split_sql, {34817: d})
        subdivided = [
            shapely.from_wkb(bytes(w))
            for w in conn.execute(
                sa.text(
                    "SELECT ST_AsBinary(ST_Subdivide(geometry::geometry)) FROM slick WHERE id = :id"
                ),
                {"id": d_py},
            ).scalars()
        ]
    assert len(parts) == len(h4) == 3
    py_parts = review.split(
        d_py, subdivided, slick_class=class_3, human_confidence=0.9, db=database_url
    )
    assert len(py_parts) == 3
    same.update(zip(parts, py_parts, strict=True))
    with engine.connect() as conn:
        for readme_id, part, py_part in zip(h4, parts, py_parts, strict=True):
            lineage = history(conn, readme_id, dict(zip(h4, parts, strict=True)))
            assert [(r["id"], r["depth"], r["active"]) for r in lineage] == [
                (part, 0, True),
                (d, 1, False),
            ]
            _same(slick_row(conn, part), slick_row(conn, py_part), same)
        total = sum(slick_row(conn, p)["area"] for p in parts)
        original = slick_row(conn, d)["area"]
    assert total == pytest.approx(original, rel=1e-6)

    # 5. add a note: 34935 -> 34936
    with engine.begin() as conn:
        (n5,) = run_snippet(conn, note_sql, {34935: parts[2]})
    m5 = review.note(py_parts[2], "This is a funny slick!", human_confidence=0.9, db=database_url)
    same[n5] = m5
    with engine.connect() as conn:
        lineage = history(conn, h5[0], {34936: n5})
        _same(slick_row(conn, n5), slick_row(conn, m5), same)
    assert [(r["id"], r["depth"]) for r in lineage] == [(n5, 0), (parts[2], 1), (d, 2)]
    assert lineage[0]["notes"] == "This is a funny slick!"

    # the Python history is slick_history, row for row, for every chain
    with engine.connect() as conn:
        for sql_id, py_id in ((n2, m2), (n3, m3), (n5, m5)):
            sql_rows = history(conn, 0, {0: sql_id})
            py_rows = review.history(py_id, db=database_url)
            assert [same[r["id"]] for r in sql_rows] == [e.id for e in py_rows]
            for row, entry in zip(sql_rows, py_rows, strict=True):
                assert (
                    row["depth"],
                    row["active"],
                    row["validated"],
                    row["class_short_name"],
                    row["human_confidence"],
                    row["notes"],
                    [same[i] for i in row["slick"] or []],
                ) == (
                    entry.depth,
                    entry.active,
                    entry.validated,
                    entry.slick_class,
                    entry.human_confidence,
                    entry.notes,
                    list(entry.precursors),
                )

    # in the end, each side has the same active slicks: n2, n3, the first two parts, n5
    with engine.connect() as conn:
        active = set(conn.execute(sa.text("SELECT id FROM slick WHERE active")).scalars())
    assert active == {n2, n3, parts[0], parts[1], n5, m2, m3, py_parts[0], py_parts[1], m5}
