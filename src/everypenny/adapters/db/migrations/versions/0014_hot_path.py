"""The text-gift hot path costs PostgreSQL less.

- A transfer's rules (two accounts of its own appeal and currency; a post or void resolving a pending transfer
  between the same accounts, posting no more than was pending and voiding all of it) are checked once per
  INSERT statement over the rows it inserted, instead of by a trigger call per row: a batch of charge reports
  posts hundreds of transfers in one statement. Same rules, same messages; SQLite keeps its row triggers. The
  check is in sql/transfer_checks.pg.sql.
- An index of the tasks still to run by topic: a worker claims the tasks of its other topics without reading
  past the backlog of the topics it claims last (texts received, during a spike).

Revision ID: 0014_hot_path
Revises: 0013_fonix
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0014_hot_path"
down_revision = "0013_fonix"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_tasks_to_run", "outbox_tasks", ["topic", "available_at", "id"],
                    postgresql_where=sa.text("done_at IS NULL AND parked_at IS NULL"),
                    sqlite_where=sa.text("done_at IS NULL AND parked_at IS NULL"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transfers_check ON ledger_transfers; "
                   "DROP FUNCTION everypenny_check_transfer();")
        run_sql("transfer_checks")


def downgrade() -> None:
    op.drop_index("ix_outbox_tasks_to_run", "outbox_tasks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transfers_check ON ledger_transfers; "
                   "DROP FUNCTION everypenny_check_transfers();")
        run_sql("history/0001_transfer_checks")
