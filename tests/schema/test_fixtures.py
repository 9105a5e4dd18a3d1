"""The shared fixtures of tests/conftest.py: one cluster, fresh databases cloned from a template."""

from __future__ import annotations

import sqlalchemy as sa

from schema.cluster import Cluster
from schema.database import engine_for
from schema.migrate import current, heads
from tests.databases import create_database, unique_database_name


def test_database_url_is_a_migrated_private_copy(database_url: str, pg_cluster: Cluster) -> None:
    assert current(database_url) in heads()
    with engine_for(database_url).begin() as conn:
        conn.execute(sa.text("CREATE TABLE scratch (x int)"))
    with engine_for(database_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM scratch")).scalar_one() == 0


def test_each_test_gets_its_own_database(database_url: str) -> None:
    with engine_for(database_url).connect() as conn:
        found = conn.execute(sa.text("SELECT to_regclass('scratch')")).scalar_one()
    assert found is None  # the table of the previous test is not here


def test_create_database_gives_a_plain_postgis_database(pg_cluster: Cluster) -> None:
    name = unique_database_name("raw")
    url = create_database(pg_cluster, name)
    try:
        with engine_for(url).connect() as conn:
            assert conn.execute(sa.text("SELECT postgis_version()")).scalar_one().startswith("3.")
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
        assert tables == 1  # spatial_ref_sys only
    finally:
        from schema.database import dispose_engine

        dispose_engine(url)
        pg_cluster.drop_database(name)
    assert not pg_cluster.database_exists(name)
