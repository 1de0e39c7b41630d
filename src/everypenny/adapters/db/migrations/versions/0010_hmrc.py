"""A Gift Aid declaration keeps the donor's name in Latin letters when they write it in another script.

HMRC's Charities Online validator drops every character outside Latin-1 from a schedule (hmrc/charities-
claims-validation, CommonFileValidation.removeNonWesternCharacters), so "Тарас Шевченко" would arrive empty:
the donor gives a Latin-alphabet spelling with the declaration, and the schedule uses it. Existing
declarations have none ('').

Revision ID: 0010_hmrc
Revises: 0009_desk_rollups
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_hmrc"
down_revision = "0009_desk_rollups"
branch_labels = None
depends_on = None

LATIN_COLUMNS = ("first_name_latin", "last_name_latin")


def upgrade() -> None:
    with op.batch_alter_table("gift_aid_declarations") as table:
        for column in LATIN_COLUMNS:
            table.add_column(sa.Column(column, sa.String(35), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("gift_aid_declarations") as table:
        for column in LATIN_COLUMNS:
            table.drop_column(column)
