"""SQL for the appeal desk: dashboard aggregates and streamed exports.

Every dashboard question is one aggregate that the indexes of migration 0004 answer without reading the
tables' rows, so the page costs the same few scans at a thousand donations or a million. Exports stream
through a server-side cursor (yield_per), so memory does not grow with the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Integer, Interval, and_, case, cast, func, literal, select
from sqlalchemy.sql import Select

from everypenny.adapters.db.repositories import SqlDonationRepository, _appeal_id
from everypenny.adapters.db.schema import appeals, consents, donations, ledger_accounts, ledger_transfers
from everypenny.domain.donation import Donation
from everypenny.service_layer.desk_ports import (
    ConsentEntry,
    DonationGroup,
    TimeBucket,
    TransferEntry,
)

EXPORT_BATCH_ROWS = 2000


class UnknownExport(ValueError):
    pass


class SqlDeskReporting:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._donations = SqlDonationRepository(connection)

    def _appeal(self, slug: str) -> int:
        return _appeal_id(self.connection, slug)

    def donation_groups(self, appeal_slug: str) -> list[DonationGroup]:
        d = donations.c
        keyword_amount = case((d.keyword.is_not(None), d.amount_pence), else_=None)
        keys = (d.channel, d.status, d.keyword, keyword_amount, d.failure_reason)
        rows = self.connection.execute(
            select(*keys, func.count(), func.sum(d.amount_pence), func.sum(d.paid_pence), func.sum(d.refunded_pence))
            .where(d.appeal_id == self._appeal(appeal_slug)).group_by(*keys))
        return [DonationGroup(channel, status, keyword, amount, reason, count, int(promised), int(paid),
                              int(refunded))
                for channel, status, keyword, amount, reason, count, promised, paid, refunded in rows]

    def activity_span(self, appeal_slug: str) -> tuple[datetime, datetime] | None:
        first, last = self.connection.execute(
            select(func.min(donations.c.created_at), func.max(donations.c.created_at))
            .where(donations.c.appeal_id == self._appeal(appeal_slug))).one()
        return None if first is None else (first, last)

    def donations_per_bucket(self, appeal_slug: str, start: datetime, bucket_seconds: int) -> list[TimeBucket]:
        created = donations.c.created_at
        if self.connection.dialect.name == "postgresql":
            # date_bin keeps to timestamps; EXTRACT(epoch) would do numeric arithmetic on every row.
            width = literal(timedelta(seconds=bucket_seconds), Interval)
            bucket = func.date_bin(width, created, literal(start, created.type), type_=created.type).label("bucket")
        else:
            offset = cast(func.strftime("%s", created), Integer) - int(start.timestamp())
            bucket = func.floor(offset / bucket_seconds).label("bucket")
        rows = self.connection.execute(
            select(bucket, func.count()).where(donations.c.appeal_id == self._appeal(appeal_slug))
            .group_by(bucket).order_by(bucket))
        return [TimeBucket(moment if isinstance(moment, datetime)
                           else start + timedelta(seconds=int(moment) * bucket_seconds), count)
                for moment, count in rows]

    def latest_donations(self, appeal_slug: str, limit: int) -> list[Donation]:
        query = (self._donations._query().where(donations.c.appeal_id == self._appeal(appeal_slug))
                 .order_by(donations.c.created_at.desc(), donations.c.id.desc()).limit(limit))
        return [self._donations._donation(row) for row in self.connection.execute(query)]

    def find_donations(self, *, reference: str | None = None, phone: str | None = None,
                       phone_suffix: str | None = None, email: str | None = None,
                       limit: int = 50) -> list[Donation]:
        conditions = []
        if reference is not None:
            conditions.append(donations.c.reference == reference)
        if phone is not None:
            conditions.append(donations.c.phone == phone)
        if phone_suffix is not None:
            conditions.append(donations.c.phone.like(f"%{phone_suffix}"))
        if email is not None:
            conditions.append(donations.c.email == email)
        if not conditions:
            return []
        query = self._donations._query().where(and_(*conditions)).order_by(donations.c.id.desc()).limit(limit)
        return [self._donations._donation(row) for row in self.connection.execute(query)]

    def _transfers(self) -> Select:
        t = ledger_transfers.c
        debit, credit = ledger_accounts.alias("debit"), ledger_accounts.alias("credit")
        return (select(t.id, t.created_at, t.idempotency_key, t.kind, t.phase, debit.c.code, credit.c.code,
                       t.amount_pence, t.currency, t.pending_id, t.reference, t.description)
                .join(debit, debit.c.id == t.debit_account_id).join(credit, credit.c.id == t.credit_account_id))

    def transfers_for(self, reference: str) -> list[TransferEntry]:
        rows = self.connection.execute(
            self._transfers().where(ledger_transfers.c.reference == reference).order_by(ledger_transfers.c.id))
        return [TransferEntry(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
                              row[11]) for row in rows]

    def consents_for(self, contacts: Sequence[str]) -> list[ConsentEntry]:
        rows = self.connection.execute(
            select(consents, appeals.c.slug).outerjoin(appeals, appeals.c.id == consents.c.appeal_id)
            .where(consents.c.contact.in_(list(contacts))).order_by(consents.c.id))
        return [ConsentEntry(r.recorded_at, r.contact, r.medium, r.granted, r.source, r.slug) for r in rows]

    def _export_query(self, kind: str, appeal_slug: str) -> Select:
        appeal_id = self._appeal(appeal_slug)
        if kind == "donations":
            d = donations.c
            return (select(d.reference, d.created_at, d.channel, d.status, d.keyword, d.amount_pence, d.paid_pence,
                           d.refunded_pence, d.currency, d.phone, d.email, d.marketing_consent, d.failure_reason)
                    .where(d.appeal_id == appeal_id).order_by(d.id))
        if kind == "transfers":
            return self._transfers().where(ledger_transfers.c.appeal_id == appeal_id).order_by(ledger_transfers.c.id)
        if kind == "consents":
            return self._opted_in(appeal_id)
        raise UnknownExport(f"no export is called {kind!r}")

    @staticmethod
    def _opted_in(appeal_id: int) -> Select:
        """Each contact's latest opt-in through this appeal, unless any refusal (STOP) came after it."""
        grant = consents.alias("grant")
        later = consents.alias("later")
        newer_grant = consents.alias("newer_grant")
        same_contact = lambda other: and_(other.c.contact == grant.c.contact,  # noqa: E731
                                          other.c.medium == grant.c.medium, other.c.id > grant.c.id)
        return (select(grant.c.contact, grant.c.medium, grant.c.recorded_at, grant.c.source)
                .where(grant.c.appeal_id == appeal_id, grant.c.granted,
                       ~select(later.c.id).where(same_contact(later), ~later.c.granted).exists(),
                       ~select(newer_grant.c.id).where(same_contact(newer_grant), newer_grant.c.granted,
                                                       newer_grant.c.appeal_id == appeal_id).exists())
                .order_by(grant.c.contact, grant.c.medium))

    def export_size(self, kind: str, appeal_slug: str) -> int:
        query = self._export_query(kind, appeal_slug).order_by(None)
        return self.connection.scalar(select(func.count()).select_from(query.subquery()))

    def export_rows(self, kind: str, appeal_slug: str) -> Iterator[tuple]:
        result = self.connection.execution_options(yield_per=EXPORT_BATCH_ROWS).execute(
            self._export_query(kind, appeal_slug))
        for partition in result.partitions():
            yield from partition
