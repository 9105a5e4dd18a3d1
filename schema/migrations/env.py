"""Alembic environment of slickwatch: GeoAlchemy2's helpers, one advisory lock per run.

The database comes from, in order: ``config.attributes["url"]`` (set by :mod:`schema.migrate`),
``-x url=...`` on the alembic command line, ``sqlalchemy.url`` in the ini, and finally
:func:`schema.database.database_url` (``SLICKWATCH_DATABASE_URL`` or the private cluster).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from geoalchemy2 import alembic_helpers

from schema.models import Base

MIGRATION_LOCK = 7_290_413_118
"""Key of the advisory lock that keeps two processes from migrating one database at once."""

POSTGIS_SCHEMAS = {"tiger", "tiger_data", "topology"}
"""Schemas created by PostGIS's optional extensions; never ours to compare."""

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from schema.database import database_url

    return database_url()


def include_object(obj, name, obj_type, reflected, compare_to) -> bool:  # noqa: ANN001
    """Compare only our own objects: not PostGIS's tables nor its automatic spatial indexes."""
    if not alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to):
        return False
    if obj_type == "table" and getattr(obj, "schema", None) in POSTGIS_SCHEMAS:
        return False
    return not (obj_type == "table" and name in {"spatial_ref_sys", "layer_topology"})


def include_name(name, type_, parent_names) -> bool:  # noqa: ANN001
    """Reflect only the default schema."""
    if type_ == "schema":
        return name in (None, "public")
    return True


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_object=include_object,
        include_name=include_name,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Write the SQL of the migrations (``alembic upgrade head --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations on a live connection, holding an advisory lock."""
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
