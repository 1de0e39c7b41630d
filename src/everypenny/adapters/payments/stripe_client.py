"""The one way we build a Stripe client: pointed at the configured API base, pinned to our API version."""

from __future__ import annotations

import stripe

from everypenny.config import STRIPE_API_VERSION, Settings


def stripe_client(settings: Settings) -> stripe.StripeClient:
    """Every request names STRIPE_API_VERSION, so Stripe answers in the shapes our code reads whatever the
    account's default version or the library's own pinned version is."""
    return stripe.StripeClient(
        settings.stripe_api_key, base_addresses={"api": settings.stripe_api_base},
        stripe_version=STRIPE_API_VERSION, max_network_retries=2)
