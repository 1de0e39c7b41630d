"""Foundation: appeals, the ledger with its rules in the database, donations, consents, inbox and outbox.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    _appeals()
    _ledger()
    _inbox_and_outbox()
    _donations_and_consents()
    # The ledger's rules in the database too (sql/ledger_rules.*.sql, sql/transfer_checks.*.sql).
    run_sql("ledger_rules")
    if op.get_bind().dialect.name == "postgresql":
        run_sql("history/0001_transfer_checks")  # checked per statement since 0014_hot_path
    else:
        run_sql("transfer_checks")


def _appeals() -> None:
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


def _ledger() -> None:
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


def _inbox_and_outbox() -> None:
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


def _donations_and_consents() -> None:
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


def downgrade() -> None:
    for table in ("consents", "donations", "outbox_tasks", "inbox_messages", "ledger_transfers", "ledger_accounts",
                  "appeal_changes", "appeals"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS everypenny_check_transfer(); "
                   "DROP FUNCTION IF EXISTS everypenny_refuse_change();")
