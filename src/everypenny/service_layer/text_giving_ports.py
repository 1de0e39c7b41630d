"""What text giving needs from storage and from the SMS aggregator. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from everypenny.domain.text_giving import Given, MessageStatus, OutboundText, SmsCharge
from everypenny.service_layer.ports import NeverSucceeds

AGGREGATOR = "aggregator"  # the provider its callbacks are stored under


@dataclass(frozen=True)
class InboundText:
    """A donor's text (MO) as a provider delivered it."""

    provider: str
    message_id: str
    msisdn: str
    to: str
    body: str
    network: str = ""
    received_at: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.message_id}"


@dataclass(frozen=True)
class ChargeReport:
    request_id: str
    status: str  # "charged" or "failed"
    reason: str | None = None  # the aggregator's failure code
    network: str = ""
    txguid: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    txguid: str  # the aggregator's id for the message, from its answer when it took it
    status: str  # "delivered" or "failed"
    detail: str | None = None
    request_id: str | None = None  # ours, echoed when we sent one (Fonix's REQUESTID)


# What the aggregator's callbacks tell us, as its adapter reads them from its wire format.
AggregatorMessage = InboundText | ChargeReport | DeliveryReport


class BadCallback(ValueError):
    """A callback we cannot read; the message says which field, so the aggregator's logs say why."""


class TextGivingStore(Protocol):
    """Reads and writes take many rows at once: a worker handles a batch of texts in a few statements."""

    def add_charges(self, charges: Sequence[SmsCharge]) -> None: ...
    def charges(self, request_ids: Sequence[str]) -> dict[str, SmsCharge]: ...
    def save_charges(self, charges: Sequence[SmsCharge]) -> None: ...
    def charges_for(self, donation_reference: str) -> list[SmsCharge]: ...
    def contradicted_charges(self, appeal_slug: str) -> list[SmsCharge]: ...
    def resolve_contradiction(self, request_id: str, resolution: str) -> bool: ...
    def set_charge_txguids(self, txguids: dict[str, str]) -> None: ...
    def set_refund_statuses(self, statuses: dict[str, str]) -> None: ...
    def unconfirm_charges(self, requested_before: datetime, limit: int) -> int: ...
    def add_messages(self, messages: Sequence[OutboundText]) -> None: ...
    def messages(self, request_ids: Sequence[str]) -> dict[str, OutboundText]: ...
    def set_message_statuses(self, request_ids: Sequence[str], status: MessageStatus, detail: str | None,
                             only_if: MessageStatus | None = None) -> set[str]: ...
    def set_message_txguids(self, txguids: dict[str, str]) -> None: ...
    def set_statuses_by_txguid(self, txguids: Sequence[str], status: MessageStatus, detail: str | None) -> set[str]: ...
    def replies_to(self, inbound_id: str) -> list[OutboundText]: ...
    def given_many(self, appeal_slug: str, phones: Sequence[str], day_start: datetime,
                   month_start: datetime) -> dict[str, Given]: ...


@dataclass(frozen=True)
class ChargeOrder:
    """Bill `amount_pence` to `msisdn`'s phone and, if it goes through, send the donor `receipt` with it.

    The aggregator echoes `request_id` in the charge report and gives up on the charge after
    `time_to_live_min` minutes. A `repeat` asks again for a charge asked for before (its answer was lost, or
    a crash fell before it was recorded): nothing public says the aggregator de-duplicates on `request_id`,
    so its refusal of a repeat says nothing of the charge, which waits for its report."""

    request_id: str
    msisdn: str
    shortcode: str  # the receipt's sender
    amount_pence: int
    currency: str
    description: str
    receipt: str
    time_to_live_min: int
    repeat: bool = False


@dataclass(frozen=True)
class ChargeAnswer:
    """The aggregator's answer to a charge: taken (its id, `txguid`; the report follows) or refused
    (`failcode`: a first request refused can never succeed, so the charge fails now with that code, unless a
    report later says it was charged after all)."""

    request_id: str
    txguid: str | None = None
    failcode: str | None = None


@dataclass(frozen=True)
class MessageOrder:
    request_id: str
    msisdn: str
    sender: str
    body: str


@dataclass(frozen=True)
class RefundOrder:
    request_id: str
    msisdn: str
    charge_txguid: str


class RefundStatus(StrEnum):
    SUCCESS = "success"
    PENDING = "pending"
    FAILURE = "failure"


@dataclass(frozen=True)
class RefundAnswer:
    status: RefundStatus
    detail: str = ""  # the aggregator's status code and text
    refunded_pence: int | None = None


class MessageRefused(NeverSucceeds):
    """The aggregator refused a message itself (a 4xx answer with its failcode): parked with that reason."""


class AggregatorRefused(Exception):
    """The aggregator answered but refused a request in a way someone must fix (a wrong key, its own fault):
    the outbox keeps retrying with backoff and logs why."""


class AggregatorGateway(Protocol):
    """The aggregator's API. The outbox may repeat a charge with the same `request_id` (so the aggregator can
    tell it is the same charge; only its report is trusted after a repeat); a message may go twice if a
    crash falls between sending and recording it."""

    def request_charge(self, order: ChargeOrder) -> ChargeAnswer: ...
    def send_message(self, order: MessageOrder) -> str: ...
    def refund(self, order: RefundOrder) -> RefundAnswer: ...
