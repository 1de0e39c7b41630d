"""Rollups of donations kept by triggers, so the appeal dashboard reads a few hundred rows at a million donations.

Two tables, because the dashboard asks two kinds of question:

- `donation_group_sums`: per appeal and group (channel, status, keyword, keyword amount, failure reason), the
  number of donations and their promised, paid and refunded pence. A new donation adds itself to its group; a
  donation that changes (a charge is reported, a refund is made) leaves its old group and joins its new one.
- `donation_minute_counts`: per appeal and minute (whole minutes since 1970, UTC), the donations received, for
  the activity chart. A donation's minute never changes once it is received.

Keeping the minutes apart from the groups keeps both small: a group-by-minute table would grow with the
appeal's length times the number of groups, as large as the donations themselves for a long, busy appeal.

Columns that may be absent on a donation are stored as '' (no keyword, no failure reason) and 0 (no keyword
amount), because a primary key cannot hold NULL and upserts must find the row.

Shards, as for the ledger's running sums (0006): on PostgreSQL each row is split SHARDS ways, so texts that
workers insert side by side during a TV spike rarely wait on one another's row. The shard is the writing
connection's backend process id modulo SHARDS, not the donation's id: one transaction then always writes the
same shard of a group, so two transactions meet on a row only when their backends share a shard, and one
transaction of a batch (group commit) never holds several shards of a group for others to cross. Rows of a
shard may go negative (a donation counted in one shard can leave its group from another); their sum is exact.
SQLite serialises writers already, so there everything is shard 0.

Revision ID: 0008_desk_rollups
Revises: 0007_settlement
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_desk_rollups"
down_revision = "0007_settlement"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SHARDS = 16
GROUP_KEY = "appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, shard"
GROUP_COLUMNS = f"{GROUP_KEY}, donation_count, amount_pence, paid_pence, refunded_pence"
GROUPED_ON_DONATIONS = ("appeal_id", "channel", "status", "keyword", "amount_pence", "paid_pence", "refunded_pence",
                        "failure_reason")
MINUTE_ON_DONATIONS = ("appeal_id", "created_at")
TRIGGERS = ("donations_rollup_insert", "donations_rollup_regroup", "donations_rollup_move_minute")


def _group_values(row: str, sign: str, shard: str) -> str:
    """One donation's contribution to its group: `row` is NEW or OLD, `sign` is '' to add it or '-' to take it away."""
    return (f"{row}.appeal_id, {row}.channel, {row}.status, coalesce({row}.keyword, ''), "
            f"CASE WHEN {row}.keyword IS NULL THEN 0 ELSE {row}.amount_pence END, coalesce({row}.failure_reason, ''), "
            f"{shard}, {sign}1, {sign}{row}.amount_pence, {sign}{row}.paid_pence, {sign}{row}.refunded_pence")


def _add_to_group(row: str, sign: str, shard: str) -> str:
    return f"""
        INSERT INTO donation_group_sums ({GROUP_COLUMNS}) VALUES ({_group_values(row, sign, shard)})
        ON CONFLICT ({GROUP_KEY}) DO UPDATE SET
            donation_count = donation_group_sums.donation_count + excluded.donation_count,
            amount_pence = donation_group_sums.amount_pence + excluded.amount_pence,
            paid_pence = donation_group_sums.paid_pence + excluded.paid_pence,
            refunded_pence = donation_group_sums.refunded_pence + excluded.refunded_pence
    """


def _count_minute(row: str, sign: str, minute: str, shard: str) -> str:
    return f"""
        INSERT INTO donation_minute_counts (appeal_id, minute, shard, donation_count)
        VALUES ({row}.appeal_id, {minute}, {shard}, {sign}1)
        ON CONFLICT (appeal_id, minute, shard) DO UPDATE SET
            donation_count = donation_minute_counts.donation_count + excluded.donation_count
    """


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    """True when a column differs between OLD and NEW, NULLs included (`IS DISTINCT FROM`, in SQLite `IS NOT`)."""
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in columns)


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
    postgresql = op.get_bind().dialect.name == "postgresql"

    def minute(row: str) -> str:
        """The whole minutes since 1970 (UTC) when the donation `row` was received."""
        if postgresql:
            return f"floor(extract(epoch FROM {row}.created_at) / 60)::bigint"
        return f"CAST(strftime('%s', {row}.created_at) AS INTEGER) / 60"

    op.execute(f"""
        INSERT INTO donation_group_sums ({GROUP_COLUMNS})
        SELECT appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason, 0,
               count(*), sum(amount_pence), sum(paid_pence), sum(refunded_pence)
        FROM (SELECT appeal_id, channel, status, coalesce(keyword, '') AS keyword,
                     CASE WHEN keyword IS NULL THEN 0 ELSE amount_pence END AS keyword_amount_pence,
                     coalesce(failure_reason, '') AS failure_reason, amount_pence, paid_pence, refunded_pence
              FROM donations) d
        GROUP BY appeal_id, channel, status, keyword, keyword_amount_pence, failure_reason
    """)
    op.execute(f"""
        INSERT INTO donation_minute_counts (appeal_id, minute, shard, donation_count)
        SELECT appeal_id, minute, 0, count(*)
        FROM (SELECT appeal_id, {minute("donations")} AS minute FROM donations) d
        GROUP BY appeal_id, minute
    """)
    if postgresql:
        shard = f"pg_backend_pid() % {SHARDS}"
        op.execute(f"""
            CREATE FUNCTION everypenny_roll_up_new_donation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_add_to_group("NEW", "", shard)}; {_count_minute("NEW", "", minute("NEW"), shard)};
                RETURN NULL;
            END $$;
            CREATE TRIGGER donations_rollup_insert AFTER INSERT ON donations
                FOR EACH ROW EXECUTE FUNCTION everypenny_roll_up_new_donation();

            CREATE FUNCTION everypenny_regroup_donation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {_add_to_group("OLD", "-", shard)}; {_add_to_group("NEW", "", shard)}; RETURN NULL; END $$;
            CREATE TRIGGER donations_rollup_regroup AFTER UPDATE ON donations
                FOR EACH ROW WHEN ({_changed(GROUPED_ON_DONATIONS, "IS DISTINCT FROM")})
                EXECUTE FUNCTION everypenny_regroup_donation();

            CREATE FUNCTION everypenny_move_donation_minute() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_count_minute("OLD", "-", minute("OLD"), shard)}; {_count_minute("NEW", "", minute("NEW"), shard)};
                RETURN NULL;
            END $$;
            CREATE TRIGGER donations_rollup_move_minute AFTER UPDATE ON donations
                FOR EACH ROW WHEN ({_changed(MINUTE_ON_DONATIONS, "IS DISTINCT FROM")})
                EXECUTE FUNCTION everypenny_move_donation_minute();
        """)
    else:
        op.execute(f"""CREATE TRIGGER donations_rollup_insert AFTER INSERT ON donations BEGIN
                       {_add_to_group("NEW", "", "0")}; {_count_minute("NEW", "", minute("NEW"), "0")}; END""")
        op.execute(f"""CREATE TRIGGER donations_rollup_regroup AFTER UPDATE ON donations
                       WHEN {_changed(GROUPED_ON_DONATIONS, "IS NOT")} BEGIN
                       {_add_to_group("OLD", "-", "0")}; {_add_to_group("NEW", "", "0")}; END""")
        op.execute(f"""CREATE TRIGGER donations_rollup_move_minute AFTER UPDATE ON donations
                       WHEN {_changed(MINUTE_ON_DONATIONS, "IS NOT")} BEGIN
                       {_count_minute("OLD", "-", minute("OLD"), "0")}; {_count_minute("NEW", "", minute("NEW"), "0")};
                       END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger} ON donations")
        for function in ("everypenny_roll_up_new_donation", "everypenny_regroup_donation",
                         "everypenny_move_donation_minute"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("donation_minute_counts")
    op.drop_table("donation_group_sums")
