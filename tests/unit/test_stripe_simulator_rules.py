"""The simulator's own rules: Stripe's form encoding, card checks and webhook signatures."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
import stripe

from everypenny.simulators.stripe import card_problem, decode_form, luhn_valid, sign


def test_stripes_nested_form_encoding_decodes_to_dicts_and_lists():
    pairs = [("mode", "payment"), ("line_items[0][quantity]", "1"),
             ("line_items[0][price_data][unit_amount]", "500"), ("metadata[reference]", "EP-1"),
             ("payment_method_types[0]", "card"), ("payment_method_types[1]", "bacs_debit")]

    assert decode_form(pairs) == {
        "mode": "payment", "line_items": [{"quantity": "1", "price_data": {"unit_amount": "500"}}],
        "metadata": {"reference": "EP-1"}, "payment_method_types": ["card", "bacs_debit"]}


def test_luhn():
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424241")


@pytest.mark.parametrize(("number", "expiry", "cvc", "problem"), [
    ("4242424242424242", "12/34", "123", None),
    ("4242424242424242", "11 / 2026", "1234", None),
    ("4242", "12/34", "123", "Your card number is invalid."),
    ("4242424242424242", "10/26", "123", "Your card's expiration date is in the past."),
    ("4242424242424242", "12/25", "123", "Your card's expiration year is in the past."),
    ("4242424242424242", "1234", "123", "Your card's expiration date is incomplete."),
    ("4242424242424242", "12/34", "12", "Your card's security code is incomplete."),
])
def test_the_hosted_page_checks_card_details_first(number, expiry, cvc, problem):
    assert card_problem(number, expiry, cvc, date(2026, 11, 26)) == problem


def test_signatures_verify_with_the_stripe_library():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "charge.refunded", "data": {"object": {}}})

    event = stripe.Webhook.construct_event(payload, sign(payload.encode(), "whsec_x", int(time.time())), "whsec_x")

    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload.encode(), "whsec_other", int(time.time())), "whsec_x")
