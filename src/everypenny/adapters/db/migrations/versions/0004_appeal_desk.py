"""Appeal desk: desk users and their sessions, and indexes that keep the dashboard cheap at a million donations.

Revision ID: 0004_appeal_desk
Revises: 0003_online_donations
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_appeal_desk"
down_revision = "0003_online_donations"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_users",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_login_at", When),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", When),
        sa.CheckConstraint("role IN ('admin', 'finance', 'viewer')", name="ck_desk_users_role"),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", Id, sa.ForeignKey("desk_users.id"), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
    )
    # One index-only scan answers the dashboard's breakdown (channel, status, keyword, amount, failures).
    op.create_index("ix_donations_desk_breakdown", "donations",
                    ["appeal_id", "channel", "status", "keyword", "amount_pence"],
                    postgresql_include=["paid_pence", "refunded_pence", "failure_reason"])
    # Raised and settled by account, from posted transfers only, without touching the table's rows.
    op.create_index("ix_ledger_transfers_desk_posted", "ledger_transfers", ["appeal_id", "phase", "kind"],
                    postgresql_include=["debit_account_id", "credit_account_id", "amount_pence"])
    # The consent list picks each contact's latest record among those who opted in through an appeal.
    op.create_index("ix_consents_appeal_granted", "consents", ["appeal_id", "granted", "contact"])


def downgrade() -> None:
    op.drop_index("ix_consents_appeal_granted", "consents")
    op.drop_index("ix_ledger_transfers_desk_posted", "ledger_transfers")
    op.drop_index("ix_donations_desk_breakdown", "donations")
    op.drop_table("desk_sessions")
    op.drop_table("desk_users")
