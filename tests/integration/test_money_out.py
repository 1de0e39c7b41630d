"""Settled cash, fees borne by the media partner, payouts and remittance advice, to the penny on both stores."""

from datetime import UTC, datetime

import pytest

from everypenny.domain.appeal import Channel
from everypenny.domain.ledger import AccountCode
from everypenny.domain.payouts import Fund, MoneyOutRefused
from everypenny.service_layer.money_out import record_payout, record_settlement, reimburse_fees

SLUG = "sun-ukraine-fund"


def balances(platform) -> dict[str, int]:
    with platform.uow() as uow:
        return {code: posted for code, (posted, _) in uow.ledger.balances(SLUG).items()}


@pytest.fixture
def four_gifts(record_donation):
    """£5 and £10 by text, £25 and £3 online."""
    return [record_donation(pence, channel, created_at=datetime(2026, 11, day, 9, tzinfo=UTC))
            for day, (pence, channel) in enumerate(
                [(500, Channel.CARRIER_SMS), (2500, Channel.ONLINE), (1000, Channel.CARRIER_SMS),
                 (300, Channel.ONLINE)], start=1)]


def test_a_fee_withheld_from_a_settlement_never_reduces_the_beneficiarys_fund(platform, four_gifts):
    record_settlement(platform.uow(), SLUG, Channel.CARRIER_SMS, 1500, "AGG-2026-11", fee_pence=150)

    after = balances(platform)
    assert after[AccountCode.BANK] == 1350
    assert after[AccountCode.FEES_RECOVERABLE] == 150
    assert after[AccountCode.receivable(Channel.CARRIER_SMS)] == 0
    assert after[AccountCode.RESTRICTED_FUND] == -4300  # 100% of £43
    assert sum(after.values()) == 0


def test_the_fee_bearer_reimburses_the_fee(platform, four_gifts):
    record_settlement(platform.uow(), SLUG, Channel.CARRIER_SMS, 1500, "AGG-2026-11", fee_pence=150)

    assert reimburse_fees(platform.uow(), SLUG, 150, "SUN-INV-7") is True
    assert reimburse_fees(platform.uow(), SLUG, 150, "SUN-INV-7") is False  # the same reimbursement again

    after = balances(platform)
    assert (after[AccountCode.BANK], after[AccountCode.FEES_RECOVERABLE]) == (1500, 0)
    with pytest.raises(MoneyOutRefused, match="only £0 of fees is recoverable"):
        reimburse_fees(platform.uow(), SLUG, 1, "SUN-INV-8")


def test_the_fee_is_described_as_the_media_partners_expense(platform, four_gifts):
    record_settlement(platform.uow(), SLUG, Channel.CARRIER_SMS, 1500, "AGG-2026-11", fee_pence=150)

    with platform.uow() as uow:
        fee = uow.ledger.get(f"settlement-fee:{SLUG}:carrier_sms:AGG-2026-11")
    assert "borne by The Sun (media partner)" in fee.description
    assert "never taken from donations" in fee.description


def test_a_settlement_is_recorded_once_and_never_beyond_what_was_charged(platform, four_gifts):
    first = record_settlement(platform.uow(), SLUG, Channel.ONLINE, 2800, "po_1")
    again = record_settlement(platform.uow(), SLUG, Channel.ONLINE, 2800, "po_1")

    assert (first.already_recorded, again.already_recorded) == (False, True)
    assert balances(platform)[AccountCode.BANK] == 2800
    with pytest.raises(MoneyOutRefused, match="already recorded with different figures"):
        record_settlement(platform.uow(), SLUG, Channel.ONLINE, 2700, "po_1")
    with pytest.raises(MoneyOutRefused, match="more than the £0 charged on online and not yet settled"):
        record_settlement(platform.uow(), SLUG, Channel.ONLINE, 1, "po_2")
    assert balances(platform)[AccountCode.BANK] == 2800


def test_no_payout_exceeds_settled_unpaid_money(platform, four_gifts):
    record_settlement(platform.uow(), SLUG, Channel.CARRIER_SMS, 1500, "AGG-2026-11", fee_pence=150)

    with pytest.raises(MoneyOutRefused, match=r"cannot pay out £13.51: only £13.50 of settled money is unpaid"):
        record_payout(platform.uow(), SLUG, 1351, Fund.RESTRICTED, "BACS-1")
    with pytest.raises(MoneyOutRefused, match="surplus fund: it is owed only £0 more"):
        record_payout(platform.uow(), SLUG, 100, Fund.SURPLUS, "BACS-1")
    _payout, new = record_payout(platform.uow(), SLUG, 1350, Fund.RESTRICTED, "BACS-1")
    _, again = record_payout(platform.uow(), SLUG, 1350, Fund.RESTRICTED, "BACS-1")

    assert (new, again) == (True, False)
    after = balances(platform)
    assert (after[AccountCode.BANK], after[AccountCode.PAID_OUT]) == (0, 1350)
    assert after[AccountCode.RESTRICTED_FUND] == -4300  # everything given to the fund; £13.50 of it paid
    assert sum(after.values()) == 0
    with pytest.raises(MoneyOutRefused, match="only £0 of settled money"):
        record_payout(platform.uow(), SLUG, 1, Fund.RESTRICTED, "BACS-2")


def test_finance_runs_settlement_payout_and_remittance_from_the_command_line(cli, platform, four_gifts, tmp_path):
    a, c, b, _ = four_gifts
    steps = [
        ("settlement", "record", "--appeal", SLUG, "--channel", "carrier_sms", "--amount-pence", 1500,
         "--reference", "AGG-2026-11", "--fee-pence", 150),
        ("settlement", "record", "--appeal", SLUG, "--channel", "online", "--amount-pence", 2500,
         "--reference", "po_1"),
        ("payout", "record", "--appeal", SLUG, "--amount-pence", 3850, "--fund", "restricted",
         "--reference", "BACS-1"),
        ("fees", "reimburse", "--appeal", SLUG, "--amount-pence", 150, "--reference", "SUN-INV-7"),
        ("payout", "record", "--appeal", SLUG, "--amount-pence", 150, "--fund", "restricted",
         "--reference", "BACS-2"),
    ]
    for step in steps:
        result = cli(*step)
        assert result.exit_code == 0, result.output

    refused = cli("payout", "record", "--appeal", SLUG, "--amount-pence", 1, "--fund", "restricted",
                  "--reference", "BACS-3")
    first = cli("payout", "remittance", "--appeal", SLUG, "--reference", "BACS-1")
    cli("payout", "remittance", "--appeal", SLUG, "--reference", "BACS-2", "--output", tmp_path / "bacs-2.csv")

    assert refused.exit_code == 2 and "only £0 of settled money is unpaid" in refused.output
    listed = cli("payout", "list", "--appeal", SLUG).output
    assert "BACS-1: £38.50 from the restricted fund" in listed and "BACS-2: £1.50 from the restricted fund" in listed
    assert first.output.splitlines() == [
        "donation_reference,channel,donation_date,amount,settlement_reference,settlement_date",
        f"{a.reference},carrier_sms,2026-11-01,5.00,AGG-2026-11,{datetime.now(UTC):%Y-%m-%d}",
        f"{b.reference},carrier_sms,2026-11-03,10.00,AGG-2026-11,{datetime.now(UTC):%Y-%m-%d}",
        f"{c.reference},online,2026-11-02,23.50,po_1,{datetime.now(UTC):%Y-%m-%d}",
    ]
    assert (tmp_path / "bacs-2.csv").read_text().splitlines()[1:] == [
        f"{c.reference},online,2026-11-02,1.50,po_1,{datetime.now(UTC):%Y-%m-%d}"]
    after = balances(platform)
    assert after == {
        "receivable:carrier_sms": 0, "receivable:text_to_link": 0, "receivable:online": 300, "bank": 0,
        "fund:restricted": -4300, "fund:surplus": 0, "paid_out:beneficiary": 4000, "recoverable:fees": 0}


def test_an_unknown_appeal_or_payout_is_named(cli, seed_appeal):
    unknown_appeal = cli("payout", "record", "--appeal", "nope", "--amount-pence", 1, "--fund", "restricted",
                         "--reference", "X")
    unknown_payout = cli("payout", "remittance", "--appeal", SLUG, "--reference", "BACS-404")

    assert unknown_appeal.exit_code == 2 and "'nope'" in unknown_appeal.output
    assert unknown_payout.exit_code == 2 and "BACS-404" in unknown_payout.output


BAD_FIGURES = [
    (("fees", "reimburse", "--amount-pence", 0, "--reference", "SUN-1"), "positive amount"),
    (("payout", "record", "--amount-pence", 100, "--fund", "restricted", "--reference", " "), "needs a reference"),
    (("settlement", "record", "--channel", "online", "--amount-pence", 100, "--reference", "x" * 121),
     "at most 120"),
    (("settlement", "record", "--channel", "online", "--amount-pence", 100, "--reference", "po_1",
      "--fee-pence", 100), "a fee below it"),
]


def test_bad_figures_are_refused_by_name_and_nothing_is_stored(cli, platform, four_gifts):
    before = balances(platform)

    for args, message in BAD_FIGURES:
        result = cli(*args[:2], "--appeal", SLUG, *args[2:])
        assert result.exit_code == 2 and message in result.output, args

    assert balances(platform) == before
