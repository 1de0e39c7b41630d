"""Desk users no longer carry a failed-login count or a lockout.

Login attempts are counted per (email, client address) and per client address in rate_limit_windows, before
any password is checked (service_layer/auth.py), so the per-account columns 0004 added are no longer read or
written. SQLite (3.35+) and PostgreSQL both drop a plain column in place.

Revision ID: 0012_security_edge
Revises: 0011_security_data
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_security_edge"
down_revision = "0011_security_data"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_column("desk_users", "failed_logins")
    op.drop_column("desk_users", "locked_until")


def downgrade() -> None:
    op.add_column("desk_users", sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
    op.add_column("desk_users", sa.Column("locked_until", When))
