"""Rollups of donations kept by triggers, so the appeal dashboard reads a few hundred rows at a million donations.

Two tables, because the dashboard asks two kinds of question:

- `donation_group_sums`: per appeal and group (channel, status, keyword, keyword amount, failure reason), the
  number of donations and their promised, paid and refunded pence. A new donation adds itself to its group; a
  donation that changes (a charge is reported, a refund is made) leaves its old group and joins its new one.
- `donation_minute_counts`: per appeal and minute (whole minutes since 1970, UTC), the donations received, for
  the activity chart.

Keeping the minutes apart from the groups keeps both small: a group-by-minute table would grow with the
appeal's length times the number of groups, as large as the donations themselves for a long, busy appeal.

Columns that may be absent on a donation are stored as '' (no keyword, no failure reason) and 0 (no keyword
amount), because a primary key cannot hold NULL and upserts must find the row.

On PostgreSQL, as for the running sums since 0008: the triggers run once per statement over its transition
tables, so a COPY or a worker's batch updates each rollup row once, not once per row; and each row is split
SHARDS ways by transaction (each claims a shard no other transaction in flight holds), so texts that workers
store side by side during a TV spike never wait on one another's row nor take shared rows in different orders.
A shard's row may go negative (a donation counted by one transaction can leave its group in another); the sum
over shards is exact. SQLite has one writer at a time and updates rows in place: its triggers run per row, all
in shard 0.

The index 0004 built for the breakdown (on channel, status, keyword, amount, with the paid and refunded pence)
is no longer read, so it goes: every donation stored and every charge reported no longer updates it, and a
donation's change of status can again be a heap-only update on PostgreSQL.

Revision ID: 0009_desk_rollups
Revises: 0008_sums_by_transaction
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from everypenny.adapters.db.triggers import run_sql

revision = "0009_desk_rollups"
down_revision = "0008_sums_by_transaction"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GROUP = "appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason"
SUMS = ("amount_pence", "paid_pence", "refunded_pence")


def _signed(row: str, source: str, sign: int, postgresql: bool) -> str:
    """The donations `row` (an alias over `source`) as rollup keys and amounts, each with a sign: +1 joins its
    group and minute, -1 leaves them. The triggers in sql/desk_rollups.*.sql select the same."""
    minute = (f"floor(extract(epoch FROM {row}.created_at) / 60)::bigint" if postgresql
              else f"CAST(strftime('%s', {row}.created_at) AS INTEGER) / 60")
    return f"""
        SELECT {sign} AS sign, {row}.appeal_id AS appeal_id, {row}.channel AS channel, {row}.status AS status,
               coalesce({row}.keyword, '') AS keyword,
               CASE WHEN {row}.keyword IS NULL THEN 0 ELSE {row}.amount_pence END AS keyword_amount_pence,
               coalesce({row}.failure_reason, '') AS failure_reason,
               {row}.amount_pence AS amount_pence, {row}.paid_pence AS paid_pence,
               {row}.refunded_pence AS refunded_pence, {minute} AS minute
        {source}"""


def _add_to_rollups(changes: str, shard: str) -> list[str]:
    """Statements adding the signed `changes` to both rollups, as the triggers do; a change that leaves a group
    or minute as it was writes nothing. (`WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.)"""
    signed_sums = [f"sum(sign * {column})" for column in SUMS]
    return [f"""
        INSERT INTO donation_group_sums ({GROUP}, shard, donation_count, {", ".join(SUMS)})
        SELECT {GROUP}, {shard}, sum(sign), {", ".join(signed_sums)} FROM ({changes}) c WHERE true
        GROUP BY {GROUP} HAVING {" OR ".join(f"{total} <> 0" for total in ["sum(sign)", *signed_sums])}
        ON CONFLICT ({GROUP}, shard) DO UPDATE SET
            donation_count = donation_group_sums.donation_count + excluded.donation_count,
            {", ".join(f"{column} = donation_group_sums.{column} + excluded.{column}" for column in SUMS)}
    """, f"""
        INSERT INTO donation_minute_counts (appeal_id, minute, shard, donation_count)
        SELECT appeal_id, minute, {shard}, sum(sign) FROM ({changes}) c WHERE true
        GROUP BY appeal_id, minute HAVING sum(sign) <> 0
        ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
            donation_count = donation_minute_counts.donation_count + excluded.donation_count
    """]


def upgrade() -> None:
    op.create_table(
        "donation_group_sums",
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("keyword", sa.String(40), nullable=False),
        sa.Column("keyword_amount_pence", sa.BigInteger, nullable=False),
        sa.Column("failure_reason", sa.String(200), nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("donation_count", sa.BigInteger, nullable=False),
        sa.Column("amount_pence", sa.BigInteger, nullable=False),
        sa.Column("paid_pence", sa.BigInteger, nullable=False),
        sa.Column("refunded_pence", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("appeal_id", "channel", "status", "keyword", "keyword_amount_pence",
                                "failure_reason", "shard"),
    )
    op.create_table(
        "donation_minute_counts",
        sa.Column("appeal_id", Id, sa.ForeignKey("appeals.id"), nullable=False),
        sa.Column("minute", sa.BigInteger, nullable=False),
        sa.Column("shard", sa.SmallInteger, nullable=False),
        sa.Column("donation_count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("appeal_id", "minute", "shard"),
    )
    op.drop_index("ix_donations_desk_breakdown", "donations")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _add_to_rollups(_signed("d", "FROM donations d", 1, postgresql), "0"):
        op.execute(statement)  # the donations already recorded
    run_sql("history/0009_desk_rollups")  # the triggers that kept them until 0019_partners added the partner


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            DROP TRIGGER donations_rollup_insert ON donations; DROP TRIGGER donations_rollup_update ON donations;
            DROP FUNCTION everypenny_roll_up_new_donations(); DROP FUNCTION everypenny_roll_up_changed_donations();
        """)
    else:
        op.execute("DROP TRIGGER donations_rollup_insert")
        op.execute("DROP TRIGGER donations_rollup_update")
    op.drop_table("donation_minute_counts")
    op.drop_table("donation_group_sums")
    op.create_index("ix_donations_desk_breakdown", "donations",
                    ["appeal_id", "channel", "status", "keyword", "amount_pence"],
                    postgresql_include=["paid_pence", "refunded_pence", "failure_reason"])
