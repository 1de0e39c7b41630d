"""What settlement import, reconciliation and Gift Aid claims need from a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from everypenny.domain.gift_aid import GiftAidDeclaration
from everypenny.domain.gift_aid_claims import Gift
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
    def unconfirmed_charges(self, appeal_slug: str, network: str, period: str) -> list[str]: ...


class PayoutSource(Protocol):
    def paid_since(self, since: datetime | None) -> list[CardPayout]:
        """Paid card payouts, oldest first, each with the balance transactions it paid. Raises
        online_ports.PaymentUnavailable."""
        ...


class GiftAidClaims(Protocol):
    def unclaimed_gifts(self, appeal_slug: str) -> list[Gift]: ...
    def declarations(self, references: list[str]) -> dict[str, GiftAidDeclaration]: ...
    def enduring_declarations(self, contacts: set[str]) -> list[GiftAidDeclaration]: ...
    def record_claim(self, appeal_slug: str, references: list[str], donations_pence: int, gift_aid_pence: int,
                     claimed_at: datetime) -> int: ...
    def claimed(self, appeal_slug: str) -> tuple[int, int, int]: ...
    def last_gift_aid_record(self, contact: str) -> tuple[datetime, str] | None: ...
