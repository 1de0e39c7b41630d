"""Records the law asks for (issue 22).

- `contact_marks`: marketing suppressions (STOP) and blocks on giving, by a keyed hash of the contact, so
  erasure never removes them (ICO's guidance on suppression lists).
- `gift_aid_declarations.cancelled_at` and `.cancelled_by`: a cancelled declaration, with its date (HMRC).
- `erasure_schedule`: what an erasure request leaves for the day a retention period ends (domain/retention.py).

Revision ID: 0017_compliance_records
Revises: 0016_consent_wording
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_compliance_records"
down_revision = "0016_consent_wording"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contact_marks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("medium", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(60), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("recorded_at", When, nullable=False),
    )
    op.create_index("ix_contact_marks_hash", "contact_marks", ["contact_hash", "medium", "kind", "id"])
    with op.batch_alter_table("gift_aid_declarations") as batch:
        batch.add_column(sa.Column("cancelled_at", When))
        batch.add_column(sa.Column("cancelled_by", sa.String(60)))
    op.create_table(
        "erasure_schedule",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("contact", sa.String(320), nullable=False),
        sa.Column("medium", sa.String(10), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("erase_on", sa.Date, nullable=False),
        sa.Column("requested_at", When, nullable=False),
        sa.UniqueConstraint("contact", "medium", "rule", name="uq_erasure_schedule_contact_rule"),
    )
    op.create_index("ix_erasure_schedule_erase_on", "erasure_schedule", ["erase_on"])


def downgrade() -> None:
    op.drop_table("erasure_schedule")
    with op.batch_alter_table("gift_aid_declarations") as batch:
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
    op.drop_table("contact_marks")
