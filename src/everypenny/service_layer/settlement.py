"""Settlement import and reconciliation: what was paid for our charges, and what is still owed or wrong.

An import is one unit of work: the statement and its line-level matches are stored, and the money that
settles our charges is posted through money_out's settlement postings (Dr bank net, Dr recoverable:fees
fee, Cr receivable gross). Cash paid for nothing we charged (unknown ids, failed charges, a charge paid
twice, the excess of an over-payment) is not posted: it is listed for finance to query with the payer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from everypenny.domain.appeal import Appeal, Channel
from everypenny.domain.donation import Donation
from everypenny.domain.money import format_pence
from everypenny.domain.settlement import (
    CardTransaction,
    LineStatus,
    MatchedLine,
    Statement,
    StatementRefused,
    match_lines,
    parse_statement,
    settlement_due_by,
)
from everypenny.service_layer import text_giving
from everypenny.service_layer.appeals import stored_appeal
from everypenny.service_layer.money_out import gifts, post_settlement
from everypenny.service_layer.settlement_ports import PayoutSource, StoredLine
from everypenny.service_layer.text_giving_ports import ChargeReport
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

AGGREGATOR = "aggregator"
STRIPE = "stripe"
DEFAULT_WINDOW_DAYS = 99
DEFAULT_CARD_WINDOW_DAYS = 14  # Stripe pays UK accounts on a 7-day rolling schedule; a week's grace
# Channels whose donors pay by card through Stripe: text-to-link donors text, then pay on a card page.
CARD_CHANNELS = frozenset({Channel.ONLINE, Channel.TEXT_TO_LINK})
NOT_ON_STATEMENT = "NOT_ON_STATEMENT"  # an unconfirmed charge its network's statement does not list


@dataclass(frozen=True)
class ImportResult:
    reference: str
    lines: int
    gross_pence: int
    settled_pence: int
    fee_pence: int
    problems: dict[LineStatus, int]
    already_imported: bool


def import_aggregator_statement(uow: UnitOfWork, slug: str, content: bytes) -> ImportResult:
    """Imports one network's monthly statement; the same file again changes nothing, a changed one is refused."""
    statement = parse_statement(content)
    with uow:
        appeal = stored_appeal(uow, slug)
        already = _already_imported(uow, slug, AGGREGATOR, statement)
        if already is not None:
            return already
        _settle_unconfirmed(uow, slug, statement)
        charges = {c.request_id: c for c in uow.settlements.sms_charges(slug)}
        settled_before = {line.external_id for line in uow.settlements.lines(slug) if line.status.settles}
        matched = match_lines(statement.lines, charges, settled_before)
        settled = {Channel.CARRIER_SMS: (sum(m.settled_pence for m in matched),
                                         sum(m.settled_fee_pence for m in matched))}
        result = _post_and_store(uow, appeal, AGGREGATOR, statement, matched, settled,
                                 f"{statement.network} {statement.period} {statement.reference}")
        uow.commit()
    return result


def _settle_unconfirmed(tx: Transaction, slug: str, statement: Statement) -> None:
    """Charges whose report never came, on the statement's network and in its month, are settled by it: a line
    for one means the network charged it, so it posts (and the line then settles it); none means it never
    did, so it voids. Donors are not texted weeks later."""
    waiting = tx.settlements.unconfirmed_charges(slug, statement.network, statement.period)
    if not waiting:
        return
    on_statement = {line.request_id for line in statement.lines}
    settled_now = text_giving.record_charge_reports(tx, [
        ChargeReport(request_id, "charged") if request_id in on_statement
        else ChargeReport(request_id, "failed", NOT_ON_STATEMENT) for request_id in waiting])
    if settled_now:
        text_giving.move_reported_money(tx, settled_now)
        text_giving.settle_donations(tx, settled_now)
        text_giving.record_receipts_delivery(tx, settled_now)


def import_card_payouts(uow_factory: UnitOfWorkFactory, slug: str, payouts: PayoutSource,
                        since: datetime | None = None) -> list[ImportResult]:
    """Imports the appeal's share of each paid Stripe payout, one unit of work per payout, oldest first.

    A payout can carry several appeals' donations; each appeal imports its own transactions (plus any
    that belong to no donation at all, listed for reconciliation). Each donation's money settles the
    receivable of its own channel (online, or text-to-link, whose donors also pay by card). Card fees are the
    fee bearer's.
    """
    results = []
    for payout in payouts.paid_since(since):
        with uow_factory() as uow:
            appeal = stored_appeal(uow, slug)
            lines: list[tuple[CardTransaction, Donation | None]] = []
            for transaction in payout.transactions:
                checkout = (uow.checkouts.by_payment_intent(transaction.payment_intent)
                            if transaction.payment_intent else None)
                donation = uow.donations.get(checkout.donation_reference) if checkout else None
                if donation is None or donation.appeal == slug:
                    lines.append((transaction, donation))
            if not any(donation for _, donation in lines):
                continue  # none of this appeal's donations
            statement = payout.statement(transaction for transaction, _ in lines)
            already = _already_imported(uow, slug, STRIPE, statement)
            if already is not None:
                results.append(already)
                continue
            matched = [MatchedLine(line, LineStatus.MATCHED, donation.reference, line.gross_pence) if donation
                       else MatchedLine(line, LineStatus.UNKNOWN, None, 0)
                       for line, (_, donation) in zip(statement.lines, lines, strict=True)]
            settled: dict[Channel, tuple[int, int]] = {}
            for m, (_, donation) in zip(matched, lines, strict=True):
                if donation is not None:
                    gross, fee = settled.get(donation.channel, (0, 0))
                    settled[donation.channel] = (gross + m.settled_pence, fee + m.line.fee_pence)
            results.append(_post_and_store(uow, appeal, STRIPE, statement, matched, settled, f"stripe {payout.id}"))
            uow.commit()
    return results


def _already_imported(tx: Transaction, slug: str, source: str, statement: Statement) -> ImportResult | None:
    """The earlier import of this statement if it is identical; a refusal if it differs."""
    stored = tx.settlements.statement(slug, source, statement.reference)
    if stored is None:
        return None
    if stored.sha256 != statement.sha256:
        raise StatementRefused(
            f"statement {statement.reference} was imported on {stored.imported_at:%d %b %Y} with other "
            "contents; nothing was changed. Ask the payer for a correcting statement with its own reference")
    return ImportResult(statement.reference, len(statement.lines), stored.gross_pence, stored.settled_pence, 0, {},
                        already_imported=True)


def _post_and_store(tx: Transaction, appeal: Appeal, source: str, statement: Statement, matched: list[MatchedLine],
                    settled_by_channel: dict[Channel, tuple[int, int]], posting_reference: str) -> ImportResult:
    """Posts what the statement settles, each channel's (gross, fee) against that channel's receivable."""
    for channel, (settled, fee_pence) in settled_by_channel.items():
        if settled > 0:
            post_settlement(tx, appeal, channel, settled, posting_reference, fee_pence)
        elif settled < 0:
            raise StatementRefused(
                f"statement {statement.reference} settles {format_pence(settled, appeal.currency)} of this "
                f"appeal's {channel.value} donations (refunds or disputes exceed its charges): record it by hand "
                "with `everypenny settlement record` once agreed with the payer")
    settled = sum(m.settled_pence for m in matched)
    fee_pence = sum(fee for gross, fee in settled_by_channel.values() if gross > 0)
    tx.settlements.add_statement(appeal.slug, source, statement, matched)
    problems: dict[LineStatus, int] = {}
    for m in matched:
        if m.status is not LineStatus.MATCHED:
            problems[m.status] = problems.get(m.status, 0) + 1
    return ImportResult(statement.reference, len(matched), statement.gross_pence, settled, fee_pence, problems,
                        already_imported=False)


# --- reconciliation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UnsettledCharge:
    request_id: str
    donation_reference: str
    network: str
    amount_pence: int
    charged_at: datetime | None
    due_by: datetime | None
    overdue: bool


@dataclass
class Reconciliation:
    charged_pence: int = 0
    settled_pence: int = 0
    matched: int = 0
    problem_lines: list[StoredLine] = field(default_factory=list)
    unsettled: list[UnsettledCharge] = field(default_factory=list)

    def lines_with(self, status: LineStatus) -> list[StoredLine]:
        return [line for line in self.problem_lines if line.status is status]

    @property
    def shortfall_pence(self) -> int:
        return sum(line.charged_pence - line.gross_pence for line in self.lines_with(LineStatus.SHORT))

    @property
    def overpaid_pence(self) -> int:
        return sum(line.gross_pence - line.charged_pence for line in self.lines_with(LineStatus.OVER))

    @property
    def unmatched_cash_pence(self) -> int:
        """Paid for nothing we charged: unknown ids, failed charges, charges paid twice."""
        return sum(line.gross_pence for line in self.problem_lines
                   if line.status in (LineStatus.UNKNOWN, LineStatus.FAILED_CHARGE, LineStatus.DUPLICATE))

    @property
    def awaiting_pence(self) -> int:
        return sum(c.amount_pence for c in self.unsettled if not c.overdue)

    @property
    def overdue_pence(self) -> int:
        return sum(c.amount_pence for c in self.unsettled if c.overdue)


def reconcile(uow_factory: UnitOfWorkFactory, slug: str, window_days: int = DEFAULT_WINDOW_DAYS,
              card_window_days: int = DEFAULT_CARD_WINDOW_DAYS, now: datetime | None = None) -> Reconciliation:
    """Every charged text and paid card donation (online or text-to-link) against the lines that paid it;
    each side's leftovers."""
    now = now or datetime.now(UTC)
    with uow_factory() as uow:
        stored_appeal(uow, slug)
        charges = uow.settlements.sms_charges(slug)
        lines = uow.settlements.lines(slug)
        card_gifts = [gift for gift in gifts(uow, slug) if gift.channel in CARD_CHANNELS]
    report = Reconciliation()
    for line in lines:
        report.settled_pence += line.settled_pence
        if line.status is LineStatus.MATCHED:
            report.matched += 1
        else:
            report.problem_lines.append(line)
    paid_for = {line.external_id for line in lines if line.source == AGGREGATOR and line.status.settles}
    for charge in charges:
        if not charge.charged:
            continue
        report.charged_pence += charge.amount_pence
        if charge.request_id not in paid_for:
            due_by = settlement_due_by(charge.charged_at, window_days) if charge.charged_at else None
            report.unsettled.append(UnsettledCharge(
                charge.request_id, charge.donation_reference, charge.network, charge.amount_pence,
                charge.charged_at, due_by, due_by is not None and now > due_by))
    card_settled: dict[str, int] = {}
    for line in lines:
        if line.source == STRIPE and line.donation_reference:
            card_settled[line.donation_reference] = card_settled.get(line.donation_reference, 0) + line.settled_pence
    for gift in card_gifts:
        report.charged_pence += gift.net_pence
        owed = gift.net_pence - card_settled.get(gift.reference, 0)
        if owed > 0:
            due_by = gift.donated_at + timedelta(days=card_window_days)
            report.unsettled.append(UnsettledCharge(gift.reference, gift.reference, "card", owed, gift.donated_at,
                                                    due_by, now > due_by))
    return report
