"""Stripe, event by event: what each event the simulator sends through the webhook does to the books.

Every test runs on SQLite and PostgreSQL; events reach the app signed, through POST /webhooks/stripe, and the
outbox worker applies them. "The fund" is what the appeal has raised (totals); "Stripe owes us" is the
receivable:online account, which Stripe's payouts settle into the bank.
"""

from __future__ import annotations

import pytest
from card_harness import balances
from sqlalchemy import func, select
from structlog.testing import capture_logs

from everypenny.adapters.db.schema import inbox_messages
from everypenny.config import STRIPE_API_VERSION
from everypenny.domain.donation import DonationStatus
from everypenny.domain.ledger import TransferKind
from everypenny.service_layer.online_donations import STRIPE_RETRY_WINDOW
from everypenny.simulators.stripe import card_fee

SLUG = "sun-ukraine-fund"
DISPUTED_CARD, INQUIRY_CARD, REFUND_FAILS_CARD = "4000000000000259", "4000000000001976", "4000000000005126"


def raised(platform) -> int:
    with platform.uow() as uow:
        return uow.ledger.totals(SLUG).raised_pence


def donation(platform, reference):
    with platform.uow() as uow:
        return uow.donations.get(reference)


def kinds(platform, reference) -> list[tuple[str, int]]:
    with platform.uow() as uow:
        return [(t.kind.value, t.amount_pence) for t in uow.ledger.transfers(SLUG, reference)
                if t.kind in (TransferKind.REFUND, TransferKind.DISPUTE)]


def pay(cards, pence: int, card: str) -> str:
    reference = cards.start(pence)
    assert cards.sim.pay(cards.session_of(reference), card, "reader@example.org").succeeds
    cards.deliver()
    return reference


def dispute_of(cards, reference) -> dict:
    intent = cards.sim.sessions[cards.session_of(reference)]["payment_intent"]
    return next(d for d in cards.sim.disputes.values() if d["payment_intent"] == intent)


def outbox_depth(platform) -> int:
    with platform.uow() as uow:
        return uow.outbox.depth()


# --- the API version ---------------------------------------------------------------------------------------

def test_events_of_another_api_version_are_refused_by_name_and_nothing_is_stored(cards, platform):
    cards.sim.webhook.api_version = "2024-06-20"
    reference = cards.start(500)
    cards.sim.pay(cards.session_of(reference), "4242424242424242", "reader@example.org")

    responses = cards.deliver()

    assert {response.status_code for response in responses} == {400}
    detail = responses[-1].json()["detail"]
    assert "2024-06-20" in detail and STRIPE_API_VERSION in detail and "create the webhook endpoint" in detail
    with platform.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(inbox_messages)) == 0
    assert donation(platform, reference).status is DonationStatus.PENDING


# --- payments that are not ours -----------------------------------------------------------------------------

def test_refunds_and_disputes_of_another_integrations_payment_wait_then_are_ignored(cards, platform):
    cards.sim.clock_offset_s = -int(STRIPE_RETRY_WINDOW.total_seconds()) - 3600  # these happened days ago
    theirs = cards.sim.pay_elsewhere(5000)
    cards.sim.refund({"payment_intent": theirs["payment_intent"], "amount": "1000"})
    cards.sim.open_dispute(theirs["id"])
    cards.sim.clock_offset_s = 0
    recent = cards.sim.pay_elsewhere(3000)
    cards.sim.refund({"payment_intent": recent["payment_intent"], "amount": "500"})

    with capture_logs() as logs:
        cards.deliver()

    assert outbox_depth(platform) == 1  # the recent refund: its payment's own event may still be on its way
    assert raised(platform) == 0 and balances(platform).get("receivable:online", 0) == 0
    ignored = {(log["type"], log["reason"].split(" on payment ")[0]) for log in logs
               if log["event"] == "ignoring a Stripe event about a payment we did not take"}
    assert sorted(ignored) == [("charge.dispute.created", "a dispute"), ("charge.dispute.funds_withdrawn", "a dispute"),
                               ("refund.created", "a refund")]


# --- refunds ------------------------------------------------------------------------------------------------

def test_a_failed_refund_is_booked_back_and_the_donation_can_be_refunded_again(cards, platform):
    reference = pay(cards, 2000, REFUND_FAILS_CARD)

    cards.refund(reference, 500)

    assert kinds(platform, reference) == [("refund", 500), ("refund", 500)]  # out, then back
    assert raised(platform) == 2000
    assert balances(platform)["receivable:online"] == 2000
    stored = donation(platform, reference)
    assert (stored.status, stored.refunded_pence) == (DonationStatus.PAID, 0)
    cards.refund(reference, 500)  # asked again after the failure: a new refund at Stripe, not a replay
    assert len(cards.sim.refunds) == 2


def test_a_refund_and_its_failure_delivered_newest_first_end_in_the_same_books(cards, platform):
    reference = pay(cards, 2000, REFUND_FAILS_CARD)
    cards.sim.refund({"payment_intent": cards.sim.sessions[cards.session_of(reference)]["payment_intent"],
                      "amount": "700"})

    cards.deliver(newest_first=True)

    assert raised(platform) == 2000
    assert donation(platform, reference).refunded_pence == 0


def test_a_refund_that_succeeds_stays_booked(cards, platform):
    reference = cards.donate(2000)

    cards.refund(reference, 300)

    assert kinds(platform, reference) == [("refund", 300)]
    assert raised(platform) == 1700


# --- disputes -----------------------------------------------------------------------------------------------

def test_a_chargeback_takes_the_money_when_withdrawn_and_a_lost_one_keeps_it(cards, platform):
    reference = pay(cards, 5000, DISPUTED_CARD)

    assert kinds(platform, reference) == [("dispute", 5000)]  # at funds_withdrawn, before any outcome
    assert raised(platform) == 0
    assert donation(platform, reference).metadata[f"dispute:{dispute_of(cards, reference)['id']}"] == "needs_response"
    cards.sim.close_dispute(dispute_of(cards, reference)["id"])  # the charity accepts it
    cards.deliver()

    assert kinds(platform, reference) == [("dispute", 5000)]
    assert donation(platform, reference).metadata[f"dispute:{dispute_of(cards, reference)['id']}"] == "lost"
    assert raised(platform) == 0


def test_a_won_chargeback_puts_the_money_back_when_reinstated(cards, platform):
    reference = pay(cards, 5000, DISPUTED_CARD)
    dispute = dispute_of(cards, reference)

    cards.sim.update_dispute(dispute["id"], {"evidence": {"uncategorized_text": "winning_evidence"}})
    cards.deliver()

    assert kinds(platform, reference) == [("dispute", 5000), ("dispute", 5000)]
    stored = donation(platform, reference)
    assert (stored.status, stored.net_pence, stored.metadata[f"dispute:{dispute['id']}"]) == (
        DonationStatus.PAID, 5000, "won")
    assert raised(platform) == 5000


def test_dispute_events_delivered_newest_first_end_in_the_same_books(cards, platform):
    reference = cards.start(5000)
    cards.sim.pay(cards.session_of(reference), DISPUTED_CARD, "reader@example.org")
    cards.sim.update_dispute(dispute_of(cards, reference)["id"],
                             {"evidence": {"uncategorized_text": "winning_evidence"}})

    cards.deliver(newest_first=True)

    assert kinds(platform, reference) == [("dispute", 5000), ("dispute", 5000)]
    assert donation(platform, reference).metadata[f"dispute:{dispute_of(cards, reference)['id']}"] == "won"
    assert raised(platform) == 5000


@pytest.mark.parametrize(("evidence", "status", "raised_after"), [
    ("winning_evidence", "warning_closed", 5000), ("losing_evidence", "lost", 0)])
def test_an_inquiry_moves_no_money_unless_it_becomes_a_lost_chargeback(cards, platform, evidence, status,
                                                                       raised_after):
    reference = pay(cards, 5000, INQUIRY_CARD)
    assert kinds(platform, reference) == [] and raised(platform) == 5000

    cards.sim.update_dispute(dispute_of(cards, reference)["id"], {"evidence": {"uncategorized_text": evidence}})
    cards.deliver()

    assert donation(platform, reference).metadata[f"dispute:{dispute_of(cards, reference)['id']}"] == status
    assert raised(platform) == raised_after


def test_a_prevented_dispute_moves_no_money(cards, platform):
    reference = cards.donate(5000)
    charge = cards.sim.payment_intents[cards.sim.sessions[cards.session_of(reference)]["payment_intent"]]

    cards.sim.open_dispute(charge["latest_charge"], prevented=True)
    cards.deliver()

    assert donation(platform, reference).metadata[f"dispute:{dispute_of(cards, reference)['id']}"] == "prevented"
    assert kinds(platform, reference) == [] and raised(platform) == 5000


def test_a_payout_after_a_chargeback_settles_what_stripe_owes_into_the_bank(cards, platform, cli):
    disputed = pay(cards, 5000, DISPUTED_CARD)
    kept = cards.donate(10000)
    payout = cards.sim.create_payout()

    assert cli("settlement", "import", "--appeal", SLUG, "stripe").exit_code == 0

    posted = balances(platform)
    assert posted["receivable:online"] == 0  # the withdrawal and the payout's negative line meet
    assert posted["bank"] == payout["amount"] == 5000 + 10000 - 5000 - card_fee(5000) - card_fee(10000) - 2000
    assert raised(platform) == 10000
    assert donation(platform, disputed).net_pence == 0 and donation(platform, kept).net_pence == 10000


# --- bank payments (Bacs, Pay by bank) ------------------------------------------------------------------------

@pytest.mark.parametrize(("succeeds", "status", "raised_after"), [
    (True, DonationStatus.PAID, 2500), (False, DonationStatus.FAILED, 0)])
def test_a_bank_payment_stays_pending_until_the_bank_answers(cards, platform, succeeds, status, raised_after):
    reference = cards.start(2500)
    cards.sim.pay_by_bank(cards.session_of(reference), "reader@example.org")
    cards.deliver()

    assert donation(platform, reference).status is DonationStatus.PENDING
    with platform.uow() as uow:
        assert uow.ledger.totals(SLUG).pending_pence == 2500

    cards.sim.settle_bank_payment(cards.session_of(reference), succeeds)
    cards.deliver()

    assert donation(platform, reference).status is status
    with platform.uow() as uow:
        figures = uow.ledger.totals(SLUG)
    assert (figures.raised_pence, figures.pending_pence) == (raised_after, 0)
