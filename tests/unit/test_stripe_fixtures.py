"""The Stripe simulator's objects have the shape of Stripe's own: every field it sends exists on the real object,
with the same JSON type, as Stripe's published OpenAPI fixtures show them (tests/data/stripe_openapi_fixtures3.json,
a few resources of stripe/openapi's openapi/fixtures3.json; its source is recorded in the file). Fields that
Stripe sends only in some states (a failed refund's failure fields) are missing from the fixtures; those are
checked against the attributes stripe-python declares on its resource classes instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import stripe

from everypenny.config import STRIPE_API_VERSION
from everypenny.simulators.stripe import StripeSimulator

FIXTURES = json.loads((Path(__file__).parents[1] / "data" / "stripe_openapi_fixtures3.json").read_text())["resources"]
LIBRARY_CLASSES = {"balance_transaction": stripe.BalanceTransaction, "charge": stripe.Charge,
                   "checkout.session": stripe.checkout.Session, "dispute": stripe.Dispute, "event": stripe.Event,
                   "payment_intent": stripe.PaymentIntent, "payout": stripe.Payout, "refund": stripe.Refund}
# What everypenny reads from each object (adapters.payments.stripe_events, adapters.payments.stripe_payouts):
# the simulator must send each of them.
FIELDS_WE_READ = {
    "checkout.session": {"id", "payment_status", "amount_total", "payment_intent", "metadata", "client_reference_id",
                         "customer_details", "url"},
    "payment_intent": {"id", "metadata", "last_payment_error"},
    "refund": {"id", "amount", "status", "payment_intent", "balance_transaction", "metadata", "failure_reason",
               "failure_balance_transaction"},
    "dispute": {"id", "amount", "status", "payment_intent", "balance_transactions", "metadata"},
    "balance_transaction": {"id", "type", "reporting_category", "amount", "fee", "source", "created"},
    "payout": {"id", "amount", "currency", "status", "arrival_date", "type", "balance_transaction", "metadata",
               "failure_code", "failure_message", "failure_balance_transaction"},
    "charge": {"id", "payment_intent", "balance_transaction", "metadata"},
    "event": {"id", "type", "api_version", "created", "data"},
}
JSON_TYPES = (bool, int, str, dict, list)


def json_type(value: Any) -> type | None:
    return None if value is None else next(kind for kind in JSON_TYPES if isinstance(value, kind))


def object_name(value: dict[str, Any]) -> str | None:
    return value["object"] if isinstance(value.get("object"), str) else None


def differences(ours: dict[str, Any], theirs: dict[str, Any], where: str, library: type | None = None) -> list[str]:
    """Where `ours` has a field the real object lacks, or a value of another JSON type. Nested objects with an
    `object` name are compared with that resource's fixture; other nested dicts with the fixture's own (and
    with stripe-python's nested class for the field, e.g. PaymentIntent.LastPaymentError)."""
    kind = object_name(ours)
    library = LIBRARY_CLASSES.get(kind, library)
    found = []
    for name, value in ours.items():
        if name not in theirs:
            if library is None or name not in getattr(library, "__annotations__", {}):
                found.append(f"{where}.{name} is not a field of Stripe's {kind or where.rsplit('.', 1)[-1]}")
            continue
        expected = theirs[name]
        if value is None or expected is None:
            continue  # nullable, or a value the fixture leaves out
        if json_type(value) is not json_type(expected):
            found.append(f"{where}.{name} is {json_type(value).__name__}, Stripe sends {json_type(expected).__name__}")
        elif isinstance(value, dict) and (expected or object_name(value)):
            nested = getattr(library, "".join(part.title() for part in name.split("_")), None)
            found += differences(value, FIXTURES.get(object_name(value) or "", expected), f"{where}.{name}", nested)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and object_name(item) in FIXTURES:
                    found += differences(item, FIXTURES[item["object"]], f"{where}.{name}[{index}]")
    return found


@pytest.fixture(scope="module")
def simulated() -> dict[str, list[dict[str, Any]]]:
    """One of each object the simulator makes, in every state we handle, by kind."""
    sim = StripeSimulator("whsec_fixture_check")
    params = {"mode": "payment", "success_url": "https://give.example/thanks", "expires_at": str(sim.now() + 3600),
              "line_items": [{"quantity": "1", "price_data": {"currency": "gbp", "unit_amount": "5000",
                                                              "product_data": {"name": "Donation"}}}],
              "metadata": {"reference": "EP-FIXTURE0001"},
              "payment_intent_data": {"metadata": {"reference": "EP-FIXTURE0001"}}}
    for card, refunded in (("4242424242424242", True), ("4000000000005126", True), ("4000000000000002", False),
                           ("4000000000000259", False), ("4000000000001976", False)):
        session = sim.create_session(params)
        sim.pay(session["id"], card, "donor@example.org")
        if refunded:
            sim.refund({"payment_intent": sim.sessions[session["id"]]["payment_intent"], "amount": "100",
                        "metadata": {"requested_by": "finance"}})
    for dispute in list(sim.disputes.values()):
        sim.update_dispute(dispute["id"], {"evidence": {"uncategorized_text": "winning_evidence"}})
    sim.create_payout()
    objects: dict[str, list[dict[str, Any]]] = {"event": sim.events}
    for event in sim.events:
        stripe_object = event["data"]["object"]
        objects.setdefault(stripe_object["object"], []).append(stripe_object)
    objects["balance_transaction"] = sim.balance_transactions
    objects["payout"] = sim.payouts
    return objects


@pytest.mark.parametrize("kind", sorted(FIELDS_WE_READ))
def test_every_field_the_simulator_sends_is_stripes_with_stripes_type(simulated, kind):
    assert simulated[kind], f"the simulator made no {kind}"
    problems = sorted({problem for number, ours in enumerate(simulated[kind])
                       for problem in differences(ours, FIXTURES[kind], f"{kind}[{number}]")})
    assert problems == []


@pytest.mark.parametrize("kind", sorted(FIELDS_WE_READ))
def test_the_simulator_sends_every_field_we_read(simulated, kind):
    missing = [sorted(FIELDS_WE_READ[kind] - ours.keys()) for ours in simulated[kind]]
    assert [fields for fields in missing if fields] == []


def test_the_simulator_sends_events_in_the_api_version_we_pin(simulated):
    assert {event["api_version"] for event in simulated["event"]} == {STRIPE_API_VERSION}


def test_the_check_finds_a_field_stripe_does_not_have_and_a_wrong_type():
    refund = {**FIXTURES["refund"], "amount": "100", "reference": "EP-1"}

    assert differences(refund, FIXTURES["refund"], "refund") == [
        "refund.amount is str, Stripe sends int", "refund.reference is not a field of Stripe's refund"]

