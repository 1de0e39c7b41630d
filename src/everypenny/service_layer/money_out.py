"""Money out of an appeal: the surplus rule, settled cash, fees borne by others, payouts and their remittance.

Each use case runs in one unit of work and is idempotent on the caller's reference: repeating it with the
same figures returns what was recorded, with other figures is refused, and a refusal writes nothing.
Postings are described in domain/payouts.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TypeVar

from everypenny.domain import postings
from everypenny.domain.allocation import FundBalances, surplus_move
from everypenny.domain.appeal import UK_TIME, Appeal, Channel
from everypenny.domain.ledger import (
    RAISING_KINDS,
    AccountCode,
    IdempotencyConflict,
    Transfer,
    TransferKind,
    TransferRequest,
)
from everypenny.domain.money import format_pence, pounds_and_pence
from everypenny.domain.national import member_allocations
from everypenny.domain.payouts import (
    Fund,
    Gift,
    MoneyOutRefused,
    Payout,
    RemittanceLine,
    Settlement,
    check_payout,
    remittance,
)
from everypenny.service_layer.appeals import stored_appeal
from everypenny.service_layer.housekeeping import for_each_appeal
from everypenny.service_layer.ledger import apply_transfer
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

MAX_ATTEMPTS = 5
MAX_REFERENCE_LENGTH = 120
_Result = TypeVar("_Result")


def _check_figures(what: str, reference: str, amount_pence: int | None = None) -> None:
    """Refuses a missing or over-long reference, or a non-positive amount, before anything is read."""
    if amount_pence is not None and amount_pence <= 0:
        raise MoneyOutRefused(f"{what} must be a positive amount of pence, got {amount_pence}")
    if not reference.strip():
        raise MoneyOutRefused(f"{what} needs a reference (the one on the bank statement or remittance)")
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise MoneyOutRefused(f"{what}'s reference is {len(reference)} characters; at most {MAX_REFERENCE_LENGTH}")


def _posted(tx: Transaction, slug: str) -> dict[str, int]:
    """Posted balances, debits positive."""
    return {code: posted for code, (posted, _pending) in tx.ledger.balances(slug).items()}


def _paid_out(tx: Transaction, slug: str, fund: Fund) -> int:
    return sum(p.amount_pence for p in tx.proof.payouts(slug) if p.fund is fund)


def fund_balances(tx: Transaction, slug: str) -> FundBalances:
    posted = _posted(tx, slug)
    return FundBalances(-posted.get(AccountCode.RESTRICTED_FUND, 0), -posted.get(AccountCode.SURPLUS_FUND, 0),
                        _paid_out(tx, slug, Fund.SURPLUS))


# --- the surplus rule -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AllocationResult:
    moved_pence: int  # positive: restricted -> surplus; negative: back
    funds: FundBalances
    target_pence: int | None


def _retried_on_key_collision(run: Callable[[], _Result]) -> _Result:
    """Allocation keys are numbered (allocation:SLUG:N), so two workers allocating at once collide on the key
    and the loser re-reads the balances instead of moving the money twice."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return run()
        except (DuplicateKey, IdempotencyConflict):
            if attempt == MAX_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def allocate_surplus(uow_factory: UnitOfWorkFactory, slug: str) -> AllocationResult:
    """Applies the appeal's surplus rule to its posted money; running it again moves nothing more."""

    def run() -> AllocationResult:
        with uow_factory() as uow:
            appeal = stored_appeal(uow, slug)
            funds = fund_balances(uow, slug)
            target = appeal.surplus_rule.restricted_target_pence
            move = surplus_move(target, funds)
            if move == 0:
                return AllocationResult(0, funds, target)
            number = uow.proof.count_transfers(slug, TransferKind.ALLOCATION) + 1
            apply_transfer(uow, postings.allocation(appeal, number, move))
            result = AllocationResult(move, fund_balances(uow, slug), target)
            uow.commit()
            return result

    return _retried_on_key_collision(run)


# --- a national appeal's split between its member charities ---------------------------------------------------

def _share_boundaries(appeal: Appeal, now: datetime) -> list[datetime]:
    """When each later share version began (midnight, UK time), for those in force by `now`."""
    today = now.astimezone(UK_TIME).date()
    return [datetime.combine(version.starts, time(), UK_TIME).astimezone(UTC)
            for version in appeal.share_versions[1:] if version.starts <= today]


def allocate_to_members(uow_factory: UnitOfWorkFactory, slug: str,
                        clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, int]:
    """Moves each member charity's share of the posted money (domain/national.py, member_allocations) from the
    restricted fund to its own, or back after refunds; returns the pence moved per member (negative: back).
    Running it again moves nothing more."""

    def run() -> dict[str, int]:
        with uow_factory() as uow:
            appeal = stored_appeal(uow, slug)
            boundaries = _share_boundaries(appeal, clock())
            wanted = member_allocations(appeal.share_versions[:len(boundaries) + 1],
                                        uow.ledger.raised_by_gift_time(slug, boundaries))
            posted = _posted(uow, slug)  # a member's fund is credit-normal: what it holds is minus its balance
            moves = {member: wanted.get(member.slug, 0) + posted.get(AccountCode.member_fund(member.slug), 0)
                     for member in appeal.members}
            number = uow.proof.count_transfers(slug, TransferKind.ALLOCATION)
            for member, move in sorted(moves.items(), key=lambda item: item[1] > 0):  # back to the fund first
                if move:
                    number += 1
                    apply_transfer(uow, postings.member_allocation(appeal, number, member, move))
            uow.commit()
            return {member.slug: move for member, move in moves.items() if move}

    return _retried_on_key_collision(run)


def allocate_all(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    """The worker's periodic job: the surplus rule for every appeal that sets a target, and the split for every
    appeal with member charities (the two never apply to one appeal); pence moved per appeal."""
    surplus = for_each_appeal(uow_factory, lambda slug: allocate_surplus(uow_factory, slug).moved_pence,
                              lambda appeal: appeal.surplus_rule.restricted_target_pence is not None)
    shares = for_each_appeal(uow_factory, lambda slug: sum(map(abs, allocate_to_members(uow_factory, slug).values())),
                             lambda appeal: bool(appeal.members))
    return surplus | shares


# --- settled cash and fees ----------------------------------------------------------------------------------

def _same_or_refuse(existing: Transfer | None, request: TransferRequest, what: str) -> bool:
    """True when `request` was already recorded; refuses the same reference with other figures."""
    if existing is None:
        return False
    if existing.fingerprint != request.fingerprint:
        raise MoneyOutRefused(f"{what} was already recorded with different figures "
                              f"({format_pence(existing.amount_pence, existing.currency)})")
    return True


@dataclass(frozen=True)
class SettlementResult:
    gross_pence: int
    fee_pence: int
    already_recorded: bool


def record_settlement(uow: UnitOfWork, slug: str, channel: Channel, gross_pence: int, reference: str,
                      fee_pence: int = 0) -> SettlementResult:
    """Cash the aggregator or card processor paid us for a channel's charged donations.

    The whole gross leaves the receivable; a fee withheld from it becomes recoverable from whoever bears
    fees (the appeal file's `fees.borne_by`), so the beneficiary's fund still shows 100% of every gift.
    """
    with uow:
        recorded = post_settlement(uow, stored_appeal(uow, slug), channel, gross_pence, reference, fee_pence)
        uow.commit()
    return SettlementResult(gross_pence, fee_pence, already_recorded=not recorded)


def post_settlement(tx: Transaction, appeal: Appeal, channel: Channel, gross_pence: int, reference: str,
                    fee_pence: int = 0) -> bool:
    """Posts a settlement inside the caller's unit of work; False if it was already recorded as it is."""
    _check_figures("a settlement", reference)
    if gross_pence <= 0 or not 0 <= fee_pence < gross_pence:
        raise MoneyOutRefused(f"a settlement needs a positive gross and a fee below it; got gross {gross_pence}, "
                              f"fee {fee_pence}")
    slug = appeal.slug
    receivable = AccountCode.receivable(channel)
    cash = postings.settlement_cash(appeal, channel, gross_pence, reference, fee_pence)
    fee = postings.settlement_fee(appeal, channel, reference, fee_pence) if fee_pence else None
    recorded = _same_or_refuse(tx.ledger.get(cash.idempotency_key), cash, f"settlement {reference}")
    recorded_fee = tx.ledger.get(postings.settlement_fee_key(slug, channel, reference))
    if recorded:
        if (recorded_fee.amount_pence if recorded_fee else 0) != fee_pence:
            raise MoneyOutRefused(f"settlement {reference} was already recorded with a different fee")
        return False
    unsettled = _posted(tx, slug).get(receivable, 0)
    if gross_pence > unsettled:
        raise MoneyOutRefused(
            f"settlement {reference} of {format_pence(gross_pence, appeal.currency)} is more than the "
            f"{format_pence(unsettled, appeal.currency)} charged on {channel.value} and not yet settled")
    apply_transfer(tx, cash)
    if fee is not None:
        apply_transfer(tx, fee)
    return True


def reimburse_fees(uow: UnitOfWork, slug: str, amount_pence: int, reference: str) -> bool:
    """The fee bearer paid back fees we had withheld from settlements; False if already recorded."""
    _check_figures("a reimbursement", reference, amount_pence)
    with uow:
        appeal = stored_appeal(uow, slug)
        request = postings.fee_reimbursement(appeal, amount_pence, reference)
        if _same_or_refuse(uow.ledger.get(request.idempotency_key), request, f"reimbursement {reference}"):
            return False
        owed = _posted(uow, slug).get(AccountCode.FEES_RECOVERABLE, 0)
        if amount_pence > owed:
            raise MoneyOutRefused(f"cannot record a reimbursement of {format_pence(amount_pence, appeal.currency)}: "
                                  f"only {format_pence(owed, appeal.currency)} of fees is recoverable")
        apply_transfer(uow, request)
        uow.commit()
    return True


# --- payouts ------------------------------------------------------------------------------------------------

def record_payout(uow: UnitOfWork, slug: str, amount_pence: int, fund: Fund, reference: str,
                  clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> tuple[Payout, bool]:
    """Pays settled money to the beneficiary from one fund; (the payout, whether it is new)."""
    _check_figures("a payout", reference, amount_pence)
    with uow:
        appeal = stored_appeal(uow, slug)
        request = postings.payout(appeal, amount_pence, fund, reference)
        if _same_or_refuse(uow.ledger.get(request.idempotency_key), request, f"payout {reference}"):
            previous = next(p for p in uow.proof.payouts(slug) if p.reference == reference)
            if previous.fund is not fund:
                raise MoneyOutRefused(f"payout {reference} was already recorded from the {previous.fund.value} fund")
            return previous, False
        funds = fund_balances(uow, slug)
        given = funds.restricted_pence if fund is Fund.RESTRICTED else funds.surplus_pence
        check_payout(amount_pence, fund, _posted(uow, slug).get(AccountCode.BANK, 0),
                     given - _paid_out(uow, slug, fund), appeal.currency)
        transfer = apply_transfer(uow, request)
        payout = Payout(reference, fund, amount_pence, clock(), transfer.id)
        uow.proof.add_payout(slug, payout)
        uow.commit()
    return payout, True


def gifts(tx: Transaction, slug: str) -> list[Gift]:
    """Each donation's posted money net of refunds, in the order it was first posted."""
    dates = tx.proof.donation_dates(slug)
    found: dict[str, Gift] = {}
    for transfer in tx.proof.posted_transfers(slug, RAISING_KINDS):
        channel = AccountCode.channel_of(transfer.debit) or AccountCode.channel_of(transfer.credit)
        if transfer.reference is None or channel is None:
            continue
        sign = 1 if transfer.kind == TransferKind.DONATION else -1
        gift = found.get(transfer.reference) or Gift(
            transfer.reference, channel, dates.get(transfer.reference, transfer.created_at), 0)
        found[transfer.reference] = Gift(gift.reference, gift.channel, gift.donated_at,
                                         gift.net_pence + sign * transfer.amount_pence)
    return list(found.values())


def settlements(tx: Transaction, slug: str) -> list[Settlement]:
    """Settlements in the order recorded, each at its gross (cash plus any fee withheld)."""
    found: dict[tuple[str, str], Settlement] = {}
    for transfer in tx.proof.posted_transfers(slug, [TransferKind.SETTLEMENT, TransferKind.FEE]):
        channel = AccountCode.channel_of(transfer.credit)
        if channel is None or transfer.reference is None:
            continue  # a reimbursement of fees, not a settlement
        key = (channel, transfer.reference)
        before = found.get(key) or Settlement(transfer.reference, channel, transfer.created_at, 0)
        found[key] = Settlement(before.reference, before.channel, before.settled_at,
                                before.gross_pence + transfer.amount_pence)
    return list(found.values())


def list_payouts(uow: UnitOfWork, slug: str) -> list[Payout]:
    with uow:
        stored_appeal(uow, slug)
        return uow.proof.payouts(slug)


def remittance_advice(uow: UnitOfWork, slug: str, payout_reference: str) -> tuple[Payout, list[RemittanceLine]]:
    with uow:
        stored_appeal(uow, slug)
        payouts = uow.proof.payouts(slug)
        payout = next((p for p in payouts if p.reference == payout_reference), None)
        if payout is None:
            raise MoneyOutRefused(f"appeal {slug} has no payout with the reference {payout_reference!r}")
        lines = remittance(gifts(uow, slug), settlements(uow, slug),
                           [(p.reference, p.amount_pence) for p in payouts], payout_reference)
    return payout, lines


def remittance_csv(lines: list[RemittanceLine]) -> str:
    """One row per donation (or part of one) the payout covers; amounts in pounds with two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["donation_reference", "channel", "donation_date", "amount", "settlement_reference",
                     "settlement_date"])
    for line in lines:
        writer.writerow([line.donation_reference, line.channel, f"{line.donated_at:%Y-%m-%d}",
                         pounds_and_pence(line.covered_pence), line.settlement_reference,
                         f"{line.settled_at:%Y-%m-%d}"])
    return out.getvalue()
