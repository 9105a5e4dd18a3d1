"""Seed rows: slick classes (Cerulean's vocabulary and tree), AOI types, source types, layers.

Class ids are fixed here because the seed README's review SQL names classes by id (2 and 3);
code refers to classes by ``short_name`` only.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

SLICK_CLASSES = [
    # id, short_name, long_name, description, color, parent
    (1, "NOT_OIL", "Not oil", "A dark area that is not oil (see its subclasses).", "#9e9e9e", None),
    (
        2,
        "ANTHRO",
        "Anthropogenic oil",
        "Oil released by human activity: offshore infrastructure or vessels.",
        "#e41a1c",
        None,
    ),
    (
        3,
        "NATURAL",
        "Natural seep",
        "Oil rising from a natural seep on the sea floor.",
        "#4daf4a",
        None,
    ),
    (
        4,
        "AMBIGUOUS",
        "Ambiguous",
        "An oil-like dark area whose origin cannot be told from the scene.",
        "#984ea3",
        None,
    ),
    (5, "LAND", "Land", "Detection on land, a coastline or a river: not a slick.", "#8d6e63", 1),
    (6, "SEA_ICE", "Sea ice", "Sea ice or grease ice, dark like oil: not a slick.", "#b3e5fc", 1),
    (
        7,
        "ARTEFACT",
        "Radar artefact",
        "Low wind, rain cells, swath seams, noise or processing artefacts: not a slick.",
        "#bdbdbd",
        1,
    ),
    (
        8,
        "INFRA",
        "Infrastructure",
        "Oil from a fixed offshore installation: platform, FPSO, pipeline.",
        "#ff7f00",
        2,
    ),
    (9, "VESSEL", "Vessel", "Oil discharged by a ship (see its subclasses by age).", "#377eb8", 2),
    (
        10,
        "OLD_VESSEL",
        "Old vessel slick",
        "A vessel slick whose source has left: weathered, detached from any ship.",
        "#a6cee3",
        9,
    ),
    (
        11,
        "RECENT_VESSEL",
        "Recent vessel slick",
        "A vessel slick still fresh, the ship nearby but no longer at its head.",
        "#1f78b4",
        9,
    ),
    (
        12,
        "COINCIDENT_VESSEL",
        "Coincident vessel slick",
        "A vessel slick with the ship at its head, discharging at acquisition time.",
        "#08306b",
        9,
    ),
]

AOI_TYPES = [
    (
        1,
        "EEZ",
        "Exclusive Economic Zone",
        "Maritime boundaries of the world's exclusive economic zones.",
        "Flanders Marine Institute (2023). Maritime Boundaries Geodatabase, version 12.",
        "https://www.marineregions.org/",
    ),
    (
        2,
        "IHO",
        "IHO Sea Area",
        "Limits of oceans and seas of the International Hydrographic Organization.",
        "Flanders Marine Institute (2018). IHO Sea Areas, version 3.",
        "https://www.marineregions.org/",
    ),
    (
        3,
        "MPA",
        "Marine Protected Area",
        "Marine protected areas of the World Database on Protected Areas.",
        "UNEP-WCMC and IUCN, Protected Planet: WDPA.",
        "https://www.protectedplanet.net/",
    ),
    (4, "USER", "User area", "An area drawn or uploaded by a user of the service.", None, None),
]

SOURCE_TYPES = [
    (1, "VESSEL", "Vessel", "A ship identified by AIS (MMSI).", None),
    (2, "INFRA", "Infrastructure", "A fixed offshore installation.", None),
    (3, "DARK", "Dark vessel", "A ship seen by radar but not broadcasting AIS.", None),
    (4, "NATURAL", "Natural seep", "A natural hydrocarbon seep.", None),
]

LAYERS = [
    ("VV_DB", "Sentinel-1 VV backscatter", "Calibrated sigma0, VV polarization.", "dB"),
    ("VH_DB", "Sentinel-1 VH backscatter", "Calibrated sigma0, VH polarization.", "dB"),
    ("VV_VH_DIFF_DB", "VV minus VH", "Difference of VV and VH sigma0.", "dB"),
    ("LAND_MASK", "Land mask", "1 on land (buffered coastline), 0 at sea.", None),
    ("INFRA_DISTANCE", "Distance to infrastructure", "Distance to the nearest installation.", "m"),
    ("VESSEL_DENSITY", "Vessel density", "AIS vessel traffic density.", "hours/km²"),
]


def _rows(columns: tuple[str, ...], rows: list[tuple]) -> list[dict]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def upgrade() -> None:
    """Insert the seed rows."""
    slick_class = sa.table(
        "slick_class",
        sa.column("id", sa.Integer),
        sa.column("short_name", sa.Text),
        sa.column("long_name", sa.Text),
        sa.column("description", sa.Text),
        sa.column("color", sa.Text),
        sa.column("parent", sa.Integer),
    )
    op.bulk_insert(
        slick_class,
        _rows(("id", "short_name", "long_name", "description", "color", "parent"), SLICK_CLASSES),
    )
    aoi_type = sa.table(
        "aoi_type",
        sa.column("id", sa.Integer),
        sa.column("short_name", sa.Text),
        sa.column("long_name", sa.Text),
        sa.column("description", sa.Text),
        sa.column("citation", sa.Text),
        sa.column("source_url", sa.Text),
    )
    op.bulk_insert(
        aoi_type,
        _rows(
            ("id", "short_name", "long_name", "description", "citation", "source_url"), AOI_TYPES
        ),
    )
    source_type = sa.table(
        "source_type",
        sa.column("id", sa.Integer),
        sa.column("short_name", sa.Text),
        sa.column("long_name", sa.Text),
        sa.column("description", sa.Text),
        sa.column("citation", sa.Text),
    )
    op.bulk_insert(
        source_type,
        _rows(("id", "short_name", "long_name", "description", "citation"), SOURCE_TYPES),
    )
    layer = sa.table(
        "layer",
        sa.column("short_name", sa.Text),
        sa.column("long_name", sa.Text),
        sa.column("description", sa.Text),
        sa.column("units", sa.Text),
    )
    op.bulk_insert(
        layer,
        _rows(("short_name", "long_name", "description", "units"), LAYERS),
    )


def downgrade() -> None:
    """Remove the seed rows (children of the class tree first)."""
    op.execute(
        sa.text("DELETE FROM layer WHERE short_name = ANY(:names)").bindparams(
            names=[r[0] for r in LAYERS]
        )
    )
    op.execute(
        sa.text("DELETE FROM source_type WHERE id = ANY(:ids)").bindparams(
            ids=[r[0] for r in SOURCE_TYPES]
        )
    )
    op.execute(
        sa.text("DELETE FROM aoi_type WHERE id = ANY(:ids)").bindparams(
            ids=[r[0] for r in AOI_TYPES]
        )
    )
    for row in sorted(SLICK_CLASSES, key=lambda r: -r[0]):
        op.execute(sa.text("DELETE FROM slick_class WHERE id = :id").bindparams(id=row[0]))
