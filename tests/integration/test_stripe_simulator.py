"""The Stripe simulator on real sockets: the `stripe` library calls it, its page takes test cards, it signs webhooks."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stripe
from fastapi import FastAPI, Request
from fastapi.responses import Response

from everypenny.adapters.payments.stripe_checkout import StripeCheckoutGateway
from everypenny.config import Settings
from everypenny.service_layer.online_ports import CheckoutRequest
from everypenny.simulators.server import BackgroundServer
from everypenny.simulators.stripe import SimulatorServer, StripeSimulator, WebhookOptions
from tests.eventually import eventually

SECRET = "whsec_test_simulator"
API_KEY = "sk_test_simulator"


class WebhookReceiver:
    """An endpoint that verifies each delivery with the stripe library and answers with scripted statuses."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.statuses: list[int] = []  # answered in turn; 200 once exhausted
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            event = stripe.Webhook.construct_event(await request.body(), request.headers["stripe-signature"], SECRET)
            with self.lock:
                status = self.statuses.pop(0) if self.statuses else 200
                self.events.append({"id": event.id, "type": event.type, "object": event.data.object, "status": status})
            return Response(status_code=status)

    def accepted(self) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e["status"] == 200]

    def wait_for(self, count: int, timeout_s: float = 10) -> list[dict]:
        eventually(lambda: len(self.accepted()) >= count, timeout_s, 0.02,
                   lambda: f"expected {count} accepted deliveries, got {self.events}")
        return self.accepted()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    with BackgroundServer(receiver.app) as url:
        receiver.url = f"{url}/hook"
        yield receiver


@pytest.fixture
def sim(receiver):
    simulator = StripeSimulator(SECRET, API_KEY, WebhookOptions(url=receiver.url, retry_base_s=0.05))
    with SimulatorServer(simulator):
        yield simulator


@pytest.fixture
def gateway(sim) -> StripeCheckoutGateway:
    return StripeCheckoutGateway(Settings(stripe_api_base=sim.public_url, stripe_api_key=API_KEY))


# Fixed once, so a repeated request is the same request (Stripe allows 30 minutes to 24 hours ahead).
EXPIRES_AT = datetime.now(UTC) + timedelta(hours=23)


def checkout_request(reference="EP-TEST000001", amount_pence=500, email=None) -> CheckoutRequest:
    return CheckoutRequest(reference=reference, appeal_slug="sun-ukraine-fund", description="Donation to a fund",
                           amount_pence=amount_pence, currency="GBP", email=email,
                           success_url="https://give.example/thanks", cancel_url="https://give.example/cancelled",
                           expires_at=EXPIRES_AT)


def pay(url: str, card: str, email: str = "donor@example.org", exp: str = "12 / 34", cvc: str = "123"):
    return httpx.post(url, data={"email": email, "cardnumber": card, "exp": exp, "cvc": cvc}, follow_redirects=False)


def test_the_stripe_library_creates_a_session_and_a_retried_call_returns_the_same_one(sim, gateway):
    first = gateway.create_checkout(checkout_request())
    again = gateway.create_checkout(checkout_request())

    assert first == again
    assert first.session_id.startswith("cs_test_")
    session = gateway.client.v1.checkout.sessions.retrieve(first.session_id)
    assert (session.amount_total, session.currency, session.status, session.payment_status) == (
        500, "gbp", "open", "unpaid")
    assert session.metadata["reference"] == "EP-TEST000001"


def test_an_idempotency_key_reused_with_other_parameters_is_an_error(sim, gateway):
    gateway.create_checkout(checkout_request(amount_pence=500))

    with pytest.raises(stripe.IdempotencyError):
        gateway.create_checkout(checkout_request(amount_pence=900))


def test_a_wrong_api_key_is_refused(sim):
    wrong = StripeCheckoutGateway(Settings(stripe_api_base=sim.public_url, stripe_api_key="sk_test_wrong"))

    with pytest.raises(stripe.AuthenticationError):
        wrong.create_checkout(checkout_request())


def test_a_success_card_completes_the_session_and_sends_signed_events(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request(email="donor@example.org"))
    assert "4242 4242 4242 4242" in httpx.get(checkout.url).text

    response = pay(checkout.url, "4242 4242 4242 4242")

    assert response.status_code == 303
    assert response.headers["location"] == "https://give.example/thanks"
    events = receiver.wait_for(3)
    assert [e["type"] for e in events] == ["charge.succeeded", "payment_intent.succeeded",
                                           "checkout.session.completed"]
    completed = events[-1]["object"]
    assert (completed["id"], completed["payment_status"], completed["amount_total"]) == (
        checkout.session_id, "paid", 500)
    assert completed["payment_intent"].startswith("pi_")


@pytest.mark.parametrize(("card", "decline_code", "message"), [
    ("4000000000000002", "generic_decline", "Your card was declined."),
    ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
    ("4000000000000069", "expired_card", "Your card has expired."),
    ("4000000000000127", "incorrect_cvc", "Your card's security code is incorrect."),
])
def test_declining_test_cards_fail_with_stripes_documented_outcome(sim, gateway, receiver, card, decline_code,
                                                                   message):
    checkout = gateway.create_checkout(checkout_request())

    response = pay(checkout.url, card)

    assert response.status_code == 402
    assert message in response.text.replace("&#39;", "'")
    failed = receiver.wait_for(2)[-1]
    assert failed["type"] == "payment_intent.payment_failed"
    assert failed["object"]["last_payment_error"]["decline_code"] == decline_code
    assert failed["object"]["metadata"]["reference"] == "EP-TEST000001"
    assert gateway.client.v1.checkout.sessions.retrieve(checkout.session_id).status == "open"


@pytest.mark.parametrize(("card", "exp", "message"), [
    ("4242424242424241", "12/34", "Your card number is invalid."),
    ("4242424242424242", "01/20", "Your card's expiration year is in the past."),
    ("4242424242424242", "13/34", "Your card's expiration date is invalid."),
])
def test_the_page_checks_the_card_before_trying_it(sim, gateway, receiver, card, exp, message):
    checkout = gateway.create_checkout(checkout_request())

    response = pay(checkout.url, card, exp=exp)

    assert message in response.text.replace("&#39;", "'")
    assert sim.events == []


def test_a_real_card_number_is_declined_in_test_mode(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())

    assert "non test (live) card" in pay(checkout.url, "4000056655665564").text  # Luhn-valid, not a test card


def test_a_failed_delivery_is_retried_until_the_endpoint_accepts_it(sim, gateway, receiver):
    receiver.statuses = [500, 503]
    checkout = gateway.create_checkout(checkout_request())
    gateway.client.v1.checkout.sessions.expire(checkout.session_id)

    [expired] = receiver.wait_for(1)
    # The simulator logs a delivery once it has read the response.
    eventually(lambda: len(sim.deliveries) >= 3, every_s=0.01, failure=lambda: f"deliveries: {sim.deliveries}")

    assert expired["type"] == "checkout.session.expired"
    assert [d["attempt"] for d in sim.deliveries if d["event"] == expired["id"]] == [1, 2, 3]
    assert [d["status"] for d in sim.deliveries] == [500, 503, 200]


def test_on_request_every_event_is_delivered_twice(sim, gateway, receiver):
    sim.webhook.duplicate = True
    checkout = gateway.create_checkout(checkout_request())
    gateway.client.v1.checkout.sessions.expire(checkout.session_id)

    first, second = receiver.wait_for(2)

    assert first["id"] == second["id"]


def test_on_request_events_are_delivered_newest_first(sim, gateway, receiver):
    httpx.post(f"{sim.public_url}/_simulator/webhooks", json={"reorder": True, "reorder_window_s": 0.2})
    checkout = gateway.create_checkout(checkout_request())

    pay(checkout.url, "4242424242424242")

    assert [e["type"] for e in receiver.wait_for(3)] == ["checkout.session.completed", "payment_intent.succeeded",
                                                         "charge.succeeded"]


def test_refunds_through_the_api_send_cumulative_charge_refunded_events(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())
    pay(checkout.url, "4242424242424242")
    payment_intent = gateway.client.v1.checkout.sessions.retrieve(checkout.session_id).payment_intent
    client = gateway.client

    client.v1.refunds.create(params={"payment_intent": payment_intent, "amount": 200})
    client.v1.refunds.create(params={"payment_intent": payment_intent})
    with pytest.raises(stripe.InvalidRequestError, match="already been refunded"):
        client.v1.refunds.create(params={"payment_intent": payment_intent, "amount": 1})

    refunded = [e["object"] for e in receiver.wait_for(7) if e["type"] == "charge.refunded"]
    assert [c["amount_refunded"] for c in refunded] == [200, 500]
    assert refunded[-1]["refunded"] is True


def test_the_dispute_test_card_opens_a_dispute_that_evidence_decides(sim, gateway, receiver):
    client = gateway.client
    lost, won = (gateway.create_checkout(checkout_request(reference=r)) for r in ("EP-LOST00000A", "EP-WON000000A"))
    for checkout in (lost, won):
        pay(checkout.url, "4000000000000259")
    disputes = {d["payment_intent"]: d["id"] for d in sim.disputes.values()}
    for checkout, evidence in ((lost, "losing_evidence"), (won, "winning_evidence")):
        intent = client.v1.checkout.sessions.retrieve(checkout.session_id).payment_intent
        client.v1.disputes.update(disputes[intent], params={"evidence": {"uncategorized_text": evidence}})

    events = [e for e in receiver.wait_for(13) if e["type"].startswith("charge.dispute.")]
    by_outcome = {e["object"]["status"]: e["object"] for e in events if e["type"] == "charge.dispute.closed"}
    assert [e["type"] for e in events if e["object"]["id"] == by_outcome["won"]["id"]] == [
        "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
        "charge.dispute.closed"]
    assert [e["type"] for e in events if e["object"]["id"] == by_outcome["lost"]["id"]] == [
        "charge.dispute.created", "charge.dispute.funds_withdrawn", "charge.dispute.closed"]
    assert [(t["reporting_category"], t["amount"]) for t in by_outcome["won"]["balance_transactions"]] == [
        ("dispute", -500), ("dispute_reversal", 500)]
    assert [t["reporting_category"] for t in by_outcome["lost"]["balance_transactions"]] == ["dispute"]


def test_the_inquiry_test_card_opens_an_inquiry_that_moves_no_money(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())
    pay(checkout.url, "4000000000001976")
    [dispute] = sim.disputes.values()

    gateway.client.v1.disputes.update(dispute["id"], params={"evidence": {"uncategorized_text": "winning_evidence"}})

    events = [e for e in receiver.wait_for(5) if e["type"].startswith("charge.dispute.")]
    assert [(e["type"], e["object"]["status"]) for e in events] == [
        ("charge.dispute.created", "warning_needs_response"), ("charge.dispute.closed", "warning_closed")]
    assert events[-1]["object"]["balance_transactions"] == []


def test_a_refund_of_the_refund_failure_test_card_fails_and_its_money_comes_back(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())
    pay(checkout.url, "4000000000005126")
    intent = gateway.client.v1.checkout.sessions.retrieve(checkout.session_id).payment_intent

    refund_id = gateway.refund(intent, 200, "refund-key-1")

    refund_events = [e for e in receiver.wait_for(7) if e["object"]["id"] == refund_id]
    assert [(e["type"], e["object"]["status"]) for e in refund_events] == [
        ("refund.created", "succeeded"), ("charge.refund.updated", "failed"), ("refund.failed", "failed")]
    failed = refund_events[-1]["object"]
    assert failed["failure_reason"] == "expired_or_canceled_card"
    returned = next(t for t in sim.balance_transactions if t["id"] == failed["failure_balance_transaction"])
    assert (returned["type"], returned["amount"]) == ("refund_failure", 200)
    assert sim.charges[sim.payment_intents[intent]["latest_charge"]]["amount_refunded"] == 0


def test_every_api_request_names_the_pinned_api_version(sim, gateway):
    from everypenny.adapters.payments.stripe_payouts import StripePayouts
    from everypenny.config import STRIPE_API_VERSION

    checkout = gateway.create_checkout(checkout_request())
    pay(checkout.url, "4242424242424242")
    gateway.refund(sim.sessions[checkout.session_id]["payment_intent"], 100, "refund-key-1")
    sim.create_payout()
    StripePayouts(gateway.settings).paid_since(None)

    assert len(sim.requested_versions) >= 4
    assert set(sim.requested_versions) == {STRIPE_API_VERSION}


def test_events_are_sent_in_the_api_version_the_endpoint_was_created_with(sim, gateway, receiver):
    sim.webhook.api_version = "2024-06-20"
    pay(gateway.create_checkout(checkout_request()).url, "4242424242424242")

    assert {e["id"] for e in receiver.wait_for(3)} <= {e["id"] for e in sim.events}
    assert {e["api_version"] for e in sim.events} == {"2024-06-20"}


def test_the_cli_helper_points_the_settings_at_the_simulator_it_starts(monkeypatch):
    from everypenny.config import get_settings
    from everypenny.entrypoints.cli.simulators import stripe_simulator

    monkeypatch.setenv("EVERYPENNY_STRIPE_API_BASE", "http://127.0.0.1:1")
    monkeypatch.setenv("EVERYPENNY_STRIPE_API_KEY", API_KEY)
    with stripe_simulator("127.0.0.1", 0, WebhookOptions()) as simulator:
        checkout = StripeCheckoutGateway(get_settings()).create_checkout(checkout_request())
        assert get_settings().stripe_api_base == simulator.public_url

    assert checkout.url.startswith(f"{simulator.public_url}/c/pay/")


def test_the_gateway_refunds_through_the_api_once_per_idempotency_key(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())
    pay(checkout.url, "4242424242424242")
    intent = gateway.client.v1.checkout.sessions.retrieve(checkout.session_id).payment_intent

    first = gateway.refund(intent, 150, "refund-key-1")
    again = gateway.refund(intent, 150, "refund-key-1")

    assert first == again
    [refunded] = [e["object"] for e in receiver.wait_for(4) if e["type"] == "charge.refunded"]
    assert refunded["amount_refunded"] == 150


def test_an_unpaid_session_expires_on_its_own_at_its_expiry_time(sim, gateway, receiver):
    checkout = gateway.create_checkout(checkout_request())

    httpx.post(f"{sim.public_url}/_simulator/clock", json={"advance_s": 24 * 3600})

    [expired] = receiver.wait_for(1)
    assert (expired["type"], expired["object"]["id"]) == ("checkout.session.expired", checkout.session_id)
    assert "expired" in httpx.get(checkout.url).text


def test_an_expiry_outside_stripes_limits_is_refused(sim, gateway):
    too_soon = replace(checkout_request(), expires_at=datetime.now(UTC) + timedelta(minutes=5))

    with pytest.raises(stripe.InvalidRequestError, match="between 30 minutes and 24 hours"):
        gateway.create_checkout(too_soon)
