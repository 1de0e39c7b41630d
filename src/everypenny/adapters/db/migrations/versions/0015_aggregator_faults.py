"""A charge failed on the aggregator's answer, not on a report (issue 21).

- `sms_charges.refused_on_request`: the charge failed because the aggregator refused the request itself (a
  4xx answer to its first asking), not because a network reported it failed. A charge report saying it was
  charged outranks such a failure (the gift is booked after all); it never outranks a failure report.
- `sms_charges.contradiction_resolved`: how finance resolved a charge whose reports contradict each other
  (who, when, what the network really did); until then the desk lists it under "needs attention".

Revision ID: 0015_aggregator_faults
Revises: 0014_hot_path
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_aggregator_faults"
down_revision = "0014_hot_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sms_charges") as batch:
        batch.add_column(sa.Column("refused_on_request", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("contradiction_resolved", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("sms_charges") as batch:
        batch.drop_column("contradiction_resolved")
        batch.drop_column("refused_on_request")
