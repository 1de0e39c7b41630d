"""Tables as the code queries them. Alembic migrations (in ./migrations) are the history that builds them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits for a busy ledger.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

appeals = Table(
    "appeals", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(80), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("definition", Text, nullable=False),
    Column("definition_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

appeal_changes = Table(
    "appeal_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False, index=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("source", String(500), nullable=False),
    Column("previous_hash", String(64)),
    Column("new_hash", String(64), nullable=False),
    Column("changed_keys", Text, nullable=False),
)

ledger_accounts = Table(
    "ledger_accounts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("code", String(60), nullable=False),
    Column("currency", String(3), nullable=False),
    UniqueConstraint("appeal_id", "code", name="uq_ledger_accounts_appeal_code"),
)

ledger_transfers = Table(
    "ledger_transfers", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("debit_account_id", Id, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("credit_account_id", Id, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("phase", String(10), nullable=False),
    Column("pending_id", Id, ForeignKey("ledger_transfers.id"), unique=True),
    Column("reference", String(120)),
    Column("description", String(500), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount_pence > 0", name="ck_ledger_transfers_amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="ck_ledger_transfers_two_accounts"),
    CheckConstraint("phase IN ('single', 'pending', 'post', 'void')", name="ck_ledger_transfers_phase"),
    CheckConstraint("(pending_id IS NOT NULL) = (phase IN ('post', 'void'))",
                    name="ck_ledger_transfers_resolution_names_pending"),
    Index("ix_ledger_transfers_appeal_kind", "appeal_id", "kind"),
    Index("ix_ledger_transfers_reference", "reference"),
)

inbox_messages = Table(
    "inbox_messages", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("provider", String(40), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("provider", "message_id", name="uq_inbox_messages_provider_message"),
)

outbox_tasks = Table(
    "outbox_tasks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("topic", String(60), nullable=False),
    Column("payload", Text, nullable=False),
    Column("dedupe_key", String(255), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("available_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Index("ix_outbox_tasks_due", "available_at", postgresql_where=text("done_at IS NULL"),
          sqlite_where=text("done_at IS NULL")),
)
