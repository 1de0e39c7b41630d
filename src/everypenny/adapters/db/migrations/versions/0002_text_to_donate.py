"""Text-to-donate: the charges a text donation becomes, and the messages we send donors.

Revision ID: 0002_text_to_donate
Revises: 0001_foundation
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_text_to_donate"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sms_charges",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(80), nullable=False, unique=True),
        sa.Column("donation_id", Id, sa.ForeignKey("donations.id"), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("failure_reason", sa.String(40)),
        sa.Column("contradicting_report", sa.String(200)),
        sa.Column("created_at", When, nullable=False),
        sa.Column("reported_at", When),
        sa.CheckConstraint("amount_pence > 0", name="ck_sms_charges_amount_positive"),
        sa.CheckConstraint("status IN ('requested', 'charged', 'failed')", name="ck_sms_charges_status"),
        sa.CheckConstraint("(status = 'failed') = (failure_reason IS NOT NULL)",
                           name="ck_sms_charges_failure_has_reason"),
        sa.UniqueConstraint("donation_id", "sequence", name="uq_sms_charges_donation_sequence"),
    )
    op.create_table(
        "sms_outbound",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(80), nullable=False, unique=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("sender", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("in_reply_to", sa.String(255), nullable=False),
        sa.Column("donation_id", Id, sa.ForeignKey("donations.id")),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("status_detail", sa.String(200)),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_sms_outbound_in_reply_to", "sms_outbound", ["in_reply_to"])
    op.create_index("ix_sms_outbound_to_number", "sms_outbound", ["to_number"])


def downgrade() -> None:
    op.drop_table("sms_outbound")
    op.drop_table("sms_charges")
