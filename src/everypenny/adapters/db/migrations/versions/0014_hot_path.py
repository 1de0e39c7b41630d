"""The text-gift hot path costs PostgreSQL less.

- A transfer's rules (two accounts of its own appeal and currency; a post or void resolving a pending transfer
  between the same accounts, posting no more than was pending and voiding all of it) are checked once per
  INSERT statement over the rows it inserted, instead of by a trigger call per row: a batch of charge reports
  posts hundreds of transfers in one statement. Same rules, same messages; SQLite keeps its row triggers.
- An index of the tasks still to run by topic: a worker claims the tasks of its other topics without reading
  past the backlog of the topics it claims last (texts received, during a spike).

Revision ID: 0014_hot_path
Revises: 0013_fonix
Create Date: 2026-12-01
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014_hot_path"
down_revision = "0013_fonix"
branch_labels = None
depends_on = None


def _foundation():
    """Migration 0001, for the rules' wording and the row-level trigger a downgrade brings back."""
    spec = importlib.util.spec_from_file_location("everypenny_migration_0001",
                                                  Path(__file__).with_name("0001_foundation.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _statement_checks(foundation) -> str:
    resolution_matches = foundation.RESOLUTION_MATCHES.replace("NEW.", "n.")
    return f"""
        CREATE FUNCTION everypenny_check_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (
                SELECT 1 FROM inserted_transfers n
                LEFT JOIN ledger_accounts d ON d.id = n.debit_account_id AND d.appeal_id = n.appeal_id
                    AND d.currency = n.currency
                LEFT JOIN ledger_accounts c ON c.id = n.credit_account_id AND c.appeal_id = n.appeal_id
                    AND c.currency = n.currency
                WHERE d.id IS NULL OR c.id IS NULL
            ) THEN
                RAISE EXCEPTION '{foundation.WRONG_ACCOUNTS}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF EXISTS (
                SELECT 1 FROM inserted_transfers n WHERE n.phase IN ('post', 'void') AND NOT EXISTS (
                    SELECT 1 FROM ledger_transfers p WHERE p.id = n.pending_id AND {resolution_matches})
            ) THEN
                RAISE EXCEPTION '{foundation.BAD_RESOLUTION}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$;

        CREATE TRIGGER ledger_transfers_check AFTER INSERT ON ledger_transfers
            REFERENCING NEW TABLE AS inserted_transfers
            FOR EACH STATEMENT EXECUTE FUNCTION everypenny_check_transfers();
    """


def upgrade() -> None:
    op.create_index("ix_outbox_tasks_to_run", "outbox_tasks", ["topic", "available_at", "id"],
                    postgresql_where=sa.text("done_at IS NULL AND parked_at IS NULL"),
                    sqlite_where=sa.text("done_at IS NULL AND parked_at IS NULL"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transfers_check ON ledger_transfers; "
                   "DROP FUNCTION everypenny_check_transfer();")
        op.execute(_statement_checks(_foundation()))


def downgrade() -> None:
    op.drop_index("ix_outbox_tasks_to_run", "outbox_tasks")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_transfers_check ON ledger_transfers; "
                   "DROP FUNCTION everypenny_check_transfers();")
        op.execute(_foundation().CHECK_TRANSFER)
