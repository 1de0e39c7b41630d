"""Stripe's payouts and the balance transactions each pays, through the `stripe` library."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import stripe

from everypenny.adapters.payments.stripe_client import stripe_client
from everypenny.config import Settings
from everypenny.domain.settlement import CardPayout, CardTransaction
from everypenny.service_layer.online_ports import PaymentUnavailable

if TYPE_CHECKING:  # stripe.params came after the oldest stripe-python we run on
    from stripe.params import PayoutListParams


class StripePayouts:
    """Reads from the API base in the settings: Stripe itself, or the local simulator."""

    def __init__(self, settings: Settings) -> None:
        self.client = stripe_client(settings)

    def paid_since(self, since: datetime | None) -> list[CardPayout]:
        """Paid payouts created at or after `since`, oldest first, each with the transactions it paid."""
        params: PayoutListParams = {"limit": 100}
        if since is not None:
            params["created"] = {"gte": int(since.timestamp())}
        try:
            payouts = [p for p in self.client.v1.payouts.list(params=params).auto_paging_iter()
                       if p.status == "paid"]
            return [self._payout(payout) for payout in reversed(payouts)]
        except stripe.StripeError as error:
            raise PaymentUnavailable(error.user_message or str(error)) from error

    def _payout(self, payout) -> CardPayout:
        listing = self.client.v1.balance_transactions.list(
            params={"payout": payout.id, "limit": 100, "expand": ["data.source"]})
        transactions = [
            CardTransaction(t.id, t.type, t.reporting_category, t.amount, t.fee, _payment_intent(t.source),
                            datetime.fromtimestamp(t.created, UTC))
            for t in listing.auto_paging_iter() if t.type != "payout"]
        return CardPayout(payout.id, payout.amount, payout.currency.upper(),
                          datetime.fromtimestamp(payout.arrival_date, UTC), tuple(reversed(transactions)))


def _payment_intent(source) -> str | None:
    """The PaymentIntent behind a charge, refund or dispute (sources come expanded)."""
    return None if isinstance(source, str) else getattr(source, "payment_intent", None)
