"""What text giving needs from storage and from the SMS aggregator. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from everypenny.domain.text_giving import MessageStatus, OutboundText, SmsCharge


class TextGivingStore(Protocol):
    """Reads and writes take many rows at once: a worker handles a batch of texts in a few statements."""

    def add_charges(self, charges: Sequence[SmsCharge]) -> None: ...
    def charges(self, request_ids: Sequence[str]) -> dict[str, SmsCharge]: ...
    def save_charges(self, charges: Sequence[SmsCharge]) -> None: ...
    def charges_for(self, donation_reference: str) -> list[SmsCharge]: ...
    def add_messages(self, messages: Sequence[OutboundText]) -> None: ...
    def messages(self, request_ids: Sequence[str]) -> dict[str, OutboundText]: ...
    def set_message_statuses(self, request_ids: Sequence[str], status: MessageStatus, detail: str | None,
                             only_if: MessageStatus | None = None) -> set[str]: ...
    def replies_to(self, inbound_id: str) -> list[OutboundText]: ...
    def given_today_many(self, appeal_slug: str, phones: Sequence[str], since: datetime) -> dict[str, int]: ...


@dataclass(frozen=True)
class ChargeOrder:
    """Bill `amount_pence` to `msisdn`'s phone; the aggregator echoes `request_id` in the charge report."""

    request_id: str
    msisdn: str
    shortcode: str
    amount_pence: int
    description: str


@dataclass(frozen=True)
class MessageOrder:
    request_id: str
    msisdn: str
    sender: str
    body: str


class AggregatorRefused(Exception):
    """The aggregator answered but refused the request outright (bad key, malformed): retrying will not help
    until someone fixes the configuration, so the outbox keeps retrying with backoff and logs why."""


class AggregatorGateway(Protocol):
    """The aggregator's API. Both calls are idempotent on `request_id`, so the outbox may repeat them."""

    def request_charge(self, order: ChargeOrder) -> None: ...
    def send_message(self, order: MessageOrder) -> None: ...
