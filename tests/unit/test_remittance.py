"""Which donations a payout covers: each channel settles its donations oldest first, payouts take them in turn."""

from datetime import UTC, datetime

import pytest

from everypenny.domain.payouts import Fund, Gift, MoneyOutRefused, Settlement, check_payout, remittance


def day(n: int) -> datetime:
    return datetime(2026, 11, n, tzinfo=UTC)


GIFTS = [Gift("EP-A", "carrier_sms", day(1), 500), Gift("EP-C", "online", day(2), 2500),
         Gift("EP-B", "carrier_sms", day(3), 1000), Gift("EP-REFUNDED", "online", day(4), 0)]
SETTLEMENTS = [Settlement("AGG-1", "carrier_sms", day(20), 1500), Settlement("po_1", "online", day(21), 2500)]


def covered(payouts, reference):
    return [(line.donation_reference, line.covered_pence, line.settlement_reference)
            for line in remittance(GIFTS, SETTLEMENTS, payouts, reference)]


def test_a_payout_covers_the_oldest_settled_donations_first():
    assert covered([("BACS-1", 3850)], "BACS-1") == [
        ("EP-A", 500, "AGG-1"), ("EP-B", 1000, "AGG-1"), ("EP-C", 2350, "po_1")]


def test_a_later_payout_covers_what_earlier_ones_left():
    assert covered([("BACS-1", 3850), ("BACS-2", 150)], "BACS-2") == [("EP-C", 150, "po_1")]


def test_a_donation_refunded_in_full_is_never_covered():
    assert "EP-REFUNDED" not in {line[0] for line in covered([("BACS-1", 4000)], "BACS-1")}


def test_an_unknown_payout_is_an_error():
    with pytest.raises(LookupError, match="NOPE"):
        remittance(GIFTS, SETTLEMENTS, [("BACS-1", 100)], "NOPE")


def test_a_payout_is_limited_by_settled_cash_and_by_its_fund():
    check_payout(3850, Fund.RESTRICTED, bank_pence=3850, fund_unpaid_pence=4300, currency="GBP")
    with pytest.raises(MoneyOutRefused, match=r"only £38\.50 of settled money is unpaid"):
        check_payout(4000, Fund.RESTRICTED, bank_pence=3850, fund_unpaid_pence=4300, currency="GBP")
    with pytest.raises(MoneyOutRefused, match="surplus fund: it is owed only £0 more"):
        check_payout(100, Fund.SURPLUS, bank_pence=3850, fund_unpaid_pence=0, currency="GBP")
