"""Tables as the code queries them. Alembic migrations (in ./migrations) are the history that builds them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on both stores (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"refusing a naive datetime {value!r}: use UTC")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

appeal_changes = Table(
    "appeal_changes", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False, index=True),
    Column("changed_at", UtcDateTime, nullable=False),
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
    Column("created_at", UtcDateTime, nullable=False),
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
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "message_id", name="uq_inbox_messages_provider_message"),
)

outbox_tasks = Table(
    "outbox_tasks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("topic", String(60), nullable=False),
    Column("payload", Text, nullable=False),
    Column("dedupe_key", String(255), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime),
    Column("done_at", UtcDateTime),
    Column("last_error", Text),
    # A task that failed EVERYPENNY_WORKER_MAX_ATTEMPTS times is parked (migration 0011_security_data): no longer
    # claimed until an admin retries it, or dismissed (done, with who dismissed it).
    Column("parked_at", UtcDateTime),
    Column("dismissed_by", String(320)),
    Index("ix_outbox_tasks_due", "available_at", postgresql_where=text("done_at IS NULL"),
          sqlite_where=text("done_at IS NULL")),
    # Since 0014_hot_path: the tasks still to run by topic, so a claim need not read past a topic's backlog.
    Index("ix_outbox_tasks_to_run", "topic", "available_at", "id",
          postgresql_where=text("done_at IS NULL AND parked_at IS NULL"),
          sqlite_where=text("done_at IS NULL AND parked_at IS NULL")),
)

donations = Table(
    "donations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("reference", String(20), nullable=False, unique=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
    Column("paid_pence", BigInteger, nullable=False),
    Column("refunded_pence", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("phone", String(20)),
    Column("email", String(320)),
    Column("keyword", String(40)),
    # Since 0019_partners: the media partner whose call to action the gift answered; NULL: the appeal's own page.
    Column("partner", String(60)),
    Column("marketing_consent", Boolean, nullable=False),
    Column("failure_reason", String(200)),
    Column("metadata", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("amount_pence > 0", name="ck_donations_amount_positive"),
    CheckConstraint("paid_pence >= 0 AND paid_pence <= amount_pence", name="ck_donations_paid_within_amount"),
    CheckConstraint("refunded_pence >= 0 AND refunded_pence <= paid_pence", name="ck_donations_refund_within_paid"),
    Index("ix_donations_appeal_created", "appeal_id", "created_at"),
    Index("ix_donations_phone", "phone"),
    Index("ix_donations_email", "email"),
)

consents = Table(
    "consents", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact", String(320), nullable=False),
    Column("medium", String(10), nullable=False),
    Column("appeal_id", Id, ForeignKey("appeals.id")),
    Column("granted", Boolean, nullable=False),
    Column("source", String(60), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("wording_version", String(16), ForeignKey("consent_wordings.version", name="fk_consents_wording_version")),
    Index("ix_consents_contact", "contact", "medium", "id"),
)

# The words a donor was shown about marketing, once per version (migration 0016_consent_wording): a consent
# names the version it was given under, so what the person agreed to can be read back exactly.
consent_wordings = Table(
    "consent_wordings", metadata,
    Column("version", String(16), primary_key=True),
    Column("model", String(20), nullable=False),
    Column("wording", Text, nullable=False),
)

# Online donations (migration 0003_online_donations).

online_checkouts = Table(
    "online_checkouts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", String(255), nullable=False, unique=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("payment_intent", String(255), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("status IN ('open', 'paid', 'failed', 'expired')", name="ck_online_checkouts_status"),
)

gift_aid_declarations = Table(
    "gift_aid_declarations", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False, unique=True),
    Column("contact", String(320)),
    Column("charity_name", String(200), nullable=False),
    Column("title", String(4), nullable=False),
    Column("first_name", String(35), nullable=False),
    Column("last_name", String(35), nullable=False),
    Column("first_name_latin", String(35), nullable=False, server_default=""),  # for HMRC, if not in Latin letters
    Column("last_name_latin", String(35), nullable=False, server_default=""),
    Column("house", String(100), nullable=False),
    Column("address", String(200), nullable=False),
    Column("postcode", String(10), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("wording", Text, nullable=False),
    Column("source", String(40), nullable=False),
    Column("declared_at", UtcDateTime, nullable=False),
    # Since 0017_compliance_records: when the donor cancelled it, and who recorded that (HMRC: keep both).
    Column("cancelled_at", UtcDateTime),
    Column("cancelled_by", String(60)),
    Index("ix_gift_aid_declarations_contact", "contact"),
)

email_messages = Table(
    "email_messages", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("purpose", String(40), nullable=False),
    Column("reference", String(40), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    UniqueConstraint("purpose", "reference", name="uq_email_messages_purpose_reference"),
)

rate_limit_windows = Table(
    "rate_limit_windows", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),
    Column("subject_hash", String(64), nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    UniqueConstraint("scope", "subject_hash", "window_start", name="uq_rate_limit_windows_subject"),
    Index("ix_rate_limit_windows_window_start", "window_start"),
)

# Text-to-donate (migration 0002_text_to_donate).

sms_charges = Table(
    "sms_charges", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", String(80), nullable=False, unique=True),
    Column("donation_id", Id, ForeignKey("donations.id"), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("network", String(40), nullable=False),
    Column("status", String(12), nullable=False),
    Column("failure_reason", String(80)),
    Column("contradicting_report", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime),
    # Since 0013_fonix: the aggregator's id for the charge, and where its refund stands.
    Column("txguid", String(80)),
    Column("refund_status", String(10)),
    # Since 0015_aggregator_faults: failed on the aggregator's answer to the request, not on a report.
    Column("refused_on_request", Boolean, nullable=False, server_default=false()),
    Column("contradiction_resolved", String(200)),  # who resolved contradicting reports, and how
    CheckConstraint("amount_pence > 0", name="ck_sms_charges_amount_positive"),
    CheckConstraint("status IN ('requested', 'charged', 'failed', 'unconfirmed')", name="ck_sms_charges_status"),
    CheckConstraint("(status = 'failed') = (failure_reason IS NOT NULL)", name="ck_sms_charges_failure_has_reason"),
    CheckConstraint("refund_status IN ('pending', 'refunded')", name="ck_sms_charges_refund_status"),
    UniqueConstraint("donation_id", "sequence", name="uq_sms_charges_donation_sequence"),
    Index("ix_sms_charges_status_created_at", "status", "created_at"),
)

sms_outbound = Table(
    "sms_outbound", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("request_id", String(80), nullable=False, unique=True),
    Column("provider", String(20), nullable=False),
    Column("to_number", String(20), nullable=False),
    Column("sender", String(20), nullable=False),
    Column("body", Text, nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("in_reply_to", String(255), nullable=False),
    Column("donation_id", Id, ForeignKey("donations.id")),
    Column("status", String(10), nullable=False),
    Column("status_detail", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("txguid", String(80)),  # since 0013_fonix: delivery reports name a message by it
    Index("ix_sms_outbound_in_reply_to", "in_reply_to"),
    Index("ix_sms_outbound_to_number", "to_number"),
    Index("ix_sms_outbound_txguid", "txguid"),
)
# The appeal desk (migration 0004_appeal_desk): its users, their sessions and the reporting indexes.
desk_users = Table(
    "desk_users", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(10), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_login_at", UtcDateTime),
    CheckConstraint("role IN ('admin', 'finance', 'viewer')", name="ck_desk_users_role"),
)

desk_sessions = Table(
    "desk_sessions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("desk_users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

Index("ix_ledger_transfers_desk_posted", ledger_transfers.c.appeal_id, ledger_transfers.c.phase,
      ledger_transfers.c.kind, postgresql_include=["debit_account_id", "credit_account_id", "amount_pence"])
Index("ix_consents_appeal_granted", consents.c.appeal_id, consents.c.granted, consents.c.contact)
# Ledger proof (migration 0005_ledger_proof): the hash chain, payouts, the erasure log; all append-only.
ledger_chain = Table(
    "ledger_chain", metadata,
    Column("appeal_id", Id, ForeignKey("appeals.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("transfer_id", Id, ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("sealed_at", UtcDateTime, nullable=False),
    CheckConstraint("seq > 0", name="ck_ledger_chain_seq_positive"),
    Index("ix_ledger_chain_sealed_at", "appeal_id", "sealed_at"),
)

payouts = Table(
    "payouts", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("reference", String(120), nullable=False),
    Column("fund", String(20), nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
    Column("transfer_id", Id, ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    CheckConstraint("amount_pence > 0", name="ck_payouts_amount_positive"),
    CheckConstraint("fund IN ('restricted', 'surplus')", name="ck_payouts_fund"),
    UniqueConstraint("appeal_id", "reference", name="uq_payouts_appeal_reference"),
)

donor_erasures = Table(
    "donor_erasures", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("pseudonym", String(20), nullable=False, index=True),
    Column("medium", String(10), nullable=False),
    Column("donations", Integer, nullable=False),
    Column("records", Integer, nullable=False),
    Column("erased_at", UtcDateTime, nullable=False),
)

# Running sums kept by triggers (migration 0006_ledger_sums): totals without scanning the ledger.

ledger_account_sums = Table(
    "ledger_account_sums", metadata,
    Column("account_id", Id, ForeignKey("ledger_accounts.id"), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("posted_pence", BigInteger, nullable=False),
    Column("pending_pence", BigInteger, nullable=False),
)

donation_paid_counts = Table(
    "donation_paid_counts", metadata,
    Column("appeal_id", Id, ForeignKey("appeals.id"), primary_key=True),
    Column("shard", SmallInteger, primary_key=True),
    Column("paid_count", BigInteger, nullable=False),
)

# Settlement statements, their lines, and Gift Aid claims (migration 0007_settlement).

settlement_statements = Table(
    "settlement_statements", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("source", String(20), nullable=False),
    Column("reference", String(120), nullable=False),
    Column("network", String(40), nullable=False),
    Column("period", String(7), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("gross_pence", BigInteger, nullable=False),
    Column("fee_pence", BigInteger, nullable=False),
    Column("settled_pence", BigInteger, nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    CheckConstraint("source IN ('aggregator', 'stripe')", name="ck_settlement_statements_source"),
    UniqueConstraint("appeal_id", "source", "reference", name="uq_settlement_statements_reference"),
)

settlement_lines = Table(
    "settlement_lines", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("statement_id", Id, ForeignKey("settlement_statements.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("external_id", String(120), nullable=False),
    Column("message_id", String(120), nullable=False),
    Column("donation_reference", String(20)),
    Column("status", String(20), nullable=False),
    Column("gross_pence", BigInteger, nullable=False),
    Column("fee_pence", BigInteger, nullable=False),
    Column("charged_pence", BigInteger, nullable=False),
    Column("settled_pence", BigInteger, nullable=False),
    CheckConstraint("status IN ('matched', 'short', 'over', 'unknown', 'failed_charge', 'duplicate')",
                    name="ck_settlement_lines_status"),
    UniqueConstraint("statement_id", "external_id", name="uq_settlement_lines_external_id"),
    Index("ix_settlement_lines_external_id", "external_id"),
)

gift_aid_claims = Table(
    "gift_aid_claims", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("donations_pence", BigInteger, nullable=False),
    Column("gift_aid_pence", BigInteger, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
)

gift_aid_claimed_donations = Table(
    "gift_aid_claimed_donations", metadata,
    Column("donation_id", Id, ForeignKey("donations.id"), primary_key=True),
    Column("claim_id", Id, ForeignKey("gift_aid_claims.id"), nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
)

# Rollups of donations kept by triggers (migration 0009_desk_rollups): the dashboard without scanning donations.
# '' stands for no keyword or no failure reason, and 0 for no keyword amount: primary keys cannot hold NULL.

donation_group_sums = Table(
    "donation_group_sums", metadata,
    Column("appeal_id", Id, ForeignKey("appeals.id"), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("status", String(12), primary_key=True),
    Column("keyword", String(40), primary_key=True),
    Column("keyword_amount_pence", BigInteger, primary_key=True, autoincrement=False),
    Column("failure_reason", String(200), primary_key=True),
    Column("partner", String(60), primary_key=True),  # since 0019_partners; '' for none
    Column("shard", SmallInteger, primary_key=True, autoincrement=False),
    Column("donation_count", BigInteger, nullable=False),
    Column("amount_pence", BigInteger, nullable=False),
    Column("paid_pence", BigInteger, nullable=False),
    Column("refunded_pence", BigInteger, nullable=False),
)

donation_minute_counts = Table(
    "donation_minute_counts", metadata,
    Column("appeal_id", Id, ForeignKey("appeals.id"), primary_key=True),
    Column("minute", BigInteger, primary_key=True, autoincrement=False),  # whole minutes since 1970, UTC
    Column("shard", SmallInteger, primary_key=True, autoincrement=False),
    Column("donation_count", BigInteger, nullable=False),
)

# Marks that outlive erasure (migration 0017_compliance_records): marketing suppressions and blocks on giving,
# by a keyed hash of the contact (domain/contact_marks.py). The latest row for a contact and kind stands.

contact_marks = Table(
    "contact_marks", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_hash", String(64), nullable=False),
    Column("medium", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("source", String(60), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_contact_marks_hash", "contact_hash", "medium", "kind", "id"),
)

# Erasure scheduled for the day a retention period ends (domain/retention.py): the contact, which the records
# a period keeps still hold until then; the housekeeping job erases them and deletes the row.

erasure_schedule = Table(
    "erasure_schedule", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact", String(320), nullable=False),
    Column("medium", String(10), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("erase_on", Date, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    UniqueConstraint("contact", "medium", "rule", name="uq_erasure_schedule_contact_rule"),
    Index("ix_erasure_schedule_erase_on", "erase_on"),
)

# Broadcast markers (migration 0018_broadcast_markers): the moments an appeal went on air, to read its effect.

broadcast_markers = Table(
    "broadcast_markers", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_id", Id, ForeignKey("appeals.id"), nullable=False),
    Column("label", String(120), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_broadcast_markers_appeal_at", "appeal_id", "at"),
)
