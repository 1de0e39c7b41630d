"""Running sums of the ledger and of paid donations, kept by triggers, so totals cost the same at a million
donations as at ten.

Each transfer adds its amounts to one of SHARDS rows per account and kind (chosen by its id), so concurrent
writers rarely wait on the same row: no hot single-row account, as ledgers at scale avoid. A post or void
releases its pending transfer's amount. Existing transfers and donations are summed once, here.

Revision ID: 0006_ledger_sums
Revises: 0005_ledger_proof
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_ledger_sums"
down_revision = "0005_ledger_proof"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SHARDS = 16

BECAME_PAID = "OLD.paid_pence = 0 AND NEW.paid_pence > 0"
NO_LONGER_PAID = "OLD.paid_pence > 0 AND NEW.paid_pence = 0"

# The signed movements one inserted transfer NEW makes: its own sides, and the release of its pending transfer.
MOVEMENTS = """
    SELECT NEW.debit_account_id AS account_id, NEW.kind AS kind,
           CASE WHEN NEW.phase IN ('single', 'post') THEN NEW.amount_pence ELSE 0 END AS posted,
           CASE WHEN NEW.phase = 'pending' THEN NEW.amount_pence ELSE 0 END AS pending
    UNION ALL
    SELECT NEW.credit_account_id, NEW.kind,
           CASE WHEN NEW.phase IN ('single', 'post') THEN -NEW.amount_pence ELSE 0 END,
           CASE WHEN NEW.phase = 'pending' THEN -NEW.amount_pence ELSE 0 END
    UNION ALL
    SELECT p.debit_account_id, p.kind, 0, -p.amount_pence FROM ledger_transfers p WHERE p.id = NEW.pending_id
    UNION ALL
    SELECT p.credit_account_id, p.kind, 0, p.amount_pence FROM ledger_transfers p WHERE p.id = NEW.pending_id
"""
SHARD = f"NEW.id % {SHARDS}"


def add_movements() -> str:
    return f"""
        INSERT INTO ledger_account_sums (account_id, kind, shard, posted_pence, pending_pence)
        SELECT account_id, kind, {SHARD}, sum(posted), sum(pending) FROM ({MOVEMENTS}) m
        WHERE true GROUP BY account_id, kind
        ON CONFLICT (account_id, kind, shard) DO UPDATE SET
            posted_pence = ledger_account_sums.posted_pence + excluded.posted_pence,
            pending_pence = ledger_account_sums.pending_pence + excluded.pending_pence
    """


def count_paid(change: str) -> str:
    return f"""
        INSERT INTO donation_paid_counts (appeal_id, shard, paid_count)
        VALUES (NEW.appeal_id, {SHARD}, {change})
        ON CONFLICT (appeal_id, shard) DO UPDATE SET paid_count = donation_paid_counts.paid_count + excluded.paid_count
    """


def postgresql_functions() -> str:
    """Row-level trigger functions; migration 0008 replaces them and brings them back on downgrade."""
    return f"""
        CREATE OR REPLACE FUNCTION everypenny_add_to_ledger_sums() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {add_movements()}; RETURN NULL; END $$;

        CREATE OR REPLACE FUNCTION everypenny_count_paid_donations() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' AND NEW.paid_pence > 0 OR TG_OP = 'UPDATE' AND {BECAME_PAID} THEN
                {count_paid("1")};
            ELSIF TG_OP = 'UPDATE' AND {NO_LONGER_PAID} THEN
                {count_paid("-1")};
            END IF;
            RETURN NULL;
        END $$;
    """



POSTGRESQL_TRIGGERS = """
    CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
        FOR EACH ROW EXECUTE FUNCTION everypenny_add_to_ledger_sums();
    CREATE TRIGGER donations_paid_count AFTER INSERT OR UPDATE OF paid_pence ON donations
        FOR EACH ROW EXECUTE FUNCTION everypenny_count_paid_donations();
"""


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
        op.execute(postgresql_functions())
        op.execute(POSTGRESQL_TRIGGERS)
    else:
        op.execute(f"""CREATE TRIGGER ledger_transfers_sums AFTER INSERT ON ledger_transfers
                       BEGIN {add_movements()}; END""")
        op.execute(f"""CREATE TRIGGER donations_paid_count_insert AFTER INSERT ON donations
                       WHEN NEW.paid_pence > 0 BEGIN {count_paid("1")}; END""")
        op.execute(f"""CREATE TRIGGER donations_paid_count_paid AFTER UPDATE OF paid_pence ON donations
                       WHEN {BECAME_PAID} BEGIN {count_paid("1")}; END""")
        op.execute(f"""CREATE TRIGGER donations_paid_count_unpaid AFTER UPDATE OF paid_pence ON donations
                       WHEN {NO_LONGER_PAID} BEGIN {count_paid("-1")}; END""")


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
