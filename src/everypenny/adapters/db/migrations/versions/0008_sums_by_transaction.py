"""Running sums kept per statement and sharded by transaction, on PostgreSQL.

Migration 0006's triggers ran once per row and chose a shard by row id. Two things went wrong at scale:
- A worker now stores a batch of texts in one transaction; by row id, one batch's updates touched every shard
  of an account, so two batches locked the same shard rows in different orders and deadlocked. Now each
  transaction claims a shard of its own (everypenny_shard(): the first free one of 16, held by a
  transaction-level advisory lock until it ends) and adds only to that shard's rows. Transactions in flight
  side by side never share a counter row, so they neither wait on one another nor deadlock; only a
  seventeenth concurrent writer waits for a shard to come free.
- Within one transaction PostgreSQL cannot prune the versions of a row it updates again and again, so each
  further update of a shard row walks a longer chain: loading a million donations in one COPY took hours.
  A statement-level trigger adds a whole statement's rows (a COPY, a multi-row INSERT) in one update.
SQLite has one writer at a time and updates rows in place: it keeps 0006's triggers. The triggers are in
sql/ledger_sums.pg.sql.

Revision ID: 0008_sums_by_transaction
Revises: 0007_settlement
Create Date: 2026-11-26
"""

from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0008_sums_by_transaction"
down_revision = "0007_settlement"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            DROP TRIGGER ledger_transfers_sums ON ledger_transfers;
            DROP TRIGGER donations_paid_count ON donations;
            DROP FUNCTION everypenny_add_to_ledger_sums();
            DROP FUNCTION everypenny_count_paid_donations();
        """)
        run_sql("ledger_sums")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        DROP TRIGGER ledger_transfers_sums ON ledger_transfers;
        DROP TRIGGER donations_paid_count_insert ON donations;
        DROP TRIGGER donations_paid_count_update ON donations;
        DROP FUNCTION everypenny_add_to_ledger_sums();
        DROP FUNCTION everypenny_count_paid_donations();
        DROP FUNCTION everypenny_shard();
    """)
    run_sql("history/0006_ledger_sums")  # its row-level triggers come back
