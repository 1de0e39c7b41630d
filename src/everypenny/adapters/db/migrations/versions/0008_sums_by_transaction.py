"""Running sums sharded by transaction rather than by row, on PostgreSQL.

Workers now store a batch of texts in one transaction. Sharding by row id spread one batch's updates over
every shard of an account, so two batches locked the same shard rows in different orders and deadlocked.
By transaction, a batch adds to one shard of each account, and batches in flight side by side almost
always to different ones. SQLite has one writer at a time and keeps the by-row shards.

Revision ID: 0008_sums_by_transaction
Revises: 0007_settlement
Create Date: 2026-11-26
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0008_sums_by_transaction"
down_revision = "0007_settlement"
branch_labels = None
depends_on = None


def _ledger_sums():
    """Migration 0006, whose trigger functions this one re-creates with another shard."""
    path = Path(__file__).with_name("0006_ledger_sums.py")
    spec = importlib.util.spec_from_file_location("everypenny_migration_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        sums = _ledger_sums()
        op.execute(sums.postgresql_functions(f"(txid_current() % {sums.SHARDS})"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ledger_sums().postgresql_functions())
