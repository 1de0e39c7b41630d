"""SQL storage for text giving: charges to phone bills and the messages we send donors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select, text

from everypenny.adapters.db.repositories import _donation_id, insert_many, now, one_of, update_many
from everypenny.adapters.db.schema import appeals, donations, sms_charges, sms_outbound
from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus, Given, MessageStatus, OutboundText, SmsCharge

# PostgreSQL evaluates a volatile function in the select list after ORDER BY: the locks come in array order.
_LOCK_PHONES = text("SELECT pg_advisory_xact_lock(hashtextextended(phone, 0)) "
                    "FROM unnest(CAST(:phones AS text[])) WITH ORDINALITY AS phones(phone, position) ORDER BY position")


class SqlTextGivingStore:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_charges(self, charges: Sequence[SmsCharge]) -> None:
        if charges:
            moment = now()
            insert_many(self.connection, sms_charges, [dict(
                request_id=charge.request_id, donation_id=_donation_id(self.connection, charge.donation_reference),
                sequence=charge.sequence, amount_pence=charge.amount_pence, currency=charge.currency,
                network=charge.network, status=charge.status.value, failure_reason=charge.failure_reason,
                contradicting_report=charge.contradicting_report, txguid=charge.txguid,
                refused_on_request=charge.refused_on_request, created_at=moment)
                for charge in charges])

    def _charge_query(self):
        return select(sms_charges, donations.c.reference).join(donations, donations.c.id == sms_charges.c.donation_id)

    @staticmethod
    def _charge(row) -> SmsCharge:
        return SmsCharge(
            request_id=row.request_id, donation_reference=row.reference, sequence=row.sequence,
            amount_pence=row.amount_pence, currency=row.currency, network=row.network,
            status=ChargeStatus(row.status), failure_reason=row.failure_reason,
            contradicting_report=row.contradicting_report, txguid=row.txguid, refund_status=row.refund_status,
            refused_on_request=row.refused_on_request, contradiction_resolved=row.contradiction_resolved)

    def charges(self, request_ids: Sequence[str]) -> dict[str, SmsCharge]:
        rows = self.connection.execute(
            self._charge_query().where(one_of(self.connection, sms_charges.c.request_id, request_ids)))
        return {row.request_id: self._charge(row) for row in rows}

    def save_charges(self, charges: Sequence[SmsCharge]) -> None:
        moment = now()
        update_many(self.connection, sms_charges, "request_id", [dict(
            request_id=charge.request_id, status=charge.status.value, failure_reason=charge.failure_reason,
            contradicting_report=charge.contradicting_report, refused_on_request=charge.refused_on_request,
            reported_at=moment if charge.final else None)
            for charge in charges])

    def set_charge_txguids(self, txguids: dict[str, str]) -> None:
        """Only where none is stored yet, and nothing else: a report saved meanwhile must not be overwritten."""
        update_many(self.connection, sms_charges, "request_id",
                    [{"request_id": ref, "txguid": guid} for ref, guid in txguids.items()],
                    sms_charges.c.txguid.is_(None))

    def set_refund_statuses(self, statuses: dict[str, str]) -> None:
        update_many(self.connection, sms_charges, "request_id",
                    [{"request_id": ref, "refund_status": status} for ref, status in statuses.items()])

    def unconfirm_charges(self, requested_before: datetime, limit: int) -> int:
        """Charges still waiting for their report, asked for before `requested_before`, become unconfirmed; one
        whose report lands meanwhile is left alone."""
        oldest = select(sms_charges.c.id).where(
            sms_charges.c.status == ChargeStatus.REQUESTED.value, sms_charges.c.created_at < requested_before
        ).order_by(sms_charges.c.id).limit(limit)
        ids = list(self.connection.scalars(oldest))
        if not ids:
            return 0
        return self.connection.execute(sms_charges.update().where(
            one_of(self.connection, sms_charges.c.id, ids), sms_charges.c.status == ChargeStatus.REQUESTED.value)
            .values(status=ChargeStatus.UNCONFIRMED.value)).rowcount

    def contradicted_charges(self, appeal_slug: str) -> list[SmsCharge]:
        """Charges of the appeal whose reports contradict each other and that finance has not resolved."""
        rows = self.connection.execute(self._charge_query().join(appeals, appeals.c.id == donations.c.appeal_id).where(
            appeals.c.slug == appeal_slug, sms_charges.c.contradicting_report.is_not(None),
            sms_charges.c.contradiction_resolved.is_(None)).order_by(sms_charges.c.id))
        return [self._charge(row) for row in rows]

    def resolve_contradiction(self, request_id: str, resolution: str) -> bool:
        """False when the charge has no contradiction, or it was resolved already (by someone else meanwhile)."""
        return self.connection.execute(sms_charges.update().where(
            sms_charges.c.request_id == request_id, sms_charges.c.contradicting_report.is_not(None),
            sms_charges.c.contradiction_resolved.is_(None)).values(contradiction_resolved=resolution)).rowcount == 1

    def charges_for(self, donation_reference: str) -> list[SmsCharge]:
        rows = self.connection.execute(self._charge_query().where(donations.c.reference == donation_reference)
                                       .order_by(sms_charges.c.sequence))
        return [self._charge(row) for row in rows]

    def add_messages(self, messages: Sequence[OutboundText]) -> None:
        if not messages:
            return
        moment = now()
        insert_many(self.connection, sms_outbound, [dict(
            request_id=message.request_id, provider=message.provider, to_number=message.to,
            sender=message.sender, body=message.body, purpose=message.purpose, in_reply_to=message.in_reply_to,
            donation_id=_donation_id(self.connection, message.donation_reference)
            if message.donation_reference else None, status=message.status.value,
            status_detail=message.status_detail, txguid=message.txguid, created_at=moment, updated_at=moment)
            for message in messages])

    def _message_query(self):
        return select(sms_outbound, donations.c.reference).outerjoin(
            donations, donations.c.id == sms_outbound.c.donation_id)

    @staticmethod
    def _message(row) -> OutboundText:
        return OutboundText(
            request_id=row.request_id, provider=row.provider, to=row.to_number, sender=row.sender, body=row.body,
            purpose=row.purpose, in_reply_to=row.in_reply_to, donation_reference=row.reference,
            status=MessageStatus(row.status), status_detail=row.status_detail, txguid=row.txguid)

    def messages(self, request_ids: Sequence[str]) -> dict[str, OutboundText]:
        rows = self.connection.execute(
            self._message_query().where(one_of(self.connection, sms_outbound.c.request_id, request_ids)))
        return {row.request_id: self._message(row) for row in rows}

    def set_message_statuses(self, request_ids: Sequence[str], status: MessageStatus, detail: str | None,
                             only_if: MessageStatus | None = None) -> set[str]:
        """`only_if` keeps a late 'sent' from overwriting a delivery report that beat it. Returns the messages
        it changed: one missing was not stored (or not in that status)."""
        values: dict[str, Any] = {"status": status.value, "status_detail": detail, "updated_at": now()}
        statement = sms_outbound.update().where(one_of(self.connection, sms_outbound.c.request_id, request_ids))
        if only_if is not None:
            statement = statement.where(sms_outbound.c.status == only_if.value)
        return set(self.connection.scalars(statement.values(values).returning(sms_outbound.c.request_id)))

    def set_message_txguids(self, txguids: dict[str, str]) -> None:
        update_many(self.connection, sms_outbound, "request_id",
                    [{"request_id": ref, "txguid": guid} for ref, guid in txguids.items()])

    def set_statuses_by_txguid(self, txguids: Sequence[str], status: MessageStatus, detail: str | None) -> set[str]:
        """Applies delivery reports, which name a message by the aggregator's id; returns the ids it found."""
        statement = sms_outbound.update().where(one_of(self.connection, sms_outbound.c.txguid, txguids)).values(
            status=status.value, status_detail=detail, updated_at=now())
        return set(self.connection.scalars(statement.returning(sms_outbound.c.txguid)))

    def replies_to(self, inbound_id: str) -> list[OutboundText]:
        rows = self.connection.execute(self._message_query().where(sms_outbound.c.in_reply_to == inbound_id)
                                       .order_by(sms_outbound.c.id))
        return [self._message(row) for row in rows]

    def given_many(self, appeal_slug: str, phones: Sequence[str], day_start: datetime,
                   month_start: datetime) -> dict[str, Given]:
        """Pence each number gave by text to this appeal since `day_start`, and to every appeal since
        `month_start` (one query on the phone's index): pending donations at their full amount, others as paid.

        On PostgreSQL it first takes a transaction lock on each number, in one order for every caller (so two
        batches cannot deadlock), so two texts from one phone handled side by side cannot both pass the daily
        cap (SQLite's write lock already serialises them).
        """
        phones = sorted(set(phones))
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(_LOCK_PHONES, {"phones": phones})
        counted = case((donations.c.status == DonationStatus.PENDING.value, donations.c.amount_pence),
                       else_=donations.c.paid_pence)
        today = case((and_(appeals.c.slug == appeal_slug, donations.c.created_at >= day_start), counted), else_=0)
        rows = self.connection.execute(
            select(donations.c.phone, func.sum(today), func.sum(counted)).select_from(donations)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(one_of(self.connection, donations.c.phone, phones), donations.c.created_at >= month_start,
                   donations.c.channel == "carrier_sms").group_by(donations.c.phone))
        return dict.fromkeys(phones, Given()) | {phone: Given(int(day), int(month)) for phone, day, month in rows}
