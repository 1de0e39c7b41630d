"""Fixtures for text giving end to end (see sms_harness.py)."""

from __future__ import annotations

import pytest
from sms_harness import TextGiving, connect


@pytest.fixture
def texts(platform, client, seed_appeal) -> TextGiving:
    return TextGiving(platform, client, connect(platform, client))


@pytest.fixture
def cards(platform, client, seed_appeal):
    """Card donations on the Stripe simulator, served on a socket the app's `stripe` client talks to; its events
    reach the app through the webhook."""
    from card_harness import CardDonations

    from everypenny.simulators.stripe import SimulatorServer, StripeSimulator

    settings = platform.settings
    sim = StripeSimulator(settings.stripe_webhook_secret, settings.stripe_api_key)
    with SimulatorServer(sim) as url:
        settings.stripe_api_base = url
        platform.payments = None  # the gateway is built for the simulator's address
        yield CardDonations(platform, sim, client)
