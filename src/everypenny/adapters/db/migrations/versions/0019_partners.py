"""Every gift knows its media partner: a national appeal's totals per partner (issue 23).

- `donations.partner`: the slug of the media partner whose call to action the gift answered (the keyword of a
  text; the partner's page online), or NULL for the appeal's own page. One more column on the row a text
  already writes: no query more per text.
- `donation_group_sums` gains `partner` in its group (and key), so the totals per partner are read from the
  rollup's few hundred rows, never by scanning donations; its triggers (sql/desk_rollups.*.sql) carry the
  partner. The rollup is rebuilt from the donations recorded (none has a partner yet).

Revision ID: 0019_partners
Revises: 0018_broadcast_markers
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0019_partners"
down_revision = "0018_broadcast_markers"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = ["appeal_id", "channel", "status", "keyword", "keyword_amount_pence", "failure_reason"]


def _drop_rollup_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            DROP TRIGGER donations_rollup_insert ON donations; DROP TRIGGER donations_rollup_update ON donations;
            DROP FUNCTION everypenny_roll_up_new_donations(); DROP FUNCTION everypenny_roll_up_changed_donations();
        """)
    else:
        op.execute("DROP TRIGGER donations_rollup_insert")
        op.execute("DROP TRIGGER donations_rollup_update")


def _rebuild_group_sums(key: list[str]) -> None:
    """A new donation_group_sums grouped by `key`, filled from the donations recorded (all in shard 0)."""
    op.drop_table("donation_group_sums")
    op.create_table(
        "donation_group_sums",
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("keyword", sa.String(40), nullable=False),
        sa.Column("keyword_amount_pence", sa.BigInteger, nullable=False),
        sa.Column("failure_reason", sa.String(200), nullable=False),
        *([sa.Column("partner", sa.String(60), nullable=False)] if "partner" in key else []),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("donation_count", sa.BigInteger, nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("paid_pence", sa.BigInteger, nullable=False),
        sa.Column("refunded_pence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(*key, "shard"),
    )
    partner = ["coalesce(partner, '')"] if "partner" in key else []
    values = ["appeal_id", "channel", "status", "coalesce(keyword, '')",
              "CASE WHEN keyword IS NULL THEN 0 ELSE amount_pence END", "coalesce(failure_reason, '')", *partner]
    op.execute(f"""
        INSERT INTO donation_group_sums ({", ".join(key)}, shard, donation_count, amount_pence, paid_pence,
                                         refunded_pence)
        SELECT {", ".join(values)}, 0, count(*), sum(amount_pence), sum(paid_pence), sum(refunded_pence)
        FROM donations GROUP BY {", ".join(values)}
    """)


def upgrade() -> None:
    op.add_column("donations", sa.Column("partner", sa.String(60)))
    _drop_rollup_triggers()
    _rebuild_group_sums([*KEY, "partner"])
    run_sql("desk_rollups")


def downgrade() -> None:
    _drop_rollup_triggers()
    op.drop_column("donations", "partner")  # in place: SQLite's batch mode would rebuild the table without triggers
    _rebuild_group_sums(KEY)
    run_sql("history/0009_desk_rollups")
