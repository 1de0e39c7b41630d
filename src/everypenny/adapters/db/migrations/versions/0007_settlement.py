"""Settlement statements and their lines (for reconciliation), and Gift Aid claims (each donation once).

Revision ID: 0007_settlement
Revises: 0006_ledger_sums
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_settlement"
down_revision = "0006_ledger_sums"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "settlement_statements",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("gross_pence", sa.BigInteger, nullable=False),
        sa.Column("fee_pence", sa.BigInteger, nullable=False),
        sa.Column("settled_pence", sa.BigInteger, nullable=False),
        sa.Column("imported_at", When, nullable=False),
        sa.CheckConstraint("source IN ('aggregator', 'stripe')", name="ck_settlement_statements_source"),
        sa.UniqueConstraint("appeal_id", "source", "reference", name="uq_settlement_statements_reference"),
    )
    op.create_table(
        "settlement_lines",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("statement_id", Id, sa.ForeignKey("settlement_statements.id"), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("external_id", sa.String(120), nullable=False),
        sa.Column("message_id", sa.String(120), nullable=False),
        sa.Column("donation_reference", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("gross_pence", sa.BigInteger, nullable=False),
        sa.Column("fee_pence", sa.BigInteger, nullable=False),
        sa.Column("charged_pence", sa.BigInteger, nullable=False),
        sa.Column("settled_pence", sa.BigInteger, nullable=False),
        sa.CheckConstraint("status IN ('matched', 'short', 'over', 'unknown', 'failed_charge', 'duplicate')",
                           name="ck_settlement_lines_status"),
        sa.UniqueConstraint("statement_id", "external_id", name="uq_settlement_lines_external_id"),
    )
    op.create_index("ix_settlement_lines_external_id", "settlement_lines", ["external_id"])
    op.create_table(
        "gift_aid_claims",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("donations_pence", sa.BigInteger, nullable=False),
        sa.Column("gift_aid_pence", sa.BigInteger, nullable=False),
        sa.Column("claimed_at", When, nullable=False),
    )
    op.create_table(
        "gift_aid_claimed_donations",
        sa.Column("donation_id", Id, sa.ForeignKey("donations.id"), primary_key=True),
        sa.Column("claim_id", Id, sa.ForeignKey("gift_aid_claims.id"), nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("gift_aid_claimed_donations", "gift_aid_claims", "settlement_lines", "settlement_statements"):
        op.drop_table(table)
