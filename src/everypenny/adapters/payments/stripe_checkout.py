"""Stripe's hosted Checkout through the `stripe` library: card details are typed on Stripe's page, never ours."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast

import stripe

from everypenny.adapters.payments.stripe_client import stripe_client
from everypenny.config import Settings
from everypenny.service_layer.online_ports import CheckoutRequest, HostedCheckout, PaymentUnavailable

if TYPE_CHECKING:  # stripe.params came after the oldest stripe-python we run on
    from stripe.params.checkout import SessionCreateParams


class StripeCheckoutGateway:
    """Talks to the API base in the settings: Stripe itself, or the local simulator."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def client(self) -> stripe.StripeClient:
        """One client for the gateway's life, so calls reuse its connections to Stripe rather than opening
        (and leaving to the garbage collector) one per donation."""
        return stripe_client(self.settings)

    def create_checkout(self, request: CheckoutRequest) -> HostedCheckout:
        """One session per donation: the idempotency key makes a retried call return the same session."""
        metadata = {"reference": request.reference, "appeal": request.appeal_slug}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{
                "quantity": 1,
                "price_data": {"currency": request.currency.lower(), "unit_amount": request.amount_pence,
                               "product_data": {"name": request.description}},
            }],
            "client_reference_id": request.reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": request.description},
            "payment_method_types": ["card"],
            "submit_type": "donate",
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
        }
        if request.email:
            params["customer_email"] = request.email
        session = self.client.v1.checkout.sessions.create(
            params=cast("SessionCreateParams", params),
            options={"idempotency_key": f"everypenny-checkout-{request.reference}"})
        return HostedCheckout(session_id=session.id, url=session.url or "")

    def refund(self, payment_intent: str, amount_pence: int, idempotency_key: str) -> str:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment_intent, "amount": amount_pence, "reason": "requested_by_customer"},
                options={"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise PaymentUnavailable(error.user_message or str(error)) from error
        return refund.id
