"""Running sums kept per statement and sharded by transaction, on PostgreSQL.

Migration 0006's triggers ran once per row and chose a shard by row id. Two things went wrong at scale:
- A worker now stores a batch of texts in one transaction; by row id, one batch's updates touched every shard
  of an account, so two batches locked the same shard rows in different orders and deadlocked. Now each
  transaction claims a shard of its own (everypenny_shard(): the first free one of SHARDS, held by a
  transaction-level advisory lock until it ends) and adds only to that shard's rows. Transactions in flight
  side by side never share a counter row, so they neither wait on one another nor deadlock; only a
  seventeenth concurrent writer waits for a shard to come free.
- Within one transaction PostgreSQL cannot prune the versions of a row it updates again and again, so each
  further update of a shard row walks a longer chain: loading a million donations in one COPY took hours.
  A statement-level trigger adds a whole statement's rows (a COPY, a multi-row INSERT) in one update.
SQLite has one writer at a time and updates rows in place: it keeps 0006's triggers.

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

SHARD = "everypenny_shard()"
SHARD_LOCKS = 0x65700000  # the advisory-lock namespace of the shard claims ("ep"); keys are (SHARD_LOCKS, shard)

CLAIM_A_SHARD = f"""
    CREATE FUNCTION everypenny_shard() RETURNS smallint LANGUAGE plpgsql AS $$
    DECLARE
        claimed text := nullif(current_setting('everypenny.shard', true), '');
        first integer := txid_current() % 16;
    BEGIN
        IF claimed IS NOT NULL THEN
            RETURN claimed::smallint;
        END IF;
        FOR step IN 0..15 LOOP
            IF pg_try_advisory_xact_lock({SHARD_LOCKS}, (first + step) % 16) THEN
                PERFORM set_config('everypenny.shard', ((first + step) % 16)::text, true);
                RETURN (first + step) % 16;
            END IF;
        END LOOP;
        PERFORM pg_advisory_xact_lock({SHARD_LOCKS}, first);  -- every shard busy: wait for ours
        PERFORM set_config('everypenny.shard', first::text, true);
        RETURN first;
    END $$;
"""

# The signed movements of the transfers a statement inserted: their own sides, and the release of the
# pending transfers they post or void.
MOVEMENTS = """
    SELECT n.debit_account_id AS account_id, n.kind,
           CASE WHEN n.phase IN ('single', 'post') THEN n.amount_pence ELSE 0 END AS posted,
           CASE WHEN n.phase = 'pending' THEN n.amount_pence ELSE 0 END AS pending
    FROM inserted_transfers n
    UNION ALL
    SELECT n.credit_account_id, n.kind,
           CASE WHEN n.phase IN ('single', 'post') THEN -n.amount_pence ELSE 0 END,
           CASE WHEN n.phase = 'pending' THEN -n.amount_pence ELSE 0 END
    FROM inserted_transfers n
    UNION ALL
    SELECT p.debit_account_id, p.kind, 0, -p.amount_pence
    FROM inserted_transfers n JOIN ledger_transfers p ON p.id = n.pending_id
    UNION ALL
    SELECT p.credit_account_id, p.kind, 0, p.amount_pence
    FROM inserted_transfers n JOIN ledger_transfers p ON p.id = n.pending_id
"""

STATEMENT_TRIGGERS = f"""
    DROP TRIGGER ledger_transfers_sums ON ledger_transfers;
    DROP TRIGGER donations_paid_count ON donations;
    DROP FUNCTION everypenny_add_to_ledger_sums();
    DROP FUNCTION everypenny_count_paid_donations();

    CREATE FUNCTION everypenny_add_to_ledger_sums() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO ledger_account_sums (account_id, kind, shard, posted_pence, pending_pence)
        SELECT account_id, kind, {SHARD}, sum(posted), sum(pending) FROM ({MOVEMENTS}) m
        GROUP BY account_id, kind
        ON CONFLICT (account_id, kind, shard) DO UPDATE SET
            posted_pence = ledger_account_sums.posted_pence + excluded.posted_pence,
            pending_pence = ledger_account_sums.pending_pence + excluded.pending_pence;
        RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
        REFERENCING NEW TABLE AS inserted_transfers
        FOR EACH STATEMENT EXECUTE FUNCTION everypenny_add_to_ledger_sums();

    CREATE FUNCTION everypenny_count_paid_donations() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
            SELECT appeal_id, {SHARD}, count(*) FROM inserted_donations WHERE paid_pence > 0 GROUP BY appeal_id
            ON CONFLICT (appeal_id, shard) DO UPDATE
                SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
        ELSE
            INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
            SELECT n.appeal_id, {SHARD},
                   sum(CASE WHEN o.paid_pence = 0 AND n.paid_pence > 0 THEN 1
                            WHEN o.paid_pence > 0 AND n.paid_pence = 0 THEN -1 ELSE 0 END)
            FROM updated_donations n JOIN donations_before o ON o.id = n.id
            WHERE (o.paid_pence = 0) <> (n.paid_pence = 0)
            GROUP BY n.appeal_id
            ON CONFLICT (appeal_id, shard) DO UPDATE
                SET paid_count = donation_paid_counts.paid_count + excluded.paid_count;
        END IF;
        RETURN NULL;
    END $$;
    -- PostgreSQL refuses transition tables on a trigger with a column list: these fire on every UPDATE.
    CREATE TRIGGER donations_paid_count_insert AFTER INSERT ON donations
        REFERENCING NEW TABLE AS inserted_donations
        FOR EACH STATEMENT EXECUTE FUNCTION everypenny_count_paid_donations();
    CREATE TRIGGER donations_paid_count_update AFTER UPDATE ON donations
        REFERENCING OLD TABLE AS donations_before NEW TABLE AS updated_donations
        FOR EACH STATEMENT EXECUTE FUNCTION everypenny_count_paid_donations();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CLAIM_A_SHARD)
        op.execute(STATEMENT_TRIGGERS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    path = Path(__file__).with_name("0006_ledger_sums.py")  # its row-level triggers come back
    spec = importlib.util.spec_from_file_location("everypenny_migration_0006", path)
    assert spec is not None and spec.loader is not None
    row_level = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(row_level)
    op.execute("""
        DROP TRIGGER ledger_transfers_sums ON ledger_transfers;
        DROP TRIGGER donations_paid_count_insert ON donations;
        DROP TRIGGER donations_paid_count_update ON donations;
        DROP FUNCTION everypenny_add_to_ledger_sums();
        DROP FUNCTION everypenny_count_paid_donations();
        DROP FUNCTION everypenny_shard();
    """)
    op.execute(row_level.postgresql_functions())
    op.execute(row_level.POSTGRESQL_TRIGGERS)
