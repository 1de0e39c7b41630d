"""SQL for money out and proof: payouts, posted transfers by kind, and the donor-erasure log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from everypenny.adapters.db.chain import _sealed_transfer
from everypenny.adapters.db.personal_data import Treatment, in_erasure_order
from everypenny.adapters.db.repositories import (
    POSTED_PHASES,
    TRANSFERS_WITH_CODES,
    _appeal_id,
    now,
)
from everypenny.adapters.db.schema import (
    appeals,
    donations,
    donor_erasures,
    erasure_schedule,
    ledger_transfers,
    payouts,
)
from everypenny.domain.appeal import Channel
from everypenny.domain.chain import SealedTransfer
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, is_pseudonym, mentions, scrub
from everypenny.domain.ledger import TransferKind
from everypenny.domain.payouts import Fund, Payout
from everypenny.service_layer.ports import DuplicateKey

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _decoded(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _scrubbed_text(text: str, replacements: dict[str, str]) -> str:
    decoded = _decoded(text)
    if decoded is text:  # prose, not JSON
        return scrub(text, replacements)
    return json.dumps(scrub(decoded, replacements), sort_keys=True)


def _may_mention(column, contact: Contact):
    """A cheap SQL filter for rows that may mention the contact: each spelling's ASCII runs, in any case.

    Stored JSON escapes non-ASCII letters (josé@… is stored as jos\\u00e9@…, JOSÉ@… as JOS\\u00c9@…), and SQL
    cannot fold the case of an escape, so the SQL looks for the runs around them (`jos`, `@example.org`) and
    Python decides on the decoded text (erasure.mentions)."""
    lowered = func.lower(column)
    return or_(*(and_(*(lowered.contains(run, autoescape=True) for run in _NON_ASCII.split(spelling.lower()) if run))
                 for spelling in contact.spellings()))


class SqlProofRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def count_transfers(self, appeal_slug: str, kind: TransferKind) -> int:
        return self.connection.execute(
            select(func.count()).select_from(ledger_transfers)
            .where(ledger_transfers.c.appeal_id == _appeal_id(self.connection, appeal_slug),
                   ledger_transfers.c.kind == kind.value)).scalar_one()

    def posted_transfers(self, appeal_slug: str, kinds: Iterable[TransferKind],
                         reference: str | None = None) -> list[SealedTransfer]:
        """The appeal's posted transfers of these kinds (optionally for one reference), in id order."""
        query = TRANSFERS_WITH_CODES.where(
            appeals.c.slug == appeal_slug, ledger_transfers.c.phase.in_(POSTED_PHASES),
            ledger_transfers.c.kind.in_([kind.value for kind in kinds]))
        if reference is not None:
            query = query.where(ledger_transfers.c.reference == reference)
        return [_sealed_transfer(row) for row in self.connection.execute(query.order_by(ledger_transfers.c.id))]

    def donation_dates(self, appeal_slug: str) -> dict[str, datetime]:
        """When each donation of the appeal was made (its row's date, not its charge's)."""
        rows = self.connection.execute(select(donations.c.reference, donations.c.created_at).where(
            donations.c.appeal_id == _appeal_id(self.connection, appeal_slug)))
        return {reference: created_at for reference, created_at in rows}

    def add_payout(self, appeal_slug: str, payout: Payout) -> None:
        try:
            with self.connection.begin_nested():
                self.connection.execute(payouts.insert().values(
                    appeal_id=_appeal_id(self.connection, appeal_slug), reference=payout.reference,
                    fund=payout.fund.value, amount_pence=payout.amount_pence, transfer_id=payout.transfer_id,
                    recorded_at=payout.recorded_at))
        except IntegrityError as error:
            raise DuplicateKey(str(error.orig)) from error

    def payouts(self, appeal_slug: str) -> list[Payout]:
        rows = self.connection.execute(
            select(payouts).where(payouts.c.appeal_id == _appeal_id(self.connection, appeal_slug))
            .order_by(payouts.c.id))
        return [Payout(r.reference, Fund(r.fund), r.amount_pence, r.recorded_at, r.transfer_id) for r in rows]

    def contacts_on_donations(self, contact: Contact) -> set[Contact]:
        """Every contact stored on the donations that carry this one (a donor's phone and email together)."""
        column = donations.c.phone if contact.medium is Medium.SMS else donations.c.email
        rows = self.connection.execute(
            select(donations.c.phone, donations.c.email).where(column == contact.value))
        found = {contact}
        for phone, email in rows:
            found |= {Contact(Medium.SMS, phone)} if phone and not is_pseudonym(phone) else set()
            found |= {Contact(Medium.EMAIL, email)} if email and not is_pseudonym(email) else set()
        return found

    def pseudonymise(self, contact: Contact, replacement: str,
                     kept: frozenset[str] = frozenset()) -> tuple[set[int], int]:
        """Replaces the contact wherever personal_data.PERSONAL_DATA says it may be stored, except where one of
        the `kept` retention periods keeps it.

        Returns the ids of the donations changed and how many other records were.
        """
        spellings = contact.spellings()
        replacements = dict.fromkeys(spellings, replacement)
        value = contact.value.lower()
        donation_ids: set[int] = set()
        records: set[tuple[str, int]] = set()
        for entry in in_erasure_order():
            if kept.intersection(entry.kept_by):
                continue
            column, table = entry.column, entry.column.table
            if entry.treatment is Treatment.CONTACT:
                where = func.lower(column) == value
            elif entry.treatment is Treatment.MENTIONS:
                where = _may_mention(column, contact)
            else:
                where = or_(*(func.lower(owner) == value for owner in entry.owners))
            for row_id, stored in self.connection.execute(select(table.c.id, column).where(where)).all():
                if entry.treatment is Treatment.MENTIONS and not mentions(_decoded(stored), spellings):
                    continue
                erased = {Treatment.CONTACT: replacement, Treatment.OWNED_FIELD: ""}.get(entry.treatment)
                erased = _scrubbed_text(stored, replacements) if erased is None and stored else erased
                if erased == stored:
                    continue
                changes: dict[str, object] = {column.name: erased}
                if table is donations:
                    changes["updated_at"] = now()
                    donation_ids.add(row_id)
                else:
                    records.add((table.name, row_id))
                self.connection.execute(update(table).where(table.c.id == row_id).values(changes))
        return donation_ids, len(records)

    def erased_at(self, pseudonym: str) -> list[datetime]:
        return list(self.connection.scalars(select(donor_erasures.c.erased_at)
                                            .where(donor_erasures.c.pseudonym == pseudonym)
                                            .order_by(donor_erasures.c.id)))

    def record_erasure(self, pseudonym: str, medium: str, donations: int, records: int) -> None:
        self.connection.execute(donor_erasures.insert().values(
            pseudonym=pseudonym, medium=medium, donations=donations, records=records, erased_at=now()))

    def last_phone_paid(self, contact: Contact) -> datetime | None:
        """When the contact's newest gift charged to a phone bill was made."""
        return self.connection.scalar(select(func.max(donations.c.created_at)).where(
            donations.c.phone == contact.value, donations.c.channel == Channel.CARRIER_SMS.value))

    def schedule_erasure(self, contact: Contact, rule: str, erase_on: date) -> None:
        where = (erasure_schedule.c.contact == contact.value, erasure_schedule.c.medium == contact.medium.value,
                 erasure_schedule.c.rule == rule)
        self.connection.execute(delete(erasure_schedule).where(*where))
        self.connection.execute(erasure_schedule.insert().values(
            contact=contact.value, medium=contact.medium.value, rule=rule, erase_on=erase_on, requested_at=now()))

    def scheduled_erasures(self, contact: Contact | None = None) -> list[tuple[Contact, str, date]]:
        """Erasures waiting for their day: one contact's, or everyone's, soonest first."""
        query = select(erasure_schedule).order_by(erasure_schedule.c.erase_on, erasure_schedule.c.id)
        if contact is not None:
            query = query.where(erasure_schedule.c.contact == contact.value,
                                erasure_schedule.c.medium == contact.medium.value)
        return [(Contact(Medium(row.medium), row.contact), row.rule, row.erase_on)
                for row in self.connection.execute(query)]

    def unschedule_erasure(self, contact: Contact, rule: str) -> None:
        self.connection.execute(delete(erasure_schedule).where(
            erasure_schedule.c.contact == contact.value, erasure_schedule.c.medium == contact.medium.value,
            erasure_schedule.c.rule == rule))
