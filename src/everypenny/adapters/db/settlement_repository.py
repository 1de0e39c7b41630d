"""SQL for settlement statements, their lines, and the charges they are matched against."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from everypenny.adapters.db.repositories import _appeal_id, _insert_or_duplicate, now
from everypenny.adapters.db.schema import (
    appeals,
    donations,
    settlement_lines,
    settlement_statements,
    sms_charges,
)
from everypenny.domain.settlement import Charge, LineStatus, MatchedLine, Statement
from everypenny.service_layer.settlement_ports import StoredLine, StoredStatement


class SqlSettlementStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def statement(self, appeal_slug: str, source: str, reference: str) -> StoredStatement | None:
        row = self.connection.execute(
            select(settlement_statements).join(appeals, appeals.c.id == settlement_statements.c.appeal_id)
            .where(appeals.c.slug == appeal_slug, settlement_statements.c.source == source,
                   settlement_statements.c.reference == reference)).one_or_none()
        return None if row is None else _stored_statement(row)

    def add_statement(self, appeal_slug: str, source: str, statement: Statement, lines: list[MatchedLine]) -> None:
        """Stores a statement with its matched lines; DuplicateKey if another import stored it first."""
        statement_id = _insert_or_duplicate(self.connection, insert(settlement_statements).values(
            appeal_id=_appeal_id(self.connection, appeal_slug), source=source, reference=statement.reference,
            network=statement.network, period=statement.period, sha256=statement.sha256,
            gross_pence=statement.gross_pence, fee_pence=statement.fee_pence,
            settled_pence=sum(line.settled_pence for line in lines), imported_at=now())).inserted_primary_key[0]
        self.connection.execute(insert(settlement_lines), [
            {"statement_id": statement_id, "line": m.line.line, "external_id": m.line.request_id or m.line.message_id,
             "message_id": m.line.message_id, "donation_reference": m.donation_reference, "status": m.status.value,
             "gross_pence": m.line.gross_pence, "fee_pence": m.line.fee_pence, "charged_pence": m.charged_pence,
             "settled_pence": m.settled_pence} for m in lines])

    def statements(self, appeal_slug: str) -> list[StoredStatement]:
        rows = self.connection.execute(
            select(settlement_statements).join(appeals, appeals.c.id == settlement_statements.c.appeal_id)
            .where(appeals.c.slug == appeal_slug).order_by(settlement_statements.c.id))
        return [_stored_statement(row) for row in rows]

    def lines(self, appeal_slug: str) -> list[StoredLine]:
        rows = self.connection.execute(
            select(settlement_lines, settlement_statements.c.reference.label("statement_reference"),
                   settlement_statements.c.source)
            .join(settlement_statements, settlement_statements.c.id == settlement_lines.c.statement_id)
            .join(appeals, appeals.c.id == settlement_statements.c.appeal_id)
            .where(appeals.c.slug == appeal_slug).order_by(settlement_lines.c.id))
        return [StoredLine(row.source, row.statement_reference, row.line, row.external_id, row.message_id,
                           row.donation_reference, LineStatus(row.status), row.gross_pence, row.fee_pence,
                           row.charged_pence, row.settled_pence) for row in rows]

    def sms_charges(self, appeal_slug: str) -> list[Charge]:
        """The appeal's text charges the network has answered (charged or failed)."""
        rows = self.connection.execute(
            select(sms_charges.c.request_id, donations.c.reference, sms_charges.c.amount_pence,
                   sms_charges.c.network, sms_charges.c.status, sms_charges.c.reported_at)
            .join(donations, donations.c.id == sms_charges.c.donation_id)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(appeals.c.slug == appeal_slug, sms_charges.c.status.in_(["charged", "failed"]))
            .order_by(sms_charges.c.id))
        return [Charge(row.request_id, row.reference, row.amount_pence, row.network, row.status == "charged",
                       row.reported_at) for row in rows]


    def unconfirmed_charges(self, appeal_slug: str, network: str, period: str) -> list[str]:
        """Request ids of the appeal's unconfirmed charges on `network` requested in `period` (YYYY-MM, UTC)."""
        rows = self.connection.execute(
            select(sms_charges.c.request_id, sms_charges.c.created_at)
            .join(donations, donations.c.id == sms_charges.c.donation_id)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(appeals.c.slug == appeal_slug, sms_charges.c.status == "unconfirmed",
                   func.upper(sms_charges.c.network) == network.upper())
            .order_by(sms_charges.c.id))
        return [row.request_id for row in rows if f"{row.created_at:%Y-%m}" == period]


def _stored_statement(row) -> StoredStatement:
    return StoredStatement(row.source, row.reference, row.network, row.period, row.sha256, row.gross_pence,
                           row.fee_pence, row.settled_pence, row.imported_at)
