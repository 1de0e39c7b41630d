"""SQL storage for text giving: charges to phone bills and the messages we send donors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from everypenny.adapters.db.repositories import _donation_id, now
from everypenny.adapters.db.schema import appeals, donations, sms_charges, sms_outbound
from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus, MessageStatus, OutboundText, SmsCharge


class SqlTextGivingStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_charge(self, charge: SmsCharge) -> None:
        self.connection.execute(sms_charges.insert().values(
            request_id=charge.request_id, donation_id=_donation_id(self.connection, charge.donation_reference),
            sequence=charge.sequence, amount_pence=charge.amount_pence, currency=charge.currency,
            network=charge.network, status=charge.status.value, failure_reason=charge.failure_reason,
            contradicting_report=charge.contradicting_report, created_at=now()))

    def _charge_query(self):
        return select(sms_charges, donations.c.reference).join(donations, donations.c.id == sms_charges.c.donation_id)

    @staticmethod
    def _charge(row) -> SmsCharge:
        return SmsCharge(
            request_id=row.request_id, donation_reference=row.reference, sequence=row.sequence,
            amount_pence=row.amount_pence, currency=row.currency, network=row.network,
            status=ChargeStatus(row.status), failure_reason=row.failure_reason,
            contradicting_report=row.contradicting_report)

    def charge(self, request_id: str) -> SmsCharge | None:
        row = self.connection.execute(self._charge_query().where(sms_charges.c.request_id == request_id)).first()
        return self._charge(row) if row else None

    def save_charge(self, charge: SmsCharge) -> None:
        self.connection.execute(sms_charges.update().where(sms_charges.c.request_id == charge.request_id).values(
            status=charge.status.value, failure_reason=charge.failure_reason,
            contradicting_report=charge.contradicting_report, reported_at=now()))

    def charges_for(self, donation_reference: str) -> list[SmsCharge]:
        rows = self.connection.execute(self._charge_query().where(donations.c.reference == donation_reference)
                                       .order_by(sms_charges.c.sequence))
        return [self._charge(row) for row in rows]

    def add_message(self, message: OutboundText) -> None:
        moment = now()
        reference = message.donation_reference
        self.connection.execute(sms_outbound.insert().values(
            request_id=message.request_id, provider=message.provider, to_number=message.to,
            sender=message.sender, body=message.body, purpose=message.purpose, in_reply_to=message.in_reply_to,
            donation_id=_donation_id(self.connection, reference) if reference else None, status=message.status.value,
            status_detail=message.status_detail, created_at=moment, updated_at=moment))

    def _message_query(self):
        return select(sms_outbound, donations.c.reference).outerjoin(
            donations, donations.c.id == sms_outbound.c.donation_id)

    @staticmethod
    def _message(row) -> OutboundText:
        return OutboundText(
            request_id=row.request_id, provider=row.provider, to=row.to_number, sender=row.sender, body=row.body,
            purpose=row.purpose, in_reply_to=row.in_reply_to, donation_reference=row.reference,
            status=MessageStatus(row.status), status_detail=row.status_detail)

    def message(self, request_id: str) -> OutboundText | None:
        row = self.connection.execute(self._message_query().where(sms_outbound.c.request_id == request_id)).first()
        return self._message(row) if row else None

    def set_message_status(self, request_id: str, status: MessageStatus, detail: str | None,
                           only_if: MessageStatus | None = None) -> bool:
        """`only_if` keeps a late 'sent' from overwriting a delivery report that beat it. False when no such
        message (in that status) is stored."""
        values: dict[str, Any] = {"status": status.value, "status_detail": detail, "updated_at": now()}
        statement = sms_outbound.update().where(sms_outbound.c.request_id == request_id)
        if only_if is not None:
            statement = statement.where(sms_outbound.c.status == only_if.value)
        return self.connection.execute(statement.values(values)).rowcount == 1

    def replies_to(self, inbound_id: str) -> list[OutboundText]:
        rows = self.connection.execute(self._message_query().where(sms_outbound.c.in_reply_to == inbound_id)
                                       .order_by(sms_outbound.c.id))
        return [self._message(row) for row in rows]

    def given_today(self, appeal_slug: str, phone: str, since: datetime) -> int:
        """Pence this number gave by text since `since`: pending donations at their full amount, others as paid.

        On PostgreSQL it first takes a transaction lock on the number, so two texts from one phone handled
        side by side cannot both pass the daily cap (SQLite's write lock already serialises them).
        """
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(phone, 0))))
        counted = case((donations.c.status == DonationStatus.PENDING.value, donations.c.amount_pence),
                       else_=donations.c.paid_pence)
        total = self.connection.scalar(
            select(func.coalesce(func.sum(counted), 0)).select_from(donations)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(appeals.c.slug == appeal_slug, donations.c.phone == phone, donations.c.created_at >= since,
                   donations.c.channel == "carrier_sms"))
        return int(total)
