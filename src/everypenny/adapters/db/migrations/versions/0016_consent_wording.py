"""Each consent keeps the words the person was shown (issue 22 item 1).

- `consent_wordings`: the exact words about marketing a donor saw (a promotion's, the first reply's, the donation
  page's box), once per version; the version is derived from the model and the words (domain/consent.py).
- `consents.wording_version`: the version a consent was given (or refused) under; none for STOP and for
  consents recorded before this change.

Revision ID: 0016_consent_wording
Revises: 0015_aggregator_faults
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_consent_wording"
down_revision = "0015_aggregator_faults"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_wordings",
        sa.Column("version", sa.String(16), primary_key=True),
        sa.Column("model", sa.String(20), nullable=False),
        sa.Column("wording", sa.Text, nullable=False),
    )
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("wording_version", sa.String(16)))
        batch.create_foreign_key("fk_consents_wording_version", "consent_wordings", ["wording_version"], ["version"])


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_constraint("fk_consents_wording_version", type_="foreignkey")
        batch.drop_column("wording_version")
    op.drop_table("consent_wordings")
