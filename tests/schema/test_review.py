"""Review operations: refusals that change nothing, racing reviewers, splitting by number."""

from __future__ import annotations

import threading

import pytest
import shapely
import sqlalchemy as sa

from schema import review
from schema.database import engine_for
from schema.errors import InactiveSlick, InvalidReview, ReviewConflict, ReviewError, UnknownSlick
from tests.schema.slick_rows import add_slick, geodesic_rectangle, slick_row


def _count(url: str) -> tuple[int, int]:
    with engine_for(url).connect() as conn:
        return tuple(
            conn.execute(
                sa.text("SELECT count(*), count(*) FILTER (WHERE active) FROM slick")
            ).one()
        )


def _row(url: str, slick_id: int) -> dict:
    with engine_for(url).connect() as conn:
        return slick_row(conn, slick_id)


@pytest.fixture
def slick(database_url: str) -> int:
    with engine_for(database_url).begin() as conn:
        return add_slick(conn, geodesic_rectangle(5.0, 55.0, long_m=4000, short_m=500))


def test_unknown_slick(database_url: str, slick: int) -> None:
    with pytest.raises(UnknownSlick, match="No slick with id 999999"):
        review.validate(999999, human_confidence=0.5, db=database_url)
    with pytest.raises(UnknownSlick, match="999999"):
        review.merge([slick, 999999], db=database_url)
    with pytest.raises(UnknownSlick):
        review.history(999999, db=database_url)
    assert _count(database_url) == (1, 1)


def test_inactive_slick_names_its_successor(database_url: str, slick: int) -> None:
    successor = review.validate(slick, human_confidence=0.8, reviewer="ana", db=database_url)
    with pytest.raises(InactiveSlick, match=f"replaced it \\(by {successor}\\)"):
        review.reclassify(slick, "NATURAL", db=database_url)
    assert _count(database_url) == (2, 1)
    (entry, precursor) = review.history(successor, db=database_url)
    assert entry.reviewer == "ana" and entry.precursors == (slick,)
    assert precursor.id == slick and not precursor.active


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, db: review.reclassify(s, "PUDDLE", db=db), "Unknown slick class 'PUDDLE'"),
        (lambda s, db: review.validate(s, human_confidence=1.5, db=db), "from 0 to 1"),
        (lambda s, db: review.note(s, "  ", db=db), "needs some text"),
        (lambda s, db: review.merge([s, s], db=db), "at least two different"),
        (lambda s, db: review.split(s, 1, db=db), "at least two parts"),
    ],
)
def test_bad_arguments_change_nothing(database_url: str, slick: int, call, message: str) -> None:  # noqa: ANN001
    before = _row(database_url, slick)
    with pytest.raises(InvalidReview, match=message):
        call(slick, database_url)
    assert _count(database_url) == (1, 1)
    assert _row(database_url, slick) == before


def test_merge_of_different_classes_needs_a_class(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        first = add_slick(conn, shapely.box(0, 0, 0.01, 0.01), slick_class="VESSEL")
        second = add_slick(conn, shapely.box(0.02, 0, 0.03, 0.01), slick_class="INFRA")
    with pytest.raises(InvalidReview, match="different classes"):
        review.merge([first, second], db=database_url)
    merged = review.merge([first, second], slick_class="ANTHRO", db=database_url)
    with engine_for(database_url).connect() as conn:
        row = slick_row(conn, merged)
    assert row["geometry_count"] == 2 and row["slick"] == [first, second]


def test_split_parts_must_lie_inside_and_not_overlap(database_url: str, slick: int) -> None:
    with engine_for(database_url).connect() as conn:
        original = shapely.from_wkb(
            bytes(
                conn.execute(
                    sa.text("SELECT ST_AsBinary(geometry::geometry) FROM slick WHERE id = :id"),
                    {"id": slick},
                ).scalar_one()
            )
        )
    minx, miny, maxx, maxy = original.bounds
    mid = (minx + maxx) / 2
    west = original.intersection(shapely.box(minx - 1, miny - 1, mid, maxy + 1))
    east = original.intersection(shapely.box(mid, miny - 1, maxx + 1, maxy + 1))
    with pytest.raises(InvalidReview, match="outside the slick"):
        review.split(slick, [west, east.buffer(0.01)], db=database_url)
    with pytest.raises(InvalidReview, match="overlap"):
        review.split(slick, [west, original], db=database_url)
    with pytest.raises(InvalidReview, match="polygons"):
        review.split(slick, [west, "LINESTRING (0 0, 1 1)"], db=database_url)
    assert _count(database_url) == (1, 1)
    ids = review.split(slick, [west.wkt, east], slick_class="RECENT_VESSEL", db=database_url)
    with engine_for(database_url).connect() as conn:
        rows = [slick_row(conn, i) for i in ids]
    assert sum(r["area"] for r in rows) == pytest.approx(_row(database_url, slick)["area"])
    assert all(r["slick"] == [slick] and r["validated"] for r in rows)


def test_split_into_n_cuts_a_compact_slick_along_its_length(database_url: str, slick: int) -> None:
    ids = review.split(slick, 4, db=database_url)
    with engine_for(database_url).connect() as conn:
        rows = [slick_row(conn, i) for i in ids]
    assert len(rows) == 4
    for row in rows:  # a 4 km × 500 m rectangle cut across its length: four 1 km × 500 m pieces
        assert row["area"] == pytest.approx(500_000, rel=0.01)
        assert row["length"] == pytest.approx(1000, rel=0.02)
    assert sum(r["area"] for r in rows) == pytest.approx(2_000_000, rel=0.005)


def test_split_into_n_groups_separate_parts_at_the_widest_gaps(database_url: str) -> None:
    blobs = [shapely.box(x, 0, x + 0.01, 0.01) for x in (0.0, 0.02, 0.2, 0.22, 0.24)]
    with engine_for(database_url).begin() as conn:
        slick = add_slick(conn, shapely.MultiPolygon(blobs))
    ids = review.split(slick, 2, db=database_url)
    with engine_for(database_url).connect() as conn:
        counts = sorted(slick_row(conn, i)["geometry_count"] for i in ids)
    assert counts == [2, 3]


def test_a_reviewer_holding_the_slick_makes_the_other_wait_for_nothing(
    database_url: str, slick: int
) -> None:
    holder = engine_for(database_url).connect()
    transaction = holder.begin()
    try:
        holder.execute(sa.text("SELECT * FROM slick WHERE id = :id FOR UPDATE"), {"id": slick})
        with pytest.raises(ReviewConflict, match="being reviewed by someone else"):
            review.validate(slick, human_confidence=0.9, db=database_url)
    finally:
        transaction.rollback()
        holder.close()
    assert _count(database_url) == (1, 1)
    review.validate(slick, human_confidence=0.9, db=database_url)  # free again
    assert _count(database_url) == (2, 1)


def _reviewer(
    url: str, slick: int, confidence: float, start: threading.Barrier, outcomes: list[object]
) -> None:
    """One reviewer: wait for the other, then validate; record the new id or the error."""
    start.wait()
    try:
        outcomes.append(review.validate(slick, human_confidence=confidence, db=url))
    except ReviewError as exc:
        outcomes.append(exc)


def test_two_reviewers_racing_one_wins_the_other_gets_an_error(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        slicks = [add_slick(conn, shapely.box(i, 0, i + 0.01, 0.01)) for i in range(5)]
    for slick in slicks:
        start = threading.Barrier(2)
        outcomes: list[object] = []
        threads = [
            threading.Thread(target=_reviewer, args=(database_url, slick, c, start, outcomes))
            for c in (0.2, 0.9)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if isinstance(o, int)]
        losers = [o for o in outcomes if isinstance(o, ReviewError)]
        assert len(winners) == 1 and len(losers) == 1
        assert isinstance(losers[0], ReviewConflict | InactiveSlick)
        with engine_for(database_url).connect() as conn:
            successors = (
                conn.execute(sa.text("SELECT id FROM slick WHERE :id = ANY(slick)"), {"id": slick})
                .scalars()
                .all()
            )
        assert successors == winners  # exactly one new row
    assert _count(database_url) == (10, 5)
