"""Migrations: up, down and up again on a raw PostGIS database; models and database agree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from schema.cluster import Cluster
from schema.database import dispose_engine, engine_for
from schema.errors import MigrationError
from schema.migrate import check, current, downgrade, heads, upgrade
from schema.models import Base
from tests.databases import create_database, unique_database_name

VIEWS = {"slick_plus", "source_plus"}
FUNCTIONS = {
    "slick_history",
    "get_slicks_by_aoi",
    "get_slick_subclasses",
    "footprint_polygon",
    "slick_derive",
    "slick_link_aois",
    "aoi_link_slicks",
    "slick_local_crs",
}


def _objects(url: str) -> tuple[set[str], set[str], set[str]]:
    with engine_for(url).connect() as conn:
        tables = set(
            conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
        )
        views = set(
            conn.execute(
                sa.text(
                    "SELECT viewname FROM pg_views WHERE schemaname = 'public' "
                    "AND viewname NOT IN ('geometry_columns', 'geography_columns')"
                )
            ).scalars()
        )
        functions = set(
            conn.execute(
                sa.text(
                    "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' AND p.proname = ANY(:names)"
                ),
                {"names": sorted(FUNCTIONS)},
            ).scalars()
        )
    return tables, views, functions


@pytest.fixture
def raw_url(pg_cluster: Cluster):
    name = unique_database_name("migrations")
    url = create_database(pg_cluster, name)
    yield url
    dispose_engine(url)
    pg_cluster.drop_database(name)


def test_upgrade_downgrade_upgrade_and_check(raw_url: str) -> None:
    model_tables = set(Base.metadata.tables)
    assert current(raw_url) is None

    upgrade(raw_url)
    assert current(raw_url) == heads()[0] == "0006"
    tables, views, functions = _objects(raw_url)
    assert model_tables <= tables
    assert views == VIEWS and functions == FUNCTIONS
    check(raw_url)  # alembic check: no difference between the models and the database

    downgrade(raw_url, "base")
    assert current(raw_url) is None
    tables, views, functions = _objects(raw_url)
    assert tables == {"spatial_ref_sys", "alembic_version"}
    assert not views and not functions

    upgrade(raw_url, "0002")  # step by step this time
    assert current(raw_url) == "0002"
    upgrade(raw_url)
    assert current(raw_url) == "0006"
    check(raw_url)
    with engine_for(raw_url).connect() as conn:
        classes = conn.execute(sa.text("SELECT count(*) FROM slick_class")).scalar_one()
    assert classes == 12  # seed rows came back exactly once


def test_check_reports_a_model_change(raw_url: str) -> None:
    upgrade(raw_url)
    with engine_for(raw_url).begin() as conn:
        conn.execute(sa.text("ALTER TABLE layer ADD COLUMN stray integer"))
    with pytest.raises(MigrationError, match="stray"):
        check(raw_url)


def test_failed_downgrade_keeps_data_and_revision(raw_url: str) -> None:
    upgrade(raw_url)
    with engine_for(raw_url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO slick (slick_timestamp, geometry, slick_class) VALUES (now(), "
                "ST_GeomFromText('POLYGON((0 0, 0.01 0, 0.01 0.01, 0 0))', 4326), "
                "(SELECT id FROM slick_class WHERE short_name = 'VESSEL'))"
            )
        )
    with pytest.raises(MigrationError, match="rolled back"):
        downgrade(raw_url, "0001")  # removing the classes would orphan the slick
    assert current(raw_url) == "0006"
    with engine_for(raw_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM slick")).scalar_one() == 1


def test_unknown_revision_is_a_clear_error(raw_url: str) -> None:
    with pytest.raises(MigrationError, match="nonsense"):
        upgrade(raw_url, "nonsense")
