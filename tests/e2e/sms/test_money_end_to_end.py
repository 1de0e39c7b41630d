"""The issue's "Done when": an appeal run through text and card donations, settlement statements with
deliberate mistakes, reconciliation, the surplus rule, payouts and a Gift Aid schedule, to the penny."""

from __future__ import annotations

from datetime import UTC, datetime

from card_harness import balances
from fastapi.testclient import TestClient
from sms_harness import load_seed_variant

from everypenny.domain.gift_aid_claims import uk_date
from everypenny.domain.settlement import LineStatus
from everypenny.service_layer import desk, settlement
from everypenny.service_layer.online_donations import GiftAidAnswers, declare_gift_aid
from everypenny.simulators.aggregator import create_simulator_app
from everypenny.simulators.stripe import card_fee

SLUG = "sun-ukraine-fund"
EE = ["+447700900001", "+447700900002", "+447700900003"]
O2 = "+447700900101"
BARRED = "+447700900251"
MONTH = f"{datetime.now(UTC):%Y-%m}"




def import_statement(texts, cli, tmp_path, network: str, **options):
    aggregator = TestClient(create_simulator_app(texts.simulator), base_url="http://aggregator")
    response = aggregator.get("/sim/settlements", params={"month": MONTH, "network": network, **options})
    path = tmp_path / f"{network}.csv"
    path.write_bytes(response.content)
    return cli("settlement", "import", "--appeal", SLUG, "aggregator", path)


def test_an_appeal_from_first_text_to_gift_aid_claim(texts, cards, platform, cli, tmp_path):
    load_seed_variant(platform, lambda d: d["surplus"].update(restricted_target_pence=3000))

    # Money in: £28 charged by text (one text fails), £35 net by card (one card gift refunded).
    for phone, body in zip([*EE, O2, BARRED], ["SUN5", "SUN10", "SUN3", "SUN10", "SUN5"], strict=True):
        texts.text(phone, body)
    charges = {d.phone: texts.charges(d.reference)[0] for d in texts.donations()}
    texter = charges[EE[0]].donation_reference
    declare_gift_aid(platform.uow, texter, GiftAidAnswers(
        title="Mrs", first_name="Halyna", last_name="Bondar", house="3", address="", postcode="m1 1ae"),
        "online:gift-aid-link")
    cards.donate(2500, "taras@example.org", gift_aid=GiftAidAnswers(
        title="Mr", first_name="Taras", last_name="Kovalenko", house="Flat 2", address="", postcode="yo1 7hh"))
    cards.donate(1000, "reader@example.org")
    cards.refund(cards.donate(800, "changed-mind@example.org"))
    assert balances(platform)["receivable:carrier_sms"] == 2800
    assert balances(platform)["receivable:online"] == 3500

    # The aggregator's statements: EE short-pays £10 as £5 and adds a line for no charge of ours; O2 has
    # not paid yet; Three pays for a charge that failed. Stripe pays out everything, less its fees.
    ee = import_statement(texts, cli, tmp_path, "EE", fee_pence=10, short=charges[EE[1]].request_id, unknown=1)
    assert ee.exit_code == 0 and "settled £13 of our charges, fee £0.30" in ee.output
    assert import_statement(texts, cli, tmp_path, "THREE", pay_failed="1").exit_code == 0
    assert import_statement(texts, cli, tmp_path, "EE").exit_code == 2  # same reference, other contents
    payout = cards.sim.create_payout()
    card_fees = card_fee(2500) + card_fee(1000) + card_fee(800)
    assert (card_fees, payout["amount"]) == (125, 3500 - 125)
    assert cli("settlement", "import", "--appeal", SLUG, "stripe").exit_code == 0

    posted = balances(platform)
    assert posted["bank"] == 1300 - 30 + 3375 == 4645
    assert posted["recoverable:fees"] == 30 + 125  # the media partner's, never the beneficiary's
    assert (posted["receivable:carrier_sms"], posted["receivable:online"]) == (2800 - 1300, 0)
    assert posted["fund:restricted"] == -6300  # 100% of £28 + £35

    # Reconciliation.
    report = settlement.reconcile(platform.uow, SLUG)
    assert (report.charged_pence, report.settled_pence) == (6300, 4800)
    assert [line.status for line in report.problem_lines] == [LineStatus.SHORT, LineStatus.UNKNOWN,
                                                              LineStatus.FAILED_CHARGE]
    assert (report.shortfall_pence, report.unmatched_cash_pence, report.awaiting_pence) == (500, 1000, 1000)
    assert [c.request_id for c in report.unsettled] == [charges[O2].request_id]
    assert desk.dashboard(platform.uow(), SLUG).settled_pence == 4800

    # The surplus rule, then payouts of settled money only.
    allocated = cli("allocate", "--appeal", SLUG)
    assert "moved £33 to the surplus fund; restricted £30, surplus £33" in allocated.output
    assert cli("payout", "record", "--appeal", SLUG, "--amount-pence", 3000, "--fund", "restricted",
               "--reference", "BRC-1").exit_code == 0
    assert cli("payout", "record", "--appeal", SLUG, "--amount-pence", 1645, "--fund", "surplus",
               "--reference", "BRC-2").exit_code == 0
    too_much = cli("payout", "record", "--appeal", SLUG, "--amount-pence", 1, "--fund", "surplus",
                   "--reference", "BRC-3")
    assert too_much.exit_code == 2 and "only £0 of settled money is unpaid" in too_much.output
    remittance = cli("payout", "remittance", "--appeal", SLUG, "--reference", "BRC-1")
    # stdout alone: the simulators' threads log to stderr meanwhile, and `output` interleaves both.
    amounts = [line.split(",")[3] for line in remittance.stdout.strip().splitlines()[1:]]
    assert sum(round(float(a) * 100) for a in amounts) == 3000
    posted = balances(platform)
    assert (posted["bank"], posted["paid_out:beneficiary"]) == (0, 4645)

    # Gift Aid: Taras is named (he gave over £20); Halyna's £5 text is aggregated. 25% of £30.
    schedule = tmp_path / "gift-aid.csv"
    claimed = cli("giftaid", "schedule", "--appeal", SLUG, "--output", schedule, "--claim")
    assert claimed.exit_code == 0, claimed.output
    assert "wrote 2 rows (2 donations, £30)" in claimed.output and "Gift Aid claimable £7.50" in claimed.output
    rows = schedule.read_text().splitlines()
    today = f"{uk_date(datetime.now(UTC)):%d/%m/%y}"
    assert rows[1:] == [f"1,Mr,Taras,Kovalenko,Flat 2,YO1 7HH,,,{today},25.00",
                        f"2,,,,,,1 donation of 20 pounds or less,,{today},5.00"]
    assert cli("giftaid", "schedule", "--appeal", SLUG, "--output", schedule, "--claim").exit_code == 2

    # Every posting balances, and the chain over all of it verifies.
    assert sum(balances(platform).values()) == 0
    assert cli("ledger", "seal", "--appeal", SLUG).exit_code == 0
    assert "intact" in cli("ledger", "verify", "--appeal", SLUG).output
