"""Running sums of the ledger and of paid donations, kept by triggers, so totals cost the same at a million
donations as at ten.

Each transfer adds its amounts to one of 16 rows per account and kind (chosen by its id), so concurrent
writers rarely wait on the same row: no hot single-row account, as ledgers at scale avoid. A post or void
releases its pending transfer's amount. Existing transfers and donations are summed once, here; the triggers are
in sql/ledger_sums.sqlite.sql and sql/history/0006_ledger_sums.pg.sql.

Revision ID: 0006_ledger_sums
Revises: 0005_ledger_proof
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0006_ledger_sums"
down_revision = "0005_ledger_proof"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_account_sums",
        sa.Column("account_id", Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("posted_pence", sa.BigInteger, nullable=False),
        sa.Column("pending_pence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "kind", "shard"),
    )
    op.create_table(
        "donation_paid_counts",
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("paid_count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("appeal_id", "shard"),
    )
    op.execute("""
        INSERT INTO ledger_account_sums (account_id, kind, shard, posted_pence, pending_pence)
        SELECT account_id, kind, 0, sum(posted), sum(pending) FROM (
            SELECT debit_account_id AS account_id, kind, amount_pence AS posted, 0 AS pending
            FROM ledger_transfers WHERE phase IN ('single', 'post')
            UNION ALL
            SELECT credit_account_id, kind, -amount_pence, 0 FROM ledger_transfers WHERE phase IN ('single', 'post')
            UNION ALL
            SELECT debit_account_id, kind, 0, amount_pence FROM ledger_transfers t WHERE phase = 'pending'
                AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
            UNION ALL
            SELECT credit_account_id, kind, 0, -amount_pence FROM ledger_transfers t WHERE phase = 'pending'
                AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
        ) m GROUP BY account_id, kind
    """)
    op.execute("""
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        SELECT appeal_id, 0, count(*) FROM donations WHERE paid_pence > 0 GROUP BY appeal_id
    """)
    if op.get_bind().dialect.name == "postgresql":
        run_sql("history/0006_ledger_sums")  # kept per statement since 0008_sums_by_transaction
    else:
        run_sql("ledger_sums")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transfers_sums ON ledger_transfers; "
                   "DROP TRIGGER donations_paid_count ON donations; "
                   "DROP FUNCTION everypenny_add_to_ledger_sums(); DROP FUNCTION everypenny_count_paid_donations();")
    else:
        for trigger in ("ledger_transfers_sums", "donations_paid_count_insert", "donations_paid_count_paid",
                        "donations_paid_count_unpaid"):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("donation_paid_counts")
    op.drop_table("ledger_account_sums")
