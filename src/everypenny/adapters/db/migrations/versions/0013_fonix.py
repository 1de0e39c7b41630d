"""Text giving speaks Fonix's v2 API (adapters/aggregator/fonix.py).

- `sms_charges.txguid`: Fonix's id for a charge (its answer to chargemobile, the GUID of its report), which a
  refund names; `sms_outbound.txguid`: its id for a message, by which a delivery report names it.
- `sms_charges.status` may be `unconfirmed`: no report came within the charge's time to live plus a margin;
  the monthly statement settles it. The status column grows to hold the word.
- `sms_charges.failure_reason` holds Fonix's failure codes (OPERATOR_SRV_MONTHLY_MAX_SPEND and longer),
  up to 80 characters; longer ones are cut where they arrive.
- `sms_charges.refund_status`: pending while Fonix works a refund, refunded once it is booked.
- An index finds charges still waiting for their report, oldest first.

Our request ids change form (letters and digits only); no old rows need rewriting, as no compatibility with
the old dialect is kept.

Revision ID: 0013_fonix
Revises: 0012_security_edge
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_fonix"
down_revision = "0012_security_edge"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('requested', 'charged', 'failed')"
NEW_STATUSES = "status IN ('requested', 'charged', 'failed', 'unconfirmed')"


def upgrade() -> None:
    with op.batch_alter_table("sms_charges") as batch:
        batch.alter_column("status", type_=sa.String(12), existing_type=sa.String(10), existing_nullable=False)
        batch.alter_column("failure_reason", type_=sa.String(80), existing_type=sa.String(40))
        batch.add_column(sa.Column("txguid", sa.String(80)))
        batch.add_column(sa.Column("refund_status", sa.String(10)))
        batch.drop_constraint("ck_sms_charges_status", type_="check")
        batch.create_check_constraint("ck_sms_charges_status", NEW_STATUSES)
        batch.create_check_constraint("ck_sms_charges_refund_status", "refund_status IN ('pending', 'refunded')")
    op.create_index("ix_sms_charges_status_created_at", "sms_charges", ["status", "created_at"])
    op.add_column("sms_outbound", sa.Column("txguid", sa.String(80)))
    op.create_index("ix_sms_outbound_txguid", "sms_outbound", ["txguid"])


def downgrade() -> None:
    op.drop_index("ix_sms_outbound_txguid", "sms_outbound")
    op.drop_column("sms_outbound", "txguid")
    op.drop_index("ix_sms_charges_status_created_at", "sms_charges")
    with op.batch_alter_table("sms_charges") as batch:
        batch.drop_constraint("ck_sms_charges_refund_status", type_="check")
        batch.drop_constraint("ck_sms_charges_status", type_="check")
        batch.create_check_constraint("ck_sms_charges_status", OLD_STATUSES)
        batch.drop_column("refund_status")
        batch.drop_column("txguid")
        batch.alter_column("failure_reason", type_=sa.String(40), existing_type=sa.String(80))
        batch.alter_column("status", type_=sa.String(10), existing_type=sa.String(12), existing_nullable=False)
