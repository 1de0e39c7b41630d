"""Stripe's webhook events: the signature checked by Stripe's scheme (through the `stripe` library), the body
checked to be an event in our pinned API version, and each event we act on read into the ports' typed values.

References: docs.stripe.com/webhooks#verify-events (the Stripe-Signature header), docs.stripe.com/api/events/object
(an event's id, type, created and data.object), and the objects our events carry, in STRIPE_API_VERSION's shapes:
docs.stripe.com/api/checkout/sessions/object, /api/payment_intents/object, /api/refunds/object,
/api/disputes/object (its balance_transactions, whose reporting_category says which way money moved:
docs.stripe.com/reports/reporting-categories).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import stripe
import structlog

from everypenny.config import STRIPE_API_VERSION, Settings
from everypenny.service_layer.online_ports import (
    CheckoutSession,
    DisputeChanged,
    DisputeMove,
    DisputeTransaction,
    EventRefused,
    PaymentChange,
    PaymentEvent,
    PaymentFailed,
    ReceivedEvent,
    RefundChanged,
    SessionCompleted,
    SessionExpired,
    SessionPaymentFailed,
)

log = structlog.get_logger(__name__)

# Stripe's event ids are "evt_" and a few dozen letters and digits (docs.stripe.com/api/events/object); the
# inbox keeps up to 255 characters of one.
_EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,200}$")
# The balance transactions a dispute lists: money withdrawn from Stripe's balance, and money reinstated.
_DISPUTE_MOVES = {"dispute": DisputeMove.WITHDRAWAL, "dispute_reversal": DisputeMove.REINSTATEMENT}


class StripeEvents:
    """Checks webhooks with the settings' signing secret and tolerance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def verify(self, body: bytes, signature: str) -> ReceivedEvent:
        """The event a webhook delivered, once its signature, its shape and its API version check out."""
        try:
            if not signature.isascii():  # Stripe's check compares strings, which fails on non-ASCII ones
                raise stripe.SignatureVerificationError("the signature header is not ASCII", signature, body)
            stripe.WebhookSignature.verify_header(body.decode("utf-8"), signature,
                                                  self.settings.stripe_webhook_secret,
                                                  tolerance=self.settings.stripe_webhook_tolerance_s)
        except stripe.SignatureVerificationError as error:
            log.warning("refused a Stripe webhook", reason=str(error))
            raise EventRefused(f"signature check failed: {error}") from None
        except UnicodeDecodeError:
            raise EventRefused("the body is not UTF-8") from None
        try:
            event = json.loads(body)
        except ValueError:
            raise EventRefused("the body is not a JSON event") from None
        problem = event_problem(event)
        if problem:
            raise EventRefused(f"the body is not a Stripe event: {problem}")
        if event.get("api_version") != STRIPE_API_VERSION:
            # Another version's objects have other shapes: reading them as ours could book money wrongly.
            log.warning("refused a Stripe event of another API version", event_id=event["id"],
                        api_version=event.get("api_version"))
            raise EventRefused(
                f"event {event['id']} is in Stripe API version {event.get('api_version')}, but this endpoint "
                f"reads version {STRIPE_API_VERSION}: create the webhook endpoint with api_version "
                f"{STRIPE_API_VERSION} (see docs/going-live-stripe.md)")
        return ReceivedEvent(event["id"], event["type"], event)

    def read(self, body: dict[str, Any]) -> PaymentEvent:
        return read_event(body)


def event_problem(event: Any) -> str | None:
    """What stops a signed body being an event we can store and apply, or None: checked before storing it.
    Every Stripe event carries the object it is about (data.object); one without it could never be applied."""
    if not isinstance(event, dict):
        return "not a JSON object"
    if not isinstance(event.get("id"), str) or not _EVENT_ID.match(event["id"]):
        return "id is not a Stripe event id (evt_...)"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "type is missing"
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        return "data.object is missing"
    return None


def read_event(event: dict[str, Any]) -> PaymentEvent:
    """A stored event as the use cases read it; an event of a type no use case acts on has no change."""
    reader = _READERS.get(event["type"])
    return PaymentEvent(event["id"], event["type"], datetime.fromtimestamp(int(event.get("created") or 0), UTC),
                        reader(event["data"]["object"]) if reader else None)


def _reference_of(stripe_object: dict[str, Any]) -> str | None:
    """Our donation's reference: the metadata we set on the session and its payment, or the client reference."""
    return (stripe_object.get("metadata") or {}).get("reference") or stripe_object.get("client_reference_id")


def _session(session: dict[str, Any]) -> CheckoutSession:
    return CheckoutSession(
        session_id=session["id"], url=session.get("url") or "", reference=_reference_of(session),
        paid=session.get("payment_status") == "paid", payment_intent=session.get("payment_intent"),
        amount_pence=session.get("amount_total"), email=(session.get("customer_details") or {}).get("email"))


def _payment_failed(payment_intent: dict[str, Any]) -> PaymentFailed:
    return PaymentFailed(payment_intent.get("id"), _reference_of(payment_intent),
                         (payment_intent.get("last_payment_error") or {}).get("message"))


def _refund(refund: dict[str, Any]) -> RefundChanged:
    return RefundChanged(refund["id"], refund.get("payment_intent"), int(refund["amount"]), refund.get("status"))


def _dispute(dispute: dict[str, Any]) -> DisputeChanged:
    return DisputeChanged(
        dispute["id"], dispute.get("payment_intent"), int(dispute["amount"]), dispute.get("status"),
        tuple(DisputeTransaction(transaction["id"], _DISPUTE_MOVES.get(transaction.get("reporting_category")))
              for transaction in dispute.get("balance_transactions") or []))


_READERS: dict[str, Callable[[dict[str, Any]], PaymentChange]] = {
    "checkout.session.completed": lambda session: SessionCompleted(_session(session)),
    "checkout.session.async_payment_succeeded": lambda session: SessionCompleted(_session(session)),
    "checkout.session.async_payment_failed": lambda session: SessionPaymentFailed(_session(session)),
    "checkout.session.expired": lambda session: SessionExpired(_session(session)),
    "payment_intent.payment_failed": _payment_failed,
    "refund.created": _refund,
    "refund.updated": _refund,
    "refund.failed": _refund,
    "charge.refund.updated": _refund,
    **{f"charge.dispute.{change}": _dispute
       for change in ("created", "updated", "funds_withdrawn", "funds_reinstated", "closed")},
}
STRIPE_EVENTS = tuple(_READERS)  # what the webhook endpoint subscribes to
