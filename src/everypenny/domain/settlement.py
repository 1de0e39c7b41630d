"""Settlement statements and reconciliation: what the aggregator or card processor paid, line by line.

An aggregator's statement covers one network and one month. Each line names the charge it pays for by our
request id (or the aggregator's message id), with its gross, the aggregator's fee and the net paid. Lines
are matched to our charges by request id; a charge settles when a line pays its amount in full.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from everypenny.domain.money import pounds_and_pence

STATEMENT_COLUMNS = ["statement_reference", "network", "period", "line", "request_id", "message_id",
                     "charged_at", "gross", "fee", "net"]
MAX_STATEMENT_LINES = 200_000
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,8})\.[0-9]{2}$")
_PERIOD = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")


class StatementRefused(ValueError):
    """A settlement statement that cannot be imported; nothing is stored."""


def parse_pounds(text: str, where: str) -> int:
    if not _AMOUNT.match(text.strip()):
        raise StatementRefused(f"{where}: {text!r} is not an amount in pounds with two decimals (e.g. 5.00)")
    whole, pence = text.strip().split(".")
    return int(whole) * 100 + int(pence)


@dataclass(frozen=True)
class StatementLine:
    line: int
    request_id: str
    message_id: str
    charged_at: str
    gross_pence: int
    fee_pence: int

    @property
    def net_pence(self) -> int:
        return self.gross_pence - self.fee_pence


@dataclass(frozen=True)
class Statement:
    reference: str
    network: str
    period: str  # YYYY-MM
    lines: tuple[StatementLine, ...]
    sha256: str

    @property
    def gross_pence(self) -> int:
        return sum(line.gross_pence for line in self.lines)

    @property
    def fee_pence(self) -> int:
        return sum(line.fee_pence for line in self.lines)


def period_end(period: str) -> date:
    match = _PERIOD.match(period)
    if not match:
        raise StatementRefused(f"period {period!r} is not a month written YYYY-MM")
    year, month = int(match[1]), int(match[2])
    return date(year, month, monthrange(year, month)[1])


def parse_statement(content: bytes) -> Statement:
    """Reads an aggregator statement, refusing it whole at its first problem (named by line)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise StatementRefused("the statement is not UTF-8 text") from error
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [cell.strip() for cell in rows[0]] != STATEMENT_COLUMNS:
        raise StatementRefused(f"the first row must be the header {','.join(STATEMENT_COLUMNS)}")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise StatementRefused("the statement has no lines")
    if len(body) > MAX_STATEMENT_LINES:
        raise StatementRefused(f"the statement has {len(body)} lines; at most {MAX_STATEMENT_LINES}")
    head = body[0]
    lines: list[StatementLine] = []
    seen: set[str] = set()
    for number, row in enumerate(body, start=2):
        where = f"row {number}"
        if len(row) != len(STATEMENT_COLUMNS):
            raise StatementRefused(f"{where} has {len(row)} fields; expected {len(STATEMENT_COLUMNS)}")
        fields = dict(zip(STATEMENT_COLUMNS, (cell.strip() for cell in row), strict=True))
        for column in ("statement_reference", "network", "period"):
            if fields[column] != head[STATEMENT_COLUMNS.index(column)].strip():
                raise StatementRefused(f"{where}: every line must have the same {column} (one statement a file)")
        identity = fields["request_id"] or fields["message_id"]
        if not identity:
            raise StatementRefused(f"{where} names neither a request id nor a message id")
        if identity in seen:
            raise StatementRefused(f"{where}: {identity} appears twice in the statement")
        seen.add(identity)
        gross = parse_pounds(fields["gross"], f"{where} gross")
        fee = parse_pounds(fields["fee"] or "0.00", f"{where} fee")
        net = parse_pounds(fields["net"], f"{where} net")
        if gross - fee != net:
            raise StatementRefused(f"{where}: net {fields['net']} is not gross {fields['gross']} less fee "
                                   f"{fields['fee']}")
        if not fields["line"].isdigit():
            raise StatementRefused(f"{where}: line {fields['line']!r} is not a number")
        lines.append(StatementLine(int(fields["line"]), fields["request_id"], fields["message_id"],
                                   fields["charged_at"], gross, fee))
    reference, network, period = (head[i].strip() for i in range(3))
    if not reference or not network:
        raise StatementRefused("the statement needs a statement_reference and a network")
    period_end(period)
    return Statement(reference, network, period, tuple(lines), hashlib.sha256(content).hexdigest())


def statement_csv(reference: str, network: str, period: str, lines: Iterable[StatementLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for line in lines:
        writer.writerow([reference, network, period, line.line, line.request_id, line.message_id, line.charged_at,
                         pounds_and_pence(line.gross_pence), pounds_and_pence(line.fee_pence),
                         pounds_and_pence(line.net_pence)])
    return out.getvalue()


# --- matching ----------------------------------------------------------------------------------------------

class LineStatus(StrEnum):
    MATCHED = "matched"          # pays a charged charge in full
    SHORT = "short"              # pays less than was charged
    OVER = "over"                # pays more than was charged
    UNKNOWN = "unknown"          # names no charge of ours
    FAILED_CHARGE = "failed_charge"  # pays for a charge the network reported failed
    DUPLICATE = "duplicate"      # pays for a charge an earlier statement already paid

    @property
    def settles(self) -> bool:
        """Whether the line's money (up to the charge's amount) settles one of our charges."""
        return self in (LineStatus.MATCHED, LineStatus.SHORT, LineStatus.OVER)


@dataclass(frozen=True)
class Charge:
    """One of our charges, as the text-giving store knows it."""

    request_id: str
    donation_reference: str
    amount_pence: int
    network: str
    charged: bool  # False: the network reported it failed
    charged_at: datetime | None


@dataclass(frozen=True)
class MatchedLine:
    line: StatementLine
    status: LineStatus
    donation_reference: str | None
    charged_pence: int  # what we charged for it (0 when unknown or failed)

    @property
    def settled_pence(self) -> int:
        """How much of the line settles our receivable: never more than was charged."""
        return min(self.line.gross_pence, self.charged_pence) if self.status.settles else 0

    @property
    def settled_fee_pence(self) -> int:
        return min(self.line.fee_pence, self.settled_pence - 1) if self.settled_pence else 0


def match_lines(lines: Iterable[StatementLine], charges: dict[str, Charge],
                already_settled: set[str]) -> list[MatchedLine]:
    """Each line against our charges, by request id (a line with only the aggregator's message id is unknown:
    we never learn those ids for charges)."""
    matched = []
    for line in lines:
        charge = charges.get(line.request_id)
        if charge is None:
            matched.append(MatchedLine(line, LineStatus.UNKNOWN, None, 0))
            continue
        if not charge.charged:
            status = LineStatus.FAILED_CHARGE
        elif charge.request_id in already_settled:
            status = LineStatus.DUPLICATE
        elif line.gross_pence < charge.amount_pence:
            status = LineStatus.SHORT
        elif line.gross_pence > charge.amount_pence:
            status = LineStatus.OVER
        else:
            status = LineStatus.MATCHED
        matched.append(MatchedLine(line, status, charge.donation_reference,
                                   charge.amount_pence if charge.charged else 0))
    return matched


def settlement_due_by(charged_at: datetime, window_days: int) -> datetime:
    """The aggregator pays a month's charges within `window_days` after that month ends."""
    period = f"{charged_at:%Y-%m}"
    end = period_end(period)
    return datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1 + window_days)


# --- card payouts ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CardTransaction:
    """One balance transaction a card payout paid: a charge, refund or dispute movement, with its fee."""

    id: str
    type: str
    category: str
    amount_pence: int  # negative for refunds and disputes
    fee_pence: int
    payment_intent: str | None
    created_at: datetime


@dataclass(frozen=True)
class CardPayout:
    id: str
    amount_pence: int  # net: what reached the bank
    currency: str
    arrives_at: datetime
    transactions: tuple[CardTransaction, ...]

    def statement(self, transactions: Iterable[CardTransaction]) -> Statement:
        """The payout's transactions (those of one appeal) as a statement; its hash covers every figure."""
        lines = tuple(StatementLine(number, t.id, t.payment_intent or "", t.created_at.isoformat(), t.amount_pence,
                                    t.fee_pence) for number, t in enumerate(transactions, start=1))
        canonical = "\n".join(f"{line.request_id},{line.message_id},{line.gross_pence},{line.fee_pence}"
                              for line in lines)
        return Statement(self.id, "stripe", f"{self.arrives_at:%Y-%m}", lines,
                         hashlib.sha256(f"{self.id}:{self.amount_pence}\n{canonical}".encode()).hexdigest())
