"""Parked outbox tasks: a task that keeps failing stops being retried and waits for an admin.

`parked_at` is when it was parked (claims skip it); `dismissed_by` names the admin who dismissed it (its
`done_at` is then set), so the desk and the CLI can tell dismissed work from work done.

Revision ID: 0011_security_data
Revises: 0010_hmrc
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_security_data"
down_revision = "0010_hmrc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_tasks") as batch:
        batch.add_column(sa.Column("parked_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("dismissed_by", sa.String(320)))


def downgrade() -> None:
    with op.batch_alter_table("outbox_tasks") as batch:
        batch.drop_column("dismissed_by")
        batch.drop_column("parked_at")
