"""Stripe's events as the adapter reads them: Stripe's own published objects (tests/data/stripe_openapi_fixtures3.json,
from stripe/openapi) become the typed values the use cases act on, and an event no use case acts on reads as no
change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from everypenny.adapters.payments.stripe_events import read_event
from everypenny.service_layer.online_ports import (
    CheckoutSession,
    DisputeChanged,
    DisputeMove,
    DisputeTransaction,
    PaymentFailed,
    RefundChanged,
    SessionCompleted,
    SessionExpired,
    SessionPaymentFailed,
)

FIXTURES = json.loads((Path(__file__).parents[1] / "data" / "stripe_openapi_fixtures3.json").read_text())["resources"]


def event_about(type_: str, stripe_object: dict[str, Any]) -> dict[str, Any]:
    return {**FIXTURES["event"], "type": type_, "data": {"object": stripe_object}}


def test_the_events_envelope_gives_its_id_type_and_when_it_happened():
    event = read_event(event_about("refund.created", FIXTURES["refund"]))

    assert (event.event_id, event.type, event.created) == (
        FIXTURES["event"]["id"], "refund.created", datetime.fromtimestamp(FIXTURES["event"]["created"], UTC))


def test_a_checkout_session_reads_as_the_session_its_events_change():
    session = FIXTURES["checkout.session"]
    read = CheckoutSession(session["id"], session["url"], None, False, session["payment_intent"], None,
                           "example@example.com")

    assert read_event(event_about("checkout.session.completed", session)).change == SessionCompleted(read)
    assert read_event(event_about("checkout.session.async_payment_succeeded", session)).change == \
        SessionCompleted(read)
    assert read_event(event_about("checkout.session.async_payment_failed", session)).change == \
        SessionPaymentFailed(read)
    assert read_event(event_about("checkout.session.expired", session)).change == SessionExpired(read)


def test_our_reference_is_the_metadata_we_set_or_else_the_client_reference():
    session = {**FIXTURES["checkout.session"], "payment_status": "paid", "amount_total": 500,
               "client_reference_id": "EP-CLIENT0001"}

    by_client_reference = read_event(event_about("checkout.session.completed", session)).change.session
    by_metadata = read_event(event_about("checkout.session.completed", {
        **session, "metadata": {"reference": "EP-METADATA01"}})).change.session

    assert (by_client_reference.reference, by_client_reference.paid, by_client_reference.amount_pence) == (
        "EP-CLIENT0001", True, 500)
    assert by_metadata.reference == "EP-METADATA01"


def test_a_failed_card_payment_refund_and_dispute_read_as_what_changed():
    intent, refund, dispute = FIXTURES["payment_intent"], FIXTURES["refund"], FIXTURES["dispute"]

    assert read_event(event_about("payment_intent.payment_failed", intent)).change == PaymentFailed(
        intent["id"], None, None)
    assert read_event(event_about("charge.refund.updated", refund)).change == RefundChanged(
        refund["id"], refund["payment_intent"], 100, "succeeded")
    assert read_event(event_about("charge.dispute.created", dispute)).change == DisputeChanged(
        dispute["id"], dispute["payment_intent"], 1000, "warning_needs_response", ())


def test_a_disputes_balance_transactions_say_which_way_its_money_moved():
    dispute = {**FIXTURES["dispute"], "balance_transactions": [
        {**FIXTURES["balance_transaction"], "id": "txn_1", "reporting_category": "dispute"},
        {**FIXTURES["balance_transaction"], "id": "txn_2", "reporting_category": "dispute_reversal"},
        {**FIXTURES["balance_transaction"], "id": "txn_3", "reporting_category": "charge"}]}

    assert read_event(event_about("charge.dispute.funds_reinstated", dispute)).change.transactions == (
        DisputeTransaction("txn_1", DisputeMove.WITHDRAWAL), DisputeTransaction("txn_2", DisputeMove.REINSTATEMENT),
        DisputeTransaction("txn_3", None))


def test_an_event_no_use_case_acts_on_reads_as_no_change():
    assert read_event(FIXTURES["event"]).change is None
