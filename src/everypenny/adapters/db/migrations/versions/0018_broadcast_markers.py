"""Broadcast markers: the moments an appeal went on air ("BBC One appeal film"), so the desk, the spike
report and Grafana can show each one's effect on texts and money.

Revision ID: 0018_broadcast_markers
Revises: 0017_compliance_records
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

# Migrations keep their own types: the schema module moves on, a migration's tables must not.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

revision = "0018_broadcast_markers"
down_revision = "0017_compliance_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_markers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("at", When, nullable=False),
    )
    op.create_index("ix_broadcast_markers_appeal_at", "broadcast_markers", ["appeal_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_markers_appeal_at", "broadcast_markers")
    op.drop_table("broadcast_markers")
