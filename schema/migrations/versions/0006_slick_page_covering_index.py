"""``ix_slick_active_id_cover``: pages of active slicks in id order, filtered without the heap.

A page of ``slick_plus`` with an attribute filter (``machine_confidence > 0.9 AND
class_short_name = 'VESSEL'``, the filters Cerulean's users write most) walks the slicks in id
order until the page is full. Through the primary key that reads each candidate's heap tuple (a
slick row is ~1 kB with its geometry) to test ``active``, the confidence and the class: on the
benchmark's million slicks, ``machine_confidence > 0.873 AND class_short_name = 'VESSEL'`` read
3,768 tuples from 768 pages for a page of 101 rows. This btree
over ``id`` of active slicks carries the columns such filters and the view's joins need
(``slick_class``, ``machine_confidence``, ``orchestrator_run``, ``slick_timestamp``,
``validated``), so PostgreSQL finds the page's ids with an index-only scan (~64 MB per million
slicks) and reads the heap for those ids alone. On the benchmark's million slicks the ids of a
CQL2 page took 0.8 ms instead of 1.7 ms (median), and the reads of cold pages are gone.

Index-only scans need the visibility map, which autovacuum keeps; after a bulk load run
``VACUUM ANALYZE slick``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "ix_slick_active_id_cover"
COVERED = ["slick_class", "machine_confidence", "orchestrator_run", "slick_timestamp", "validated"]
"""Columns the index carries besides ``id`` (as in :class:`schema.models.Slick`)."""


def upgrade() -> None:
    """Create the covering index of active slicks."""
    op.create_index(
        INDEX,
        "slick",
        ["id"],
        postgresql_include=COVERED,
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index(INDEX, table_name="slick")
