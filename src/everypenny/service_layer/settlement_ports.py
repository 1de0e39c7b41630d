"""What settlement import and reconciliation need from a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from everypenny.domain.settlement import CardPayout, Charge, LineStatus, MatchedLine, Statement


@dataclass(frozen=True)
class StoredStatement:
    source: str
    reference: str
    network: str
    period: str
    sha256: str
    gross_pence: int
    fee_pence: int
    settled_pence: int
    imported_at: datetime


@dataclass(frozen=True)
class StoredLine:
    source: str
    statement_reference: str
    line: int
    external_id: str
    message_id: str
    donation_reference: str | None
    status: LineStatus
    gross_pence: int
    fee_pence: int
    charged_pence: int
    settled_pence: int


class SettlementStore(Protocol):
    def statement(self, appeal_slug: str, source: str, reference: str) -> StoredStatement | None: ...
    def add_statement(self, appeal_slug: str, source: str, statement: Statement,
                      lines: list[MatchedLine]) -> None: ...
    def statements(self, appeal_slug: str) -> list[StoredStatement]: ...
    def lines(self, appeal_slug: str) -> list[StoredLine]: ...
    def sms_charges(self, appeal_slug: str) -> list[Charge]: ...


class PayoutSource(Protocol):
    def paid_since(self, since: datetime | None) -> list[CardPayout]:
        """Paid card payouts, oldest first, each with the balance transactions it paid."""
        ...
