"""Foundation: appeals, the ledger with its rules in the database, donations, consents, inbox and outbox.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

IMMUTABLE = "ledger transfers are immutable: correct them with a reversing transfer"
ACCOUNTS_FIXED = "ledger accounts cannot be changed or removed"
WRONG_ACCOUNTS = "a ledger transfer must move between two accounts of its own appeal and currency"
BAD_RESOLUTION = ("a post or void must resolve a pending transfer between the same accounts, "
                  "posting no more than was pending and voiding all of it")

# The rule for a post or void, written once as a condition on NEW and the pending row p.
RESOLUTION_MATCHES = """
    p.phase = 'pending' AND p.debit_account_id = NEW.debit_account_id
    AND p.credit_account_id = NEW.credit_account_id AND NEW.amount_pence <= p.amount_pence
    AND (NEW.phase = 'post' OR NEW.amount_pence = p.amount_pence)
"""
ACCOUNT_COUNT = """
    (SELECT count(*) FROM ledger_accounts a WHERE a.id IN (NEW.debit_account_id, NEW.credit_account_id)
     AND a.appeal_id = NEW.appeal_id AND a.currency = NEW.currency)
"""

# A transfer's rules, checked row by row before insert (migration 0014_hot_path checks them per statement).
CHECK_TRANSFER = f"""
        CREATE FUNCTION everypenny_check_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF {ACCOUNT_COUNT} <> 2 THEN
                RAISE EXCEPTION '{WRONG_ACCOUNTS}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF NEW.phase IN ('post', 'void') AND NOT EXISTS (
                SELECT 1 FROM ledger_transfers p WHERE p.id = NEW.pending_id AND {RESOLUTION_MATCHES}
            ) THEN
                RAISE EXCEPTION '{BAD_RESOLUTION}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;

        CREATE TRIGGER ledger_transfers_check BEFORE INSERT ON ledger_transfers
            FOR EACH ROW EXECUTE FUNCTION everypenny_check_transfer();
"""


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_table(
        "appeal_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False, index=True),
        sa.Column("changed_at", When, nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("previous_hash", sa.String(64)),
        sa.Column("new_hash", sa.String(64), nullable=False),
        sa.Column("changed_keys", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.UniqueConstraint("appeal_id", "code", name="uq_ledger_accounts_appeal_code"),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("debit_account_id", Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("credit_account_id", Id, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("pending_id", Id, sa.ForeignKey("ledger_transfers.id"), unique=True),
        sa.Column("reference", sa.String(120)),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.CheckConstraint("amount_pence > 0", name="ck_ledger_transfers_amount_positive"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="ck_ledger_transfers_two_accounts"),
        sa.CheckConstraint("phase IN ('single', 'pending', 'post', 'void')", name="ck_ledger_transfers_phase"),
        sa.CheckConstraint("(pending_id IS NOT NULL) = (phase IN ('post', 'void'))",
                           name="ck_ledger_transfers_resolution_names_pending"),
    )
    op.create_index("ix_ledger_transfers_appeal_kind", "ledger_transfers", ["appeal_id", "kind"])
    op.create_index("ix_ledger_transfers_reference", "ledger_transfers", ["reference"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.UniqueConstraint("provider", "message_id", name="uq_inbox_messages_provider_message"),
    )
    op.create_table(
        "outbox_tasks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("dedupe_key", sa.String(255), unique=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("available_at", When, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("locked_until", When),
        sa.Column("done_at", When),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_tasks_due", "outbox_tasks", ["available_at"],
                    postgresql_where=sa.text("done_at IS NULL"), sqlite_where=sa.text("done_at IS NULL"))
    op.create_table(
        "donations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(20), nullable=False, unique=True),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("paid_pence", sa.BigInteger, nullable=False),
        sa.Column("refunded_pence", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("email", sa.String(320)),
        sa.Column("keyword", sa.String(40)),
        sa.Column("marketing_consent", sa.Boolean, nullable=False),
        sa.Column("failure_reason", sa.String(200)),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint("amount_pence > 0", name="ck_donations_amount_positive"),
        sa.CheckConstraint("paid_pence >= 0 AND paid_pence <= amount_pence", name="ck_donations_paid_within_amount"),
        sa.CheckConstraint("refunded_pence >= 0 AND refunded_pence <= paid_pence",
                           name="ck_donations_refund_within_paid"),
    )
    op.create_index("ix_donations_appeal_created", "donations", ["appeal_id", "created_at"])
    op.create_index("ix_donations_phone", "donations", ["phone"])
    op.create_index("ix_donations_email", "donations", ["email"])
    op.create_table(
        "consents",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("contact", sa.String(320), nullable=False),
        sa.Column("medium", sa.String(10), nullable=False),
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id")),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(60), nullable=False),
        sa.Column("recorded_at", When, nullable=False),
    )
    op.create_index("ix_consents_contact", "consents", ["contact", "medium", "id"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_ledger_rules()
    else:
        _sqlite_ledger_rules()


def _postgresql_ledger_rules() -> None:
    op.execute(f"""
        CREATE FUNCTION everypenny_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
        END $$;

        CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE ON ledger_transfers
            FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change('{IMMUTABLE}');
        CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers
            FOR EACH STATEMENT EXECUTE FUNCTION everypenny_refuse_change('{IMMUTABLE}');
        CREATE TRIGGER ledger_accounts_fixed BEFORE UPDATE OR DELETE ON ledger_accounts
            FOR EACH ROW EXECUTE FUNCTION everypenny_refuse_change('{ACCOUNTS_FIXED}');
    """)
    op.execute(CHECK_TRANSFER)


def _sqlite_ledger_rules() -> None:
    for table, event, message in (
        ("ledger_transfers", "UPDATE", IMMUTABLE),
        ("ledger_transfers", "DELETE", IMMUTABLE),
        ("ledger_accounts", "UPDATE", ACCOUNTS_FIXED),
        ("ledger_accounts", "DELETE", ACCOUNTS_FIXED),
    ):
        op.execute(f"""
            CREATE TRIGGER {table}_refuse_{event.lower()} BEFORE {event} ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END
        """)
    op.execute(f"""
        CREATE TRIGGER ledger_transfers_check_accounts BEFORE INSERT ON ledger_transfers
        WHEN {ACCOUNT_COUNT} <> 2
        BEGIN SELECT RAISE(ABORT, '{WRONG_ACCOUNTS}'); END
    """)
    op.execute(f"""
        CREATE TRIGGER ledger_transfers_check_resolution BEFORE INSERT ON ledger_transfers
        WHEN NEW.phase IN ('post', 'void') AND NOT EXISTS (
            SELECT 1 FROM ledger_transfers p WHERE p.id = NEW.pending_id AND {RESOLUTION_MATCHES})
        BEGIN SELECT RAISE(ABORT, '{BAD_RESOLUTION}'); END
    """)


def downgrade() -> None:
    for table in ("consents", "donations", "outbox_tasks", "inbox_messages", "ledger_transfers", "ledger_accounts",
                  "appeal_changes", "appeals"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS everypenny_check_transfer(); "
                   "DROP FUNCTION IF EXISTS everypenny_refuse_change();")
