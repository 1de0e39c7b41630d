"""POST /webhooks/stripe: signatures made with Stripe's documented scheme, and what a bad one gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from everypenny.adapters.db.schema import inbox_messages, outbox_tasks
from everypenny.config import STRIPE_API_VERSION
from everypenny.domain.donation import DonationStatus

SLUG = "sun-ukraine-fund"


def signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Stripe's scheme (docs.stripe.com/webhooks#verify-manually): v1 = HMAC-SHA256(secret, "t.payload")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_event(client, platform, event: dict, secret: str | None = None, timestamp: int | None = None,
               header: str | None = None):
    payload = json.dumps(event).encode()
    sig = header if header is not None else signature(
        payload, secret or platform.settings.stripe_webhook_secret, timestamp)
    return client.post("/webhooks/stripe", content=payload,
                       headers={"Stripe-Signature": sig, "Content-Type": "application/json"})


def stored_counts(platform) -> tuple[int, int]:
    with platform.engine.connect() as connection:
        return (connection.scalar(select(func.count()).select_from(inbox_messages)),
                connection.scalar(select(func.count()).select_from(outbox_tasks)))


@pytest.fixture
def donation_reference(client, seed_appeal, fake_gateway) -> str:
    response = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500})
    assert response.status_code == 201
    return response.json()["id"]


def completed(stripe_event, reference, event_id=None):
    return stripe_event("checkout.session.completed", {
        "id": f"cs_test_{reference}", "object": "checkout.session", "payment_status": "paid", "status": "complete",
        "amount_total": 500, "payment_intent": f"pi_{reference}", "metadata": {"reference": reference}}, event_id)


def test_a_correctly_signed_event_is_stored_queued_and_applied(client, platform, donation_reference, stripe_event):
    response = post_event(client, platform, completed(stripe_event, donation_reference))

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert stored_counts(platform) == (1, 1)
    platform.worker().drain()
    assert client.get(f"/api/v1/appeals/{SLUG}/totals").json()["raised_pence"] == 500


def test_a_replayed_event_is_acknowledged_but_stored_and_counted_once(client, platform, donation_reference,
                                                                     stripe_event):
    event = completed(stripe_event, donation_reference, event_id="evt_replayed")

    first = post_event(client, platform, event)
    platform.worker().drain()
    replay = post_event(client, platform, event)
    platform.worker().drain()

    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json()["duplicate"] is True
    assert stored_counts(platform)[0] == 1
    assert client.get(f"/api/v1/appeals/{SLUG}/totals").json()["raised_pence"] == 500


def test_a_forged_signature_is_refused_and_nothing_is_stored(client, platform, donation_reference, stripe_event):
    response = post_event(client, platform, completed(stripe_event, donation_reference), secret="whsec_attacker")

    assert response.status_code == 400
    assert "signature" in response.json()["detail"]
    assert stored_counts(platform) == (0, 0)


def test_a_signed_payload_that_was_altered_is_refused(client, platform, donation_reference, stripe_event):
    event = completed(stripe_event, donation_reference)
    header = signature(json.dumps(event).encode(), platform.settings.stripe_webhook_secret)
    event["data"]["object"]["amount_total"] = 5

    assert post_event(client, platform, event, header=header).status_code == 400
    assert stored_counts(platform) == (0, 0)


def test_a_stale_signature_outside_the_tolerance_is_refused(client, platform, donation_reference, stripe_event):
    too_old = int(time.time()) - platform.settings.stripe_webhook_tolerance_s - 60

    response = post_event(client, platform, completed(stripe_event, donation_reference), timestamp=too_old)

    assert response.status_code == 400
    assert "tolerance" in response.json()["detail"]
    assert stored_counts(platform) == (0, 0)


@pytest.mark.parametrize("api_version", ["2024-06-20", None])
def test_an_event_of_another_api_version_is_refused_naming_both_and_nothing_is_stored(
        client, platform, donation_reference, stripe_event, api_version):
    event = {**completed(stripe_event, donation_reference), "api_version": api_version}

    response = post_event(client, platform, event)

    assert response.status_code == 400
    assert f"is in Stripe API version {api_version}, but this endpoint reads version {STRIPE_API_VERSION}" \
        in response.json()["detail"]
    assert stored_counts(platform) == (0, 0)


@pytest.mark.parametrize("header", ["", "t=abc,v1=zzz", "v1=deadbeef"])
def test_a_missing_or_malformed_signature_header_is_refused(client, platform, donation_reference, stripe_event,
                                                            header):
    assert post_event(client, platform, completed(stripe_event, donation_reference), header=header).status_code == 400
    assert stored_counts(platform) == (0, 0)


def test_events_delivered_in_reverse_order_end_in_the_same_books(client, platform, donation_reference, stripe_event):
    refund = stripe_event("refund.created", {"id": f"re_{donation_reference}", "object": "refund", "amount": 200,
                                             "status": "succeeded", "payment_intent": f"pi_{donation_reference}"})
    paid = completed(stripe_event, donation_reference)

    assert post_event(client, platform, refund).status_code == 200
    platform.worker().run_once()  # the refund cannot apply yet: it waits, with backoff
    assert post_event(client, platform, paid).status_code == 200
    platform.worker().run_once()  # the payment applies
    with platform.uow() as uow:
        assert uow.outbox.depth() == 2  # the refund, due again later, and the receipt
        assert uow.donations.get(donation_reference).status is DonationStatus.PAID
    _make_retries_due(platform)
    platform.worker().drain()

    totals = client.get(f"/api/v1/appeals/{SLUG}/totals").json()
    assert (totals["raised_pence"], totals["pending_pence"]) == (300, 0)


def _make_retries_due(platform) -> None:
    """Stands in for waiting out the outbox's backoff."""
    from datetime import UTC, datetime

    with platform.engine.begin() as connection:
        connection.execute(outbox_tasks.update().where(outbox_tasks.c.done_at.is_(None))
                           .values(available_at=datetime.now(UTC)))


@pytest.mark.parametrize("data", [{}, {"object": None}, {"object": "cs_1"}, [], "x"])
def test_an_event_without_its_object_is_refused_and_nothing_is_stored(client, platform, data):
    event = {"id": "evt_no_object", "object": "event", "type": "checkout.session.completed", "data": data}

    response = post_event(client, platform, event)

    assert response.status_code == 400
    assert response.json() == {"detail": "the body is not a Stripe event: data.object is missing"}
    assert stored_counts(platform) == (0, 0)
