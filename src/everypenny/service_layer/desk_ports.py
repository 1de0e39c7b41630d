"""What the appeal desk needs from storage and from a password hasher. Adapters implement these."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from everypenny.domain.donation import Donation
from everypenny.domain.users import Role, User


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True)
class Credentials:
    user: User
    password_hash: str


class UserRepository(Protocol):
    def add(self, email: str, role: Role, password_hash: str, created_at: datetime) -> User: ...
    def credentials(self, email: str) -> Credentials | None: ...
    def list(self) -> list[User]: ...
    def record_login(self, user_id: int, at: datetime) -> None: ...
    def remove(self, user_id: int) -> None: ...


@dataclass(frozen=True)
class DeskSession:
    user: User
    csrf_token: str
    expires_at: datetime


class SessionRepository(Protocol):
    def add(self, token_hash: str, user_id: int, csrf_token: str, created_at: datetime,
            expires_at: datetime) -> None: ...
    def get(self, token_hash: str, now: datetime) -> DeskSession | None: ...
    def delete(self, token_hash: str) -> None: ...
    def delete_expired(self, now: datetime) -> int: ...


@dataclass(frozen=True)
class DonationGroup:
    """Donations sharing channel, status, keyword, keyword amount and failure reason, summed in the store."""

    channel: str
    status: str
    keyword: str | None
    keyword_amount_pence: int | None  # the amount texted with a keyword; None for online gifts of any size
    failure_reason: str | None
    count: int
    promised_pence: int
    paid_pence: int
    refunded_pence: int


@dataclass(frozen=True)
class TimeBucket:
    start: datetime
    count: int


@dataclass(frozen=True)
class TransferEntry:
    id: int
    created_at: datetime
    idempotency_key: str
    kind: str
    phase: str
    debit: str
    credit: str
    amount_pence: int
    currency: str
    pending_id: int | None
    description: str


@dataclass(frozen=True)
class ConsentEntry:
    recorded_at: datetime
    contact: str
    medium: str
    granted: bool
    source: str
    appeal: str | None


# Columns of each CSV export, in the order the reporting adapter writes them. People read the amounts in pounds
# (`amount`, beside `currency`); programs read the same amounts in whole pence from the *_pence columns at the end.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "donations": ("reference", "created_at", "channel", "status", "keyword", "amount", "paid", "refunded",
                  "currency", "phone", "email", "marketing_consent", "gift_aid_declared", "failure_reason",
                  "amount_pence", "paid_pence", "refunded_pence"),
    # Every attempt to take money from a donor: each charge to a phone bill (a £20 text on a network that
    # bills £10 at most is two charges, sequence 1 and 2) and each card checkout. See README, "Exports".
    "charges": ("donation_reference", "channel", "method", "sequence", "provider_reference", "card_payment_id",
                "network", "amount", "currency", "status", "failure_reason", "requested_at", "reported_at",
                "amount_pence"),
    "transfers": ("id", "created_at", "idempotency_key", "kind", "phase", "debit_account", "credit_account",
                  "amount", "currency", "pending_id", "reference", "description", "amount_pence"),
    "consents": ("contact", "medium", "opted_in_at", "source"),
}


class Cell(StrEnum):
    """How a column's values are written into a CSV cell (None is always an empty cell)."""

    PLAIN = "plain"  # numbers and our own codes, as they are
    TEXT = "text"  # text that came from outside: one a spreadsheet would run as a formula gets a leading '
    MOMENT = "moment"  # ISO 8601 in UK time with its offset: 2026-11-26T09:00:07+00:00, 2026-07-01T10:00:07+01:00
    YES_NO = "yes_no"
    POUNDS = "pounds"  # whole pence as pounds and pence: 1250 → 12.50


# The columns, in any export, that are not PLAIN.
EXPORT_CELLS: dict[str, Cell] = {
    **dict.fromkeys(("created_at", "opted_in_at", "requested_at", "reported_at"), Cell.MOMENT),
    **dict.fromkeys(("marketing_consent", "gift_aid_declared"), Cell.YES_NO),
    **dict.fromkeys(("amount", "paid", "refunded"), Cell.POUNDS),
    **dict.fromkeys(("keyword", "email", "failure_reason", "description", "source", "contact", "reference",
                     "idempotency_key", "donation_reference", "provider_reference", "card_payment_id", "network"),
                    Cell.TEXT),
}


@dataclass(frozen=True)
class ExportChunk:
    rows: int
    text: str


class DeskReporting(Protocol):
    """Read-only questions the appeal desk asks; each answers in the store, never row by row in Python."""

    def donation_groups(self, appeal_slug: str) -> list[DonationGroup]: ...
    def activity_span(self, appeal_slug: str) -> tuple[datetime, datetime] | None: ...
    def donations_per_bucket(self, appeal_slug: str, start: datetime, bucket_seconds: int) -> list[TimeBucket]: ...
    def latest_donations(self, appeal_slug: str, limit: int) -> list[Donation]: ...
    def gift_aid_declared(self, appeal_slug: str) -> tuple[int, int]: ...
    def partner_sums(self, appeal_slug: str) -> dict[str, tuple[int, int]]:
        """Per media partner's slug, (pence paid less refunded, donors: the gifts that paid anything)."""
    def declared_among(self, references: Sequence[str]) -> set[str]:
        """Which of these donations carry their own Gift Aid declaration."""
    def find_donations(self, *, reference: str | None = None, phone: str | None = None,
                       phone_suffix: str | None = None, email: str | None = None, email_domain: str | None = None,
                       name_words: tuple[str, ...] = (), made_from: datetime | None = None,
                       made_before: datetime | None = None, limit: int = 50) -> list[Donation]:
        """Donations matching every term given, newest first; names match the start of a Gift Aid
        declaration's first or last name, each word either."""
    def transfers_for(self, reference: str) -> list[TransferEntry]: ...
    def consents_for(self, contacts: Sequence[str]) -> list[ConsentEntry]: ...
    def export_size(self, kind: str, appeal_slug: str) -> int: ...
    def export_csv(self, kind: str, appeal_slug: str,
                   rows_per_chunk: int) -> Generator[ExportChunk, None, None]:
        """The export's rows (no header) as CSV text with CRLF line ends, cells written as EXPORT_CELLS says,
        `rows_per_chunk` rows at a time, streamed so memory does not grow with the export."""
