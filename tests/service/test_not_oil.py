"""Classes added under NOT_OIL, or moved out of it, change what the slicks collection serves
(``slick_class.not_oil``, kept by a trigger, is what ``slick_plus`` filters on)."""

from __future__ import annotations

import sqlalchemy as sa

from schema.database import engine_for
from tests.service.serving import Served


def _served_ids(served: Served) -> set[int]:
    with served.client() as client:
        page = client.get("/collections/slicks/items", params={"f": "json", "limit": 1000}).json()
    return {feature["id"] for feature in page["features"]}


def _flags(conn: sa.Connection) -> dict[str, bool]:
    rows = conn.execute(sa.text("SELECT short_name, not_oil FROM slick_class")).all()
    return dict(rows)


def test_new_and_moved_classes_get_the_right_flag(served_fresh: Served) -> None:
    rows = served_fresh.rows
    engine = engine_for(served_fresh.database_url)
    with engine.connect() as conn:
        seeded = _flags(conn)
    assert {name for name, flag in seeded.items() if flag} == {
        "NOT_OIL",
        "LAND",
        "SEA_ICE",
        "ARTEFACT",
    }
    moved = rows.slicks["A"][:3]
    with engine.begin() as conn:
        # a grandchild of NOT_OIL, and three public slicks reclassified into it
        conn.execute(
            sa.text(
                "INSERT INTO slick_class (id, short_name, long_name, description, color, parent) "
                "SELECT max(id) + 1, 'RAIN_CELL', 'Rain cell', 'A rain cell.', '#123456', "
                "(SELECT id FROM slick_class WHERE short_name = 'ARTEFACT') FROM slick_class"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE slick SET slick_class = (SELECT id FROM slick_class "
                "WHERE short_name = 'RAIN_CELL') WHERE id = ANY(:ids)"
            ),
            {"ids": moved},
        )
        assert _flags(conn)["RAIN_CELL"] is True
    served = _served_ids(served_fresh)
    assert not served & set(moved)
    assert served == set(rows.public) - set(moved)

    with engine.begin() as conn:
        # ARTEFACT (with RAIN_CELL below it) moves under NATURAL: both become oil classes
        conn.execute(
            sa.text(
                "UPDATE slick_class SET parent = (SELECT id FROM slick_class "
                "WHERE short_name = 'NATURAL') WHERE short_name = 'ARTEFACT'"
            )
        )
        flags = _flags(conn)
    assert flags["ARTEFACT"] is False and flags["RAIN_CELL"] is False
    assert flags["LAND"] is True and flags["NOT_OIL"] is True
    assert _served_ids(served_fresh) == set(rows.public)

    with engine.begin() as conn:
        # a hand-set flag does not stick: the class tree decides
        conn.execute(sa.text("UPDATE slick_class SET not_oil = true WHERE short_name = 'VESSEL'"))
        assert _flags(conn)["VESSEL"] is False
