"""Sealing the ledger into its hash chain and verifying it: the proof that no transfer was changed.

Writers of transfers never touch the chain, so the hot insert path is not serialised on it; sealing runs
in the outbox worker (and `everypenny ledger seal`), one transaction per batch, with the appeal's chain
head locked so concurrent sealers queue behind each other instead of forking the chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from everypenny.domain import chain
from everypenny.domain.allocation import FundBalances
from everypenny.domain.appeal import Appeal
from everypenny.domain.chain import DEFAULT_SEAL_GRACE, ChainEntry, ChainVerifier, SealedTransfer, Verification
from everypenny.domain.ledger import RAISING_KINDS, AccountCode, AppealTotals, TransferKind
from everypenny.domain.payouts import Fund
from everypenny.service_layer.housekeeping import for_each_appeal
from everypenny.service_layer.money_out import fund_balances
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

SEAL_BATCH_SIZE = 500
MAX_SEAL_CONFLICTS = 5
# The worker looks for unsealed transfers only this many ids below the last one it sealed, so sealing stays
# cheap however long the ledger grows. A transfer whose transaction stayed open longer than it took the
# ledger to grow by this many would be missed: `ledger verify` then reports it as never sealed, and
# `ledger seal` (which looks at every transfer) seals it.
SEAL_LOOKBACK_IDS = 100_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def appeal_slugs(uow_factory: UnitOfWorkFactory) -> list[str]:
    with uow_factory() as uow:
        return [stored.appeal.slug for stored in uow.appeals.list()]


def seal_appeal(uow_factory: UnitOfWorkFactory, slug: str, batch_size: int = SEAL_BATCH_SIZE,
                lookback_ids: int | None = None, clock: Callable[[], datetime] = utc_now) -> int:
    """Appends the appeal's not-yet-sealed transfers to its chain; returns how many it sealed.

    With `lookback_ids`, only transfers above the last sealed one's id less that many are looked at.
    """
    sealed = conflicts = 0
    while True:
        try:
            with uow_factory() as uow:
                uow.chain.lock_head(slug)
                head = uow.chain.head(slug)
                after_id = max(head.transfer_id - lookback_ids, 0) if head and lookback_ids is not None else 0
                batch = uow.chain.unsealed(slug, batch_size, after_id)
                if not batch:
                    return sealed
                uow.chain.append(slug, chain.seal(slug, head, batch, clock()))
                uow.commit()
        except DuplicateKey:
            # Only a store without a head lock gets here: another sealer won; start again from its head.
            conflicts += 1
            if conflicts >= MAX_SEAL_CONFLICTS:
                raise
            continue
        sealed += len(batch)
        if len(batch) < batch_size:
            return sealed


def seal_ledger(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """Seals every appeal's recent transfers: the worker's periodic job."""
    return for_each_appeal(uow_factory, lambda slug: seal_appeal(uow_factory, slug, lookback_ids=SEAL_LOOKBACK_IDS))


def verify_appeal(tx: Transaction, slug: str, grace: timedelta = DEFAULT_SEAL_GRACE,
                  now: datetime | None = None, published: Mapping[int, str] | None = None) -> Verification:
    """Recomputes every hash of the appeal's chain from the transfers as they are stored now, and checks
    it against any heads published earlier (seq -> hash)."""
    verifier = ChainVerifier(slug, published)
    for entry, transfer in tx.chain.walk(slug):
        verifier.check(entry, transfer)
    return verifier.result(tx.chain.unsealed_ages(slug), now or utc_now(), grace)


# --- the public transparency page ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Movement:
    """A public line of the ledger: when, how much, and why (never who)."""

    at: datetime
    amount_pence: int
    label: str
    description: str = ""


@dataclass(frozen=True)
class TransparencyReport:
    appeal: Appeal
    totals: AppealTotals
    funds: FundBalances
    allocations: list[Movement]
    payouts: list[Movement]
    paid_out_pence: int
    daily_heads: list[tuple[date, ChainEntry]]


def _allocated_where(appeal: Appeal, transfer: SealedTransfer) -> str:
    """Where an allocation moved money: to the surplus fund or a member charity, or back to the restricted fund."""
    members = {AccountCode.member_fund(member.slug): member.name for member in appeal.members}
    if transfer.credit == AccountCode.SURPLUS_FUND:
        return f"to the {appeal.surplus_rule.surplus_fund}"
    if transfer.credit in members:
        return f"to {members[transfer.credit]}"
    if transfer.debit in members:
        return f"back from {members[transfer.debit]} to the {appeal.restricted_fund.name}"
    return f"back to the {appeal.restricted_fund.name}"


def transparency_report(uow: UnitOfWork, slug: str) -> TransparencyReport | None:
    """Everything the public page shows about an appeal: totals, allocations, payouts, chain heads."""
    with uow:
        stored = uow.appeals.get(slug)
        if stored is None:
            return None
        appeal = stored.appeal
        allocations = [Movement(t.created_at, t.amount_pence, _allocated_where(appeal, t), t.description)
                       for t in uow.proof.posted_transfers(slug, [TransferKind.ALLOCATION])]
        fund_names = {Fund.RESTRICTED: appeal.restricted_fund.name, Fund.SURPLUS: appeal.surplus_rule.surplus_fund}
        payouts = [Movement(p.recorded_at, p.amount_pence, p.reference, fund_names[p.fund])
                   for p in uow.proof.payouts(slug)]
        return TransparencyReport(appeal, uow.ledger.totals(slug), fund_balances(uow, slug), allocations, payouts,
                                  sum(p.amount_pence for p in payouts), uow.chain.daily_heads(slug))


RECEIPT_REFERENCE = re.compile(r"^EP-[0-9A-HJKMNP-TV-Z]{10}$")
# Crockford's base 32 reads I and L as 1 and O as 0, so a reference copied by hand still matches.
_MISREAD = str.maketrans({"I": "1", "L": "1", "O": "0"})


def normalise_reference(text: str) -> str | None:
    """A receipt reference as typed (any case, spaces, with or without EP-) in its printed form."""
    compact = re.sub(r"[\s-]", "", text.upper())
    if len(compact) == 12 and compact.startswith("EP"):
        compact = compact[2:]
    candidate = "EP-" + compact.translate(_MISREAD)
    return candidate if RECEIPT_REFERENCE.match(candidate) else None


@dataclass(frozen=True)
class ReceiptCheck:
    """The answer to "is my donation counted?": the same shape whether or not the reference exists."""

    reference: str
    counted: bool
    amount_pence: int = 0
    donated_at: datetime | None = None
    chain_entries: tuple[ChainEntry, ...] = ()
    awaiting_seal: bool = False


def check_receipt(uow: UnitOfWork, slug: str, typed_reference: str) -> ReceiptCheck:
    """Whether a donation with this receipt reference is counted in this appeal's total, and its chain entry.

    Only posted money counts: a text still waiting for its charge report, a failed charge, a refunded
    donation and an unknown reference all get the same "not counted" answer.
    """
    reference = normalise_reference(typed_reference)
    if reference is None:
        return ReceiptCheck(typed_reference.strip()[:20], counted=False)
    with uow:
        transfers = uow.proof.posted_transfers(slug, RAISING_KINDS, reference=reference)
        gifts = [t for t in transfers if t.kind == TransferKind.DONATION]
        net = sum(t.amount_pence if t.kind == TransferKind.DONATION else -t.amount_pence for t in transfers)
        if not gifts or net <= 0:
            return ReceiptCheck(reference, counted=False)
        donation = uow.donations.get(reference)
        entries = [uow.chain.entry_for_transfer(t.id) for t in gifts]
    return ReceiptCheck(
        reference, counted=True, amount_pence=net,
        donated_at=donation.created_at if donation else gifts[0].created_at,
        chain_entries=tuple(e for e in entries if e is not None), awaiting_seal=None in entries)
