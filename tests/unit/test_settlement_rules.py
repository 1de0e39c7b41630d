"""How statement lines match our charges, and when an unpaid charge becomes overdue."""

from __future__ import annotations

from datetime import UTC, datetime

from everypenny.domain.settlement import (
    Charge,
    LineStatus,
    StatementLine,
    match_lines,
    parse_statement,
    settlement_due_by,
    statement_csv,
)

CHARGED = datetime(2026, 11, 3, tzinfo=UTC)


def charge(request_id: str, pence: int = 500, charged: bool = True) -> Charge:
    return Charge(request_id, f"EP-{request_id}", pence, "EE", charged, CHARGED)


def line(number: int, request_id: str, gross: int, fee: int = 0) -> StatementLine:
    return StatementLine(number, request_id, "", "", gross, fee)


def test_each_line_is_matched_short_over_unknown_failed_or_paid_twice():
    charges = {c.request_id: c for c in [charge("a"), charge("b"), charge("c"), charge("d", charged=False),
                                         charge("e")]}
    matched = match_lines([line(1, "a", 500, 10), line(2, "b", 300), line(3, "c", 700), line(4, "d", 500),
                           line(5, "zz", 500), line(6, "e", 500)], charges, already_settled={"e"})

    assert [(m.status, m.settled_pence) for m in matched] == [
        (LineStatus.MATCHED, 500), (LineStatus.SHORT, 300), (LineStatus.OVER, 500),
        (LineStatus.FAILED_CHARGE, 0), (LineStatus.UNKNOWN, 0), (LineStatus.DUPLICATE, 0)]
    assert matched[0].settled_fee_pence == 10


def test_a_statement_written_by_the_simulator_reads_back_the_same():
    written = statement_csv("EE-2026-11", "EE", "2026-11", [line(1, "a", 500, 10), line(2, "b", 1000)])

    statement = parse_statement(written.encode())

    assert (statement.reference, statement.network, statement.period) == ("EE-2026-11", "EE", "2026-11")
    assert (statement.gross_pence, statement.fee_pence) == (1500, 10)
    assert "EE-2026-11,EE,2026-11,1,a,,,5.00,0.10,4.90" in written


def test_a_months_charges_are_due_the_window_after_the_month_ends():
    assert settlement_due_by(CHARGED, 99) == datetime(2027, 3, 10, tzinfo=UTC)
    assert settlement_due_by(datetime(2026, 2, 28, 23, 59, tzinfo=UTC), 45) == datetime(2026, 4, 15, tzinfo=UTC)
