"""What online donations need from storage, the card processor and the mail server. Tests can fake each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from everypenny.domain.gift_aid import GiftAidDeclaration


class CheckoutStatus(StrEnum):
    OPEN = "open"  # the donor can still pay on the hosted page
    PAID = "paid"
    FAILED = "failed"  # a payment attempt failed; the pending money was released
    EXPIRED = "expired"  # the session ended unpaid


@dataclass(frozen=True)
class Checkout:
    """A hosted checkout session and the donation it pays for."""

    session_id: str
    donation_reference: str
    url: str
    status: CheckoutStatus = CheckoutStatus.OPEN
    payment_intent: str | None = None


class CheckoutRepository(Protocol):
    def add(self, checkout: Checkout) -> None: ...
    def save(self, checkout: Checkout) -> None: ...
    # `lock` holds the checkout's row until the transaction ends, so two events for one payment apply in turn.
    def by_session(self, session_id: str, lock: bool = False) -> Checkout | None: ...
    def by_reference(self, reference: str, lock: bool = False) -> Checkout | None: ...
    def by_payment_intent(self, payment_intent: str, lock: bool = False) -> Checkout | None: ...


class GiftAidRepository(Protocol):
    def add(self, declaration: GiftAidDeclaration) -> None:
        """Raises DuplicateKey when the donation already has a declaration."""

    def for_donation(self, reference: str) -> GiftAidDeclaration | None: ...
    def cancel(self, reference: str, cancelled_at: datetime, cancelled_by: str) -> None: ...


@dataclass(frozen=True)
class EmailMessage:
    purpose: str  # e.g. "receipt"
    reference: str  # the donation it is about
    recipient: str
    subject: str
    body: str
    sent_at: datetime


class EmailLog(Protocol):
    def record(self, message: EmailMessage) -> None: ...
    def find(self, purpose: str, reference: str) -> EmailMessage | None: ...


class RateLimitCounter(Protocol):
    def hit(self, scope: str, subject: str, window_start: datetime) -> int:
        """Counts one attempt by `subject` in the window; returns the attempts so far, this one included."""

    def prune(self, scopes: tuple[str, ...], before: datetime) -> None:
        """Forgets the scopes' windows that started before `before`: they can no longer refuse anyone.
        (Each scope prunes its own: windows of different lengths end at different times.)"""

    def forget(self, scope: str, subject: str) -> None:
        """Forgets every attempt `subject` made in the scope (a login that succeeds clears its failures)."""


@dataclass(frozen=True)
class CheckoutRequest:
    reference: str
    appeal_slug: str
    description: str  # what the donor sees on the hosted page and their statement
    amount_pence: int
    currency: str
    email: str | None
    success_url: str
    cancel_url: str
    expires_at: datetime  # an unpaid session ends then, releasing the pending money


@dataclass(frozen=True)
class HostedCheckout:
    session_id: str
    url: str


class PaymentUnavailable(Exception):
    """The card processor refused a request or could not be reached; the message is the processor's own."""


class PaymentGateway(Protocol):
    """A hosted card checkout: card details are typed on the processor's page, never on ours."""

    def create_checkout(self, request: CheckoutRequest) -> HostedCheckout:
        """Any failure to start one is the donor's 'try again later' (start_online_donation catches it)."""

    def refund(self, payment_intent: str, amount_pence: int, idempotency_key: str) -> str:
        """Asks for money back on a payment; returns the refund's id. The books change on the processor's event.
        Raises PaymentUnavailable."""


# ---- the card processor's events, as the adapter reads them from its wire format ------------------------------


class EventRefused(Exception):
    """A webhook body that is not a genuine event we can read: its signature, format or API version is wrong.
    The message says which, for the processor's delivery log; nothing is stored."""


@dataclass(frozen=True)
class ReceivedEvent:
    """An event whose signature checked out, with the body the inbox keeps and the outbox works, as sent."""

    event_id: str
    type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str
    reference: str | None  # the donation it pays for, as our metadata (or the client reference) names it
    paid: bool  # a card is paid when the donor finishes; a bank payment may still be on its way
    payment_intent: str | None
    amount_pence: int | None
    email: str | None  # the address the donor gave on the processor's page


@dataclass(frozen=True)
class SessionCompleted:
    """The donor finished on the hosted page, or a bank payment they started there went through later."""

    session: CheckoutSession


@dataclass(frozen=True)
class SessionExpired:
    session: CheckoutSession


@dataclass(frozen=True)
class SessionPaymentFailed:
    """A bank payment started on the hosted page did not go through."""

    session: CheckoutSession


@dataclass(frozen=True)
class PaymentFailed:
    """A card payment attempt failed (the session stays payable with another card)."""

    payment_intent: str | None
    reference: str | None
    reason: str | None  # the processor's message for the donor


@dataclass(frozen=True)
class RefundChanged:
    """A refund made, updated or failed, wherever it was asked for."""

    refund_id: str
    payment_intent: str | None
    amount_pence: int
    status: str | None


class DisputeMove(StrEnum):
    WITHDRAWAL = "withdrawal"  # the disputed money was taken from the processor's balance
    REINSTATEMENT = "reinstatement"  # and given back


@dataclass(frozen=True)
class DisputeTransaction:
    transaction_id: str
    move: DisputeMove | None  # None: a balance transaction that moves no disputed money


@dataclass(frozen=True)
class DisputeChanged:
    dispute_id: str
    payment_intent: str | None
    amount_pence: int
    status: str | None
    transactions: tuple[DisputeTransaction, ...]


PaymentChange = (SessionCompleted | SessionExpired | SessionPaymentFailed | PaymentFailed | RefundChanged
                 | DisputeChanged)


@dataclass(frozen=True)
class PaymentEvent:
    event_id: str
    type: str
    created: datetime
    change: PaymentChange | None  # None: an event no use case acts on


class PaymentEvents(Protocol):
    """The processor's webhook events: verified when they arrive, read when the outbox applies them."""

    def verify(self, body: bytes, signature: str) -> ReceivedEvent:
        """Raises EventRefused."""

    def read(self, body: dict[str, Any]) -> PaymentEvent: ...


class Undeliverable(Exception):
    """This address can never take this email from our server (e.g. it needs SMTPUTF8, which the server lacks,
    or the server refused it for good): retrying cannot help, so the work ends here."""


class Mailer(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...
