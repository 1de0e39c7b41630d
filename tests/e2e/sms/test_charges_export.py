"""The charges export: every attempt to take a donor's money, by text (phone bill) and by card, with its outcome."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sms_harness import load_seed_variant

from everypenny.service_layer import desk

SLUG = "sun-ukraine-fund"
O2_PAYG_15 = "+447700900501"  # £15 of credit, at most £10 per charge
EE = "+447700900001"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"


def charges(platform) -> list[dict[str, str]]:
    text = "".join(chunk.text for chunk in desk.export_csv(platform.uow(), "charges", SLUG))
    return list(csv.DictReader(io.StringIO(text)))


def twenty_pound_keyword(definition) -> None:
    definition["sms"]["shortcodes"][0]["keywords"][0]["amounts_pence"] = [300, 500, 1000, 2000]


def test_a_twenty_pound_text_split_in_two_shows_both_charges_and_why_the_second_failed(texts, platform):
    load_seed_variant(platform, twenty_pound_keyword)
    texts.text(O2_PAYG_15, "SUN20")
    [donation] = texts.donations()

    rows = charges(platform)

    assert [(r["donation_reference"], r["channel"], r["method"], r["sequence"], r["network"], r["amount_pence"],
             r["currency"], r["status"], r["failure_reason"]) for r in rows] == [
        (donation.reference, "carrier_sms", "phone_bill", "1", "O2", "1000", "GBP", "charged", ""),
        (donation.reference, "carrier_sms", "phone_bill", "2", "O2", "1000", "GBP", "failed", "INSUFFICIENT_FUNDS")]
    assert [r["provider_reference"] for r in rows] == [c.request_id for c in texts.charges(donation.reference)]
    assert all(r["card_payment_id"] == "" for r in rows)
    for row in rows:
        assert datetime.fromisoformat(row["requested_at"]) <= datetime.fromisoformat(row["reported_at"])


def test_each_text_and_each_card_checkout_is_one_charge_in_the_order_the_donations_came(texts, cards, platform):
    texts.text(EE, "SUN5")
    [text] = texts.donations()
    paid = cards.donate(2500)

    rows = charges(platform)

    assert [(r["donation_reference"], r["method"], r["status"], r["amount_pence"]) for r in rows] == [
        (text.reference, "phone_bill", "charged", "500"), (paid, "card", "charged", "2500")]
    card = rows[1]
    with platform.uow() as uow:
        checkout = uow.checkouts.by_reference(paid)
    assert (card["channel"], card["sequence"], card["network"]) == ("online", "1", "")
    assert (card["provider_reference"], card["card_payment_id"]) == (checkout.session_id, checkout.payment_intent)
    assert card["card_payment_id"].startswith("pi_") and card["reported_at"]


def test_a_declined_card_shows_the_processors_reason_and_an_unpaid_checkout_is_still_requested(cards, platform):
    declined = cards.start(1000)
    assert not cards.sim.pay(cards.session_of(declined), INSUFFICIENT_FUNDS_CARD, "reader@example.org").succeeds
    cards.deliver()
    waiting = cards.start(300)

    rows = {row["donation_reference"]: row for row in charges(platform)}

    assert (rows[declined]["status"], rows[declined]["failure_reason"]) == (
        "failed", "Your card has insufficient funds.")
    assert rows[declined]["reported_at"]
    assert (rows[waiting]["status"], rows[waiting]["failure_reason"], rows[waiting]["reported_at"]) == (
        "requested", "", "")
