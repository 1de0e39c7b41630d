"""SQL for the appeal desk: dashboard aggregates and streamed exports.

The dashboard reads the rollups that triggers keep (migration 0009) and the ends of indexes, so a page costs
the same few small reads at a thousand donations or a million. Exports stream: on PostgreSQL the server
writes the CSV itself (COPY … TO STDOUT), elsewhere rows come through a server-side cursor and Python writes
them; either way memory does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Generator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Integer, String, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.sql import ColumnElement, Select

from everypenny.adapters.db.repositories import SqlDonationRepository, _appeal_id
from everypenny.adapters.db.schema import (
    appeals,
    consents,
    donation_group_sums,
    donation_minute_counts,
    donations,
    gift_aid_declarations,
    ledger_accounts,
    ledger_transfers,
    online_checkouts,
    sms_charges,
)
from everypenny.domain.appeal import UK_TIME
from everypenny.domain.donation import Donation, DonationStatus
from everypenny.domain.money import pounds_and_pence
from everypenny.domain.text_giving import ChargeStatus
from everypenny.service_layer.desk_ports import (
    EXPORT_CELLS,
    EXPORT_COLUMNS,
    Cell,
    ConsentEntry,
    DonationGroup,
    ExportChunk,
    TimeBucket,
    TransferEntry,
)
from everypenny.service_layer.online_ports import CheckoutStatus

# A card checkout's status in the words the charges export uses for every charge.
CARD_CHARGE_STATUSES = {CheckoutStatus.OPEN.value: ChargeStatus.REQUESTED.value,
                        CheckoutStatus.PAID.value: ChargeStatus.CHARGED.value}


class UnknownExport(ValueError):
    pass


# A gift that paid anything, even if later refunded: the same donors the appeal's donation_count counts.
_GAVE = [status.value for status in (DonationStatus.PAID, DonationStatus.PART_PAID, DonationStatus.REFUNDED)]


class SqlDeskReporting:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._donations = SqlDonationRepository(connection)

    def _appeal(self, slug: str) -> int:
        return _appeal_id(self.connection, slug)

    def donation_groups(self, appeal_slug: str) -> list[DonationGroup]:
        """From the trigger-kept rollups (migration 0009): a few hundred rows, however many donations."""
        g = donation_group_sums.c
        keys = (g.channel, g.status, g.keyword, g.keyword_amount_pence, g.failure_reason)
        rows = self.connection.execute(
            select(*keys, func.sum(g.donation_count), func.sum(g.amount_pence), func.sum(g.paid_pence),
                   func.sum(g.refunded_pence))
            .where(g.appeal_id == self._appeal(appeal_slug)).group_by(*keys)
            .having(func.sum(g.donation_count) != 0))  # groups every donation has since left
        return [DonationGroup(channel, status, keyword or None, amount if keyword else None, reason or None,
                              int(count), int(promised), int(paid), int(refunded))
                for channel, status, keyword, amount, reason, count, promised, paid, refunded in rows]

    def partner_sums(self, appeal_slug: str) -> dict[str, tuple[int, int]]:
        """From the same rollups, which carry each gift's partner since 0019_partners: no scan of donations."""
        g = donation_group_sums.c
        gave = case((g.status.in_(_GAVE), g.donation_count), else_=0)
        rows = self.connection.execute(
            select(g.partner, func.sum(g.paid_pence - g.refunded_pence), func.sum(gave))
            .where(g.appeal_id == self._appeal(appeal_slug), g.partner != "").group_by(g.partner))
        return {partner: (int(net), int(donors)) for partner, net, donors in rows}

    def activity_span(self, appeal_slug: str) -> tuple[datetime, datetime] | None:
        """Two ends of the index on (appeal_id, created_at): two index probes, not a scan."""
        first, last = self.connection.execute(
            select(func.min(donations.c.created_at), func.max(donations.c.created_at))
            .where(donations.c.appeal_id == self._appeal(appeal_slug))).one()
        return None if first is None else (first, last)

    def donations_per_bucket(self, appeal_slug: str, start: datetime, bucket_seconds: int) -> list[TimeBucket]:
        """Whole-minute counts summed into buckets (a whole number of minutes wide, starting on a minute)."""
        m = donation_minute_counts.c
        bucket = ((m.minute * 60 - int(start.timestamp())) // bucket_seconds).label("bucket")
        rows = self.connection.execute(
            select(bucket, func.sum(m.donation_count)).where(m.appeal_id == self._appeal(appeal_slug))
            .group_by(bucket).having(func.sum(m.donation_count) != 0).order_by(bucket))
        return [TimeBucket(start + timedelta(seconds=int(number) * bucket_seconds), int(count))
                for number, count in rows]

    def gift_aid_declared(self, appeal_slug: str) -> tuple[int, int]:
        """(donations with their own Gift Aid declaration, what they paid net of refunds), from the declarations
        joined to their donations by the declarations' unique donation_id."""
        d = donations.c
        count, net = self.connection.execute(
            select(func.count(), func.coalesce(func.sum(d.paid_pence - d.refunded_pence), 0))
            .select_from(gift_aid_declarations).join(donations, d.id == gift_aid_declarations.c.donation_id)
            .where(d.appeal_id == self._appeal(appeal_slug))).one()
        return int(count), int(net)

    def declared_among(self, references: Sequence[str]) -> set[str]:
        rows = self.connection.execute(
            select(donations.c.reference).join(gift_aid_declarations,
                                               gift_aid_declarations.c.donation_id == donations.c.id)
            .where(donations.c.reference.in_(list(references))))
        return set(rows.scalars())

    def latest_donations(self, appeal_slug: str, limit: int) -> list[Donation]:
        query = (self._donations._query().where(donations.c.appeal_id == self._appeal(appeal_slug))
                 .order_by(donations.c.created_at.desc(), donations.c.id.desc()).limit(limit))
        return [self._donations._donation(row) for row in self.connection.execute(query)]

    def find_donations(self, *, reference: str | None = None, phone: str | None = None,
                       phone_suffix: str | None = None, email: str | None = None, email_domain: str | None = None,
                       name_words: tuple[str, ...] = (), made_from: datetime | None = None,
                       made_before: datetime | None = None, limit: int = 50) -> list[Donation]:
        d = donations.c
        conditions = []
        if reference is not None:
            conditions.append(d.reference == reference)
        if phone is not None:
            conditions.append(d.phone == phone)
        if phone_suffix is not None:
            conditions.append(d.phone.like(f"%{phone_suffix}"))
        if email is not None:
            conditions.append(d.email == email)
        if email_domain is not None:
            conditions.append(func.lower(d.email).like(f"%@{email_domain}"))
        if made_from is not None:
            conditions.append(d.created_at >= made_from)
        if made_before is not None:
            conditions.append(d.created_at < made_before)
        if name_words:
            g = gift_aid_declarations.c
            conditions.append(select(g.id).where(g.donation_id == d.id, *(
                or_(func.lower(g.first_name).like(f"{word}%"), func.lower(g.last_name).like(f"{word}%"))
                for word in name_words)).exists())
        if not conditions:
            return []
        query = (self._donations._query().where(and_(*conditions))
                 .order_by(d.created_at.desc(), d.id.desc()).limit(limit))
        return [self._donations._donation(row) for row in self.connection.execute(query)]

    def _transfers(self) -> Select:
        t = ledger_transfers.c
        debit, credit = ledger_accounts.alias("debit"), ledger_accounts.alias("credit")
        # One explicit FROM, so the export can reorder and reformat these columns and keep the joins.
        accounts = (ledger_transfers.join(debit, debit.c.id == t.debit_account_id)
                    .join(credit, credit.c.id == t.credit_account_id))
        return (select(t.id, t.created_at, t.idempotency_key, t.kind, t.phase, debit.c.code, credit.c.code,
                       t.amount_pence, t.currency, t.pending_id, t.reference, t.description).select_from(accounts))

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
        """The export's rows in EXPORT_COLUMNS order, in a total order (so both stores write the same file)."""
        appeal_id = self._appeal(appeal_slug)
        if kind == "donations":
            d, declaration = donations.c, gift_aid_declarations.c
            declared = declaration.id.is_not(None)
            return (select(d.reference, d.created_at, d.channel, d.status, d.keyword, d.amount_pence.label("amount"),
                           d.paid_pence.label("paid"), d.refunded_pence.label("refunded"), d.currency, d.phone,
                           d.email, d.marketing_consent, declared.label("gift_aid_declared"), d.failure_reason,
                           d.amount_pence, d.paid_pence, d.refunded_pence)
                    .select_from(donations.outerjoin(gift_aid_declarations, declaration.donation_id == d.id))
                    .where(d.appeal_id == appeal_id).order_by(d.id))
        if kind == "charges":
            return self._charges(appeal_id)
        if kind == "transfers":
            t = ledger_transfers.c
            transfers = self._transfers().where(t.appeal_id == appeal_id).order_by(t.id)
            columns = list(transfers.selected_columns)
            amount = columns[7]  # in pounds where people read it, in pence at the end for programs
            return transfers.with_only_columns(*columns[:7], amount.label("amount"), *columns[8:], amount,
                                               maintain_column_froms=True)
        if kind == "consents":
            return self._opted_in(appeal_id)
        raise UnknownExport(f"no export is called {kind!r}")

    @staticmethod
    def _charges(appeal_id: int) -> Select:
        """Charges to phone bills and card checkouts, in the order their donations arrived.

        A card checkout is one attempt (sequence 1) for the donation's amount; its states read as a charge's
        do (open is requested, paid is charged), and an ended one was reported when it last changed.
        """
        c, d, o = sms_charges.c, donations.c, online_checkouts.c
        to_phone_bills = (
            select(d.id.label("donation_id"), d.reference, d.channel, literal("phone_bill", String), c.sequence,
                   c.request_id, literal(None, String), c.network, c.amount_pence.label("amount"), c.currency,
                   c.status, c.failure_reason, c.created_at, c.reported_at, c.amount_pence.label("amount_pence"))
            .join(donations, d.id == c.donation_id).where(d.appeal_id == appeal_id))
        ended = o.status != CheckoutStatus.OPEN.value
        by_card = (
            select(d.id, d.reference, d.channel, literal("card", String), literal(1, Integer), o.session_id,
                   o.payment_intent, literal(None, String), d.amount_pence.label("amount"), d.currency,
                   case(CARD_CHARGE_STATUSES, value=o.status, else_=o.status),
                   case((ended, d.failure_reason)), o.created_at, case((ended, o.updated_at)),
                   d.amount_pence.label("amount_pence"))
            .join(donations, d.id == o.donation_id).where(d.appeal_id == appeal_id))
        charges = union_all(to_phone_bills, by_card).subquery("charges")
        donation_id, *columns = charges.c
        return select(*columns).order_by(donation_id, charges.c.sequence)

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
        return self.connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()

    def export_csv(self, kind: str, appeal_slug: str, rows_per_chunk: int) -> Generator[ExportChunk, None, None]:
        query = self._export_query(kind, appeal_slug)
        cells = [EXPORT_CELLS.get(name, Cell.PLAIN) for name in EXPORT_COLUMNS[kind]]
        if self.connection.dialect.name == "postgresql":
            return self._copy_csv(query, cells, rows_per_chunk)
        return self._write_csv(query, cells, rows_per_chunk)

    def _write_csv(self, query: Select, cells: list[Cell],
                   rows_per_chunk: int) -> Generator[ExportChunk, None, None]:
        """Rows through a server-side cursor, each cell written by Python as `cells` says."""
        formats = [(index, PYTHON_CELLS[cell]) for index, cell in enumerate(cells) if cell in PYTHON_CELLS]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        result = self.connection.execution_options(yield_per=rows_per_chunk).execute(query)
        for partition in result.partitions():
            for row in partition:
                values = list(row)
                for index, format_cell in formats:
                    values[index] = format_cell(values[index])
                writer.writerow(values)
            yield ExportChunk(len(partition), buffer.getvalue())
            buffer.seek(0)
            buffer.truncate()

    def _copy_csv(self, query: Select, cells: list[Cell],
                  rows_per_chunk: int) -> Generator[ExportChunk, None, None]:
        """PostgreSQL writes the CSV itself (COPY … TO STDOUT), each cell formatted in SQL as `_sql_cell` says,
        byte for byte what `_write_csv` writes; Python only turns each row's LF into CRLF.

        The server sends one message per row, so a line break inside a quoted cell is never mistaken for
        the end of a row. COPY takes no parameters: the statement is compiled with its values inlined (the
        appeal's id and our own constants, never text from a request).
        """
        formatted = query.with_only_columns(
            *(_sql_cell(cell, column) for cell, column in zip(cells, query.selected_columns, strict=True)),
            maintain_column_froms=True)
        statement = str(formatted.compile(dialect=self.connection.dialect, compile_kwargs={"literal_binds": True}))
        driver = self.connection.connection.driver_connection
        assert driver is not None  # an open connection has its psycopg one
        cursor = driver.cursor()
        with cursor, cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
            rows: list[bytes] = []
            for row in copy:
                rows.append(bytes(row[:-1]))
                if len(rows) == rows_per_chunk:
                    yield ExportChunk(len(rows), _crlf_lines(rows))
                    rows.clear()
            if rows:
                yield ExportChunk(len(rows), _crlf_lines(rows))


def _crlf_lines(rows: list[bytes]) -> str:
    return (b"\r\n".join(rows) + b"\r\n").decode()


# --- how each kind of cell is written: by Python (SQLite) and by SQL (PostgreSQL's COPY), to the same bytes ---

_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_DIGITS = re.compile(r"[+-][0-9]+")


def csv_safe_text(value: str | None) -> str | None:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; phone numbers pass."""
    if value and (value.startswith(_FORMULA_START) or (value[0] in "+-" and not _SIGNED_DIGITS.fullmatch(value))):
        return "'" + value
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UK_TIME).isoformat() if moment is not None else None


def _yes_no(flag: bool | None) -> str | None:
    return None if flag is None else ("yes" if flag else "no")


def _pounds(pence: int | None) -> str | None:
    return None if pence is None else pounds_and_pence(pence)


PYTHON_CELLS: dict[Cell, Callable] = {Cell.TEXT: csv_safe_text, Cell.MOMENT: _iso, Cell.YES_NO: _yes_no,
                                      Cell.POUNDS: _pounds}


def _sql_cell(cell: Cell, column: ColumnElement) -> ColumnElement:
    """The cell's text, computed by PostgreSQL as PYTHON_CELLS computes it. An empty text becomes NULL: COPY
    writes NULL as an empty cell (as Python's csv writes '' and None) but '' as a quoted pair of quotes."""
    if cell is Cell.MOMENT:  # wall-clock time in the zone, then its offset from UTC (the UK's is never negative)
        local = func.timezone(UK_TIME.key, column)
        offset = local - func.timezone("UTC", column)
        fraction = case((func.to_char(local, "US") == "000000", ""), else_=func.to_char(local, ".US"))
        return (func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS').concat(fraction).concat("+")
                .concat(func.to_char(offset, "HH24:MI")))
    if cell is Cell.POUNDS:
        pence = func.abs(column)
        sign = case((column < 0, "-"), else_="")
        return case((column.is_(None), None), else_=sign.concat(cast(pence // 100, String)).concat(".").concat(
            func.lpad(cast(func.mod(pence, 100), String), 2, "0")))
    if cell is Cell.YES_NO:
        return case((column.is_(True), "yes"), (column.is_(False), "no"))
    if not isinstance(column.type, String):
        return column
    text = func.nullif(column, "")
    if cell is Cell.TEXT:
        formula = or_(column.regexp_match("^[=@\t\r]"),
                      and_(column.regexp_match("^[+-]"), ~column.regexp_match("^[+-][0-9]+$")))
        return case((formula, literal("'", String).concat(column)), else_=text)
    return text
