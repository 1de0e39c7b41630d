"""The appeal dashboard's figures, computed in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from everypenny.domain.appeal import Channel
from everypenny.service_layer.desk import UnknownAppeal, dashboard
from tests.builders import DonationBuilder


@pytest.fixture
def donations(platform, seed_appeal):
    return DonationBuilder(platform)


def test_an_appeal_with_no_donations_has_an_empty_dashboard(platform, donations):
    board = dashboard(platform.uow(), "sun-ukraine-fund")

    assert (board.raised_pence, board.pending_pence, board.paid_count) == (0, 0, 0)
    assert board.average_gift_pence is None
    assert board.settled_pence is None  # not yet reported, rather than a made-up zero
    assert board.activity is None
    assert board.latest == []


def test_raised_counts_posted_money_only_and_pending_counts_unconfirmed_texts(platform, donations):
    donations.text(500)
    donations.text(1000)
    donations.text(300, outcome="pending")
    donations.text(1000, outcome="failed", failure_reason="insufficient credit")
    donations.online(2500)

    board = dashboard(platform.uow(), "sun-ukraine-fund")

    assert board.raised_pence == 500 + 1000 + 2500
    assert (board.pending_pence, board.pending_count) == (300, 1)
    assert board.paid_count == 3
    assert board.average_gift_pence == 1333  # £40 / 3, to the nearest penny
    lines = {line.channel: line for line in board.channels}
    assert (lines[Channel.CARRIER_SMS].received, lines[Channel.CARRIER_SMS].paid) == (4, 2)
    assert lines[Channel.CARRIER_SMS].raised_pence == 1500
    assert (lines[Channel.ONLINE].received, lines[Channel.ONLINE].raised_pence) == (1, 2500)
    assert lines[Channel.TEXT_TO_LINK].received == 0
    assert board.failures == [("insufficient credit", 1)]


def test_refunds_reduce_raised_and_part_payments_count_what_was_taken(platform, donations):
    refunded = donations.online(2000)
    donations.refund(refunded, 2000)
    donations.text(2000, outcome="part_paid", paid_pence=1000, failure_reason="second charge barred")

    board = dashboard(platform.uow(), "sun-ukraine-fund")

    assert board.raised_pence == 1000
    assert board.failures == [("second charge barred", 1)]


def test_keywords_are_broken_down_by_the_amount_texted(platform, donations):
    donations.text(500)
    donations.text(500)
    donations.text(300, outcome="failed", failure_reason="barred")
    donations.text(1000, keyword="SUNNOINFO")

    board = dashboard(platform.uow(), "sun-ukraine-fund")

    assert [(k.keyword, k.amount_pence, k.received, k.paid, k.paid_pence) for k in board.keywords] == [
        ("SUN", 300, 1, 0, 0), ("SUN", 500, 2, 2, 1000), ("SUNNOINFO", 1000, 1, 1, 1000)]


def test_activity_counts_donations_per_minute_across_the_appeals_life(platform, donations):
    start = datetime(2026, 11, 26, 9, 0, 10, tzinfo=UTC)
    for second in (0, 20, 40):
        donations.text(500, at=start + timedelta(seconds=second))
    donations.text(500, at=start + timedelta(minutes=3))

    activity = dashboard(platform.uow(), "sun-ukraine-fund").activity

    assert activity.bucket_seconds == 60
    assert [(b.start.strftime("%H:%M"), b.count) for b in activity.buckets] == [
        ("09:00", 3), ("09:01", 0), ("09:02", 0), ("09:03", 1)]
    assert activity.per_minute == [3.0, 0.0, 0.0, 1.0]


def test_a_long_appeal_is_charted_in_wider_buckets(platform, donations):
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    donations.text(500, at=start)
    donations.text(500, at=start + timedelta(days=2))

    activity = dashboard(platform.uow(), "sun-ukraine-fund").activity

    assert activity.bucket_seconds == 1800  # 96 half-hours: under the chart's 120 buckets
    assert len(activity.buckets) == 97
    assert (activity.buckets[0].count, activity.buckets[-1].count, sum(b.count for b in activity.buckets)) == (1, 1, 2)


def test_latest_donations_come_newest_first(platform, donations):
    first = donations.text(500)
    second = donations.online(1000)

    assert [d.reference for d in dashboard(platform.uow(), "sun-ukraine-fund").latest] == [
        second.reference, first.reference]


def test_settled_money_is_shown_once_a_settlement_is_posted(platform, donations):
    from everypenny.domain.ledger import AccountCode, TransferKind, TransferRequest
    from everypenny.service_layer.ledger import record_transfer

    donations.text(500)
    record_transfer(platform.uow(), TransferRequest(
        "settle-1", "sun-ukraine-fund", AccountCode.BANK, AccountCode.receivable(Channel.CARRIER_SMS), 500, "GBP",
        TransferKind.SETTLEMENT))

    board = dashboard(platform.uow(), "sun-ukraine-fund")

    assert board.settled_pence == 500
    assert board.raised_pence == 500  # settling moves money to the bank; it does not raise more


def test_an_unknown_appeal_is_refused(platform, donations):
    with pytest.raises(UnknownAppeal, match="no-such-appeal"):
        dashboard(platform.uow(), "no-such-appeal")
