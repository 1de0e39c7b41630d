"""Online donations paid on the Stripe simulator (on a real socket, as the `stripe` library needs), with its
events posted, signed, to the app's webhook and applied by the outbox worker."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from everypenny.service_layer.links import prefilled_donation_url
from everypenny.service_layer.online_donations import (
    DonationForm,
    OnlineContext,
    RateLimits,
    request_refund,
    start_online_donation,
)
from everypenny.simulators.stripe import StripeSimulator, sign

SLUG = "sun-ukraine-fund"
SUCCESS_CARD = "4242424242424242"


class CardDonations:
    def __init__(self, platform, sim: StripeSimulator, client) -> None:
        self.platform = platform
        self.sim = sim
        self.client = client
        self.applied = 0
        self.context = OnlineContext(public_url="https://give.example", secret_key=platform.settings.secret_key,
                                     limits=RateLimits(per_ip=1000, per_email=1000, window=timedelta(minutes=10)))

    def start(self, pence: int, email: str = "reader@example.org", gift_aid=None, phone: str | None = None) -> str:
        """A donor fills in the form and reaches the hosted page; returns the donation's reference. With a
        phone, the donor came by text-to-link: the texted link carries their phone, signed."""
        link = prefilled_donation_url("https://give.example", self.context.secret_key, SLUG, pence, phone)
        prefill = parse_qs(urlparse(link).query)["from"][0] if phone else None
        started = start_online_donation(self.platform.uow, self.platform.payment_gateway(), self.context, SLUG,
                                        DonationForm(pence, email, gift_aid=gift_aid, prefill_token=prefill),
                                        "203.0.113.7")
        return started.reference

    def session_of(self, reference: str) -> str:
        with self.platform.uow() as uow:
            return uow.checkouts.by_reference(reference).session_id

    def donate(self, pence: int, email: str = "reader@example.org", gift_aid=None, phone: str | None = None) -> str:
        """A donor pays on the hosted page; returns the donation's reference."""
        reference = self.start(pence, email, gift_aid, phone)
        assert self.sim.pay(self.session_of(reference), SUCCESS_CARD, email).succeeds
        self.deliver()
        return reference

    def refund(self, reference: str, pence: int | None = None) -> None:
        request_refund(self.platform.uow, self.platform.payment_gateway(), reference, pence)
        self.deliver()

    def deliver(self, newest_first: bool = False) -> list:
        """Posts the events Stripe has emitted since the last delivery to the webhook, in order (or newest
        first), then lets the outbox apply them; returns the webhook's responses."""
        events = self.sim.events[self.applied:]
        self.applied = len(self.sim.events)
        responses = []
        for event in reversed(events) if newest_first else events:
            payload = json.dumps(event).encode()
            responses.append(self.client.post("/webhooks/stripe", content=payload, headers={
                "Stripe-Signature": sign(payload, self.sim.webhook_secret, int(time.time())),
                "Content-Type": "application/json"}))
        for _ in range(len(events) + 1):  # an event waiting for an earlier one is retried once that one applied
            self.platform.worker().drain()
            make_retries_due(self.platform)
        return responses


def balances(platform, slug: str = SLUG) -> dict[str, int]:
    """The appeal's posted balances by account, debits positive."""
    with platform.uow() as uow:
        return {code: posted for code, (posted, _pending) in uow.ledger.balances(slug).items()}


def make_retries_due(platform) -> None:
    """Stands in for waiting out the outbox's backoff."""
    from datetime import UTC, datetime

    from everypenny.adapters.db.schema import outbox_tasks

    with platform.engine.begin() as connection:
        connection.execute(outbox_tasks.update().where(outbox_tasks.c.done_at.is_(None))
                           .values(available_at=datetime.now(UTC)))
