"""Online donations: Stripe Checkout sessions, Gift Aid declarations, sent emails, rate-limit windows.

Revision ID: 0003_online_donations
Revises: 0002_text_to_donate
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_online_donations"
down_revision = "0002_text_to_donate"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "online_checkouts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(255), nullable=False, unique=True),
        sa.Column("donation_id", Id, sa.ForeignKey("donations.id"), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payment_intent", sa.String(255), unique=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint("status IN ('open', 'paid', 'failed', 'expired')", name="ck_online_checkouts_status"),
    )
    op.create_table(
        "gift_aid_declarations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("donation_id", Id, sa.ForeignKey("donations.id"), nullable=False, unique=True),
        sa.Column("contact", sa.String(320)),
        sa.Column("charity_name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(4), nullable=False),
        sa.Column("first_name", sa.String(35), nullable=False),
        sa.Column("last_name", sa.String(35), nullable=False),
        sa.Column("house", sa.String(100), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("wording", sa.Text, nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("declared_at", When, nullable=False),
    )
    op.create_index("ix_gift_aid_declarations_contact", "gift_aid_declarations", ["contact"])
    op.create_table(
        "email_messages",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sent_at", When, nullable=False),
        sa.UniqueConstraint("purpose", "reference", name="uq_email_messages_purpose_reference"),
    )
    op.create_table(
        "rate_limit_windows",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("window_start", When, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.UniqueConstraint("scope", "subject_hash", "window_start", name="uq_rate_limit_windows_subject"),
    )
    op.create_index("ix_rate_limit_windows_window_start", "rate_limit_windows", ["window_start"])


def downgrade() -> None:
    for table in ("rate_limit_windows", "email_messages", "gift_aid_declarations", "online_checkouts"):
        op.drop_table(table)
