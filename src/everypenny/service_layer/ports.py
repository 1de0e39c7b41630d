"""What the service layer needs from storage. Adapters implement these; tests can fake them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from everypenny.domain.appeal import Appeal
from everypenny.domain.donation import ConsentRecord, Donation, Medium
from everypenny.domain.ledger import AppealTotals, Transfer, TransferRequest


class DuplicateKey(Exception):
    """Another writer stored the same unique key first; re-read and decide again."""


@dataclass(frozen=True)
class StoredAppeal:
    appeal: Appeal
    definition: dict[str, Any]
    definition_hash: str
    updated_at: datetime


@dataclass(frozen=True)
class AppealChange:
    changed_at: datetime
    source: str
    changed_keys: list[str]


class AppealRepository(Protocol):
    def get(self, slug: str) -> StoredAppeal | None: ...
    def list(self) -> list[StoredAppeal]: ...
    def save(self, appeal: Appeal, definition: dict[str, Any], definition_hash: str) -> None: ...
    def record_change(self, slug: str, source: str, previous_hash: str | None, new_hash: str,
                      changed_keys: list[str]) -> None: ...
    def changes(self, slug: str) -> list[AppealChange]: ...


class LedgerRepository(Protocol):
    def ensure_accounts(self, appeal_slug: str, currency: str, codes: list[str]) -> None: ...
    def get(self, idempotency_key: str) -> Transfer | None: ...
    def is_resolved(self, pending_id: int) -> bool: ...
    def add(self, request: TransferRequest, pending_id: int | None) -> Transfer: ...
    def balances(self, appeal_slug: str) -> dict[str, tuple[int, int]]: ...
    def totals(self, appeal_slug: str) -> AppealTotals: ...


class DonationRepository(Protocol):
    def add(self, donation: Donation) -> None: ...
    def get(self, reference: str) -> Donation | None: ...
    def save(self, donation: Donation) -> None: ...
    def latest(self, appeal_slug: str, limit: int = 50) -> list[Donation]: ...


class ConsentRepository(Protocol):
    def record(self, consent: ConsentRecord) -> None: ...
    def current(self, contact: str, medium: Medium) -> bool | None: ...


@dataclass(frozen=True)
class OutboxTask:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int


class Outbox(Protocol):
    def enqueue(self, topic: str, payload: dict[str, Any], dedupe_key: str | None = None,
                delay: timedelta = timedelta(0)) -> bool: ...
    def claim(self, limit: int, lease: timedelta) -> list[OutboxTask]: ...
    def complete(self, task_id: int) -> bool: ...
    def retry_later(self, task_id: int, error: str, delay: timedelta) -> None: ...
    def depth(self) -> int: ...


class Inbox(Protocol):
    def accept(self, provider: str, message_id: str, kind: str, payload: dict[str, Any]) -> bool: ...
