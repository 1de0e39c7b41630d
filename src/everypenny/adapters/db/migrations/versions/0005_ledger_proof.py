"""Ledger proof: the hash chain over transfers, payouts to the beneficiary, and the log of donor erasures.

Revision ID: 0005_ledger_proof
Revises: 0004_appeal_desk
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0005_ledger_proof"
down_revision = "0004_appeal_desk"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_chain",
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("transfer_id", Id, sa.ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", When, nullable=False),
        sa.CheckConstraint("seq > 0", name="ck_ledger_chain_seq_positive"),
    )
    op.create_index("ix_ledger_chain_sealed_at", "ledger_chain", ["appeal_id", "sealed_at"])
    op.create_table(
        "payouts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("reference", sa.String(120), nullable=False),
        sa.Column("fund", sa.String(20), nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("transfer_id", Id, sa.ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
        sa.Column("recorded_at", When, nullable=False),
        sa.CheckConstraint("amount_pence > 0", name="ck_payouts_amount_positive"),
        sa.CheckConstraint("fund IN ('restricted', 'surplus')", name="ck_payouts_fund"),
        sa.UniqueConstraint("appeal_id", "reference", name="uq_payouts_appeal_reference"),
    )
    op.create_table(
        "donor_erasures",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pseudonym", sa.String(20), nullable=False, index=True),
        sa.Column("medium", sa.String(10), nullable=False),
        sa.Column("donations", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("erased_at", When, nullable=False),
    )
    run_sql("append_only")  # sql/append_only.*.sql


def downgrade() -> None:
    for table in ("donor_erasures", "payouts", "ledger_chain"):
        op.drop_table(table)
