"""Money out: settled cash, fees someone else bears, and payouts to the beneficiary.

Postings (debits positive; every transfer is one debit and one credit, so balances always sum to zero):

- donation:        Dr receivable:<channel>  Cr fund:restricted   (the beneficiary is owed it)
- settlement:      Dr bank (gross - fee)    Cr receivable:<channel>
- settlement fee:  Dr recoverable:fees      Cr receivable:<channel> (the fee is owed to us by whoever bears it)
- reimbursement:   Dr bank                  Cr recoverable:fees
- payout:          Dr paid_out:beneficiary  Cr bank

So the funds read as everything given to them (a fee never reduces them: the beneficiary gets 100%),
`paid_out:beneficiary` as everything handed over, and what the beneficiary is still owed from a fund is
its balance less what was paid out of it; in all, receivables + bank + recoverable fees + paid out = funds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from everypenny.domain.ledger import AccountCode
from everypenny.domain.money import format_pence


class Fund(StrEnum):
    RESTRICTED = "restricted"
    SURPLUS = "surplus"

    @property
    def account(self) -> str:
        return AccountCode.RESTRICTED_FUND if self is Fund.RESTRICTED else AccountCode.SURPLUS_FUND


class MoneyOutRefused(ValueError):
    """A settlement, fee or payout the ledger will not record; nothing is written."""


def check_payout(amount_pence: int, fund: Fund, bank_pence: int, fund_unpaid_pence: int, currency: str) -> None:
    """A payout must be of settled cash we hold, and of money its fund is still owed."""
    def money(pence: int) -> str:
        return format_pence(pence, currency)

    if amount_pence <= 0:
        raise MoneyOutRefused(f"a payout must be a positive amount of pence, got {amount_pence}")
    if amount_pence > bank_pence:
        raise MoneyOutRefused(
            f"cannot pay out {money(amount_pence)}: only {money(bank_pence)} of settled money is unpaid")
    if amount_pence > fund_unpaid_pence:
        raise MoneyOutRefused(
            f"cannot pay out {money(amount_pence)} from the {fund.value} fund: it is owed only "
            f"{money(fund_unpaid_pence)} more")


@dataclass(frozen=True)
class Gift:
    """A donation's posted money, net of refunds, on the channel that will settle it."""

    reference: str
    channel: str
    donated_at: datetime
    net_pence: int


@dataclass(frozen=True)
class Settlement:
    """One settlement of a channel's receivable: gross, before any fee someone else bears."""

    reference: str
    channel: str
    settled_at: datetime
    gross_pence: int


@dataclass(frozen=True)
class RemittanceLine:
    donation_reference: str
    channel: str
    donated_at: datetime
    covered_pence: int
    settlement_reference: str
    settled_at: datetime


def _settled_slices(gifts: Iterable[Gift], settlements: Iterable[Settlement]) -> Iterable[RemittanceLine]:
    """Which donations each settlement paid for: a channel's donations settle oldest first."""
    queues: dict[str, deque[list[Any]]] = {}  # [gift, pence not yet settled]
    for gift in gifts:
        if gift.net_pence > 0:
            queues.setdefault(gift.channel, deque()).append([gift, gift.net_pence])
    for settlement in settlements:
        queue = queues.get(settlement.channel, deque())
        left = settlement.gross_pence
        while left > 0 and queue:
            gift, unsettled = queue[0]
            part = min(left, unsettled)
            yield RemittanceLine(gift.reference, gift.channel, gift.donated_at, part, settlement.reference,
                                 settlement.settled_at)
            left -= part
            if part == unsettled:
                queue.popleft()
            else:
                queue[0][1] = unsettled - part


def remittance(gifts: Iterable[Gift], settlements: Iterable[Settlement], payouts: Iterable[tuple[str, int]],
               payout_reference: str) -> list[RemittanceLine]:
    """The donations a payout covers, oldest settled first, after the payouts before it took theirs.

    `gifts` in the order they were posted, `settlements` and `payouts` (reference, pence) in the order
    they were recorded.
    """
    slices = iter(_settled_slices(gifts, settlements))
    pending: RemittanceLine | None = None
    for reference, amount in payouts:
        lines: list[RemittanceLine] = []
        left = amount
        while left > 0:
            current = pending or next(slices, None)
            pending = None
            if current is None:
                break
            part = min(left, current.covered_pence)
            lines.append(replace(current, covered_pence=part))
            left -= part
            if part < current.covered_pence:
                pending = replace(current, covered_pence=current.covered_pence - part)
        if reference == payout_reference:
            return lines
    raise LookupError(f"no payout has the reference {payout_reference!r}")


@dataclass(frozen=True)
class Payout:
    reference: str
    fund: Fund
    amount_pence: int
    recorded_at: datetime
    transfer_id: int
