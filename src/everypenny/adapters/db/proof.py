"""SQL for money out and proof: payouts, posted transfers by kind, and the donor-erasure log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from everypenny.adapters.db.chain import _sealed_transfer
from everypenny.adapters.db.repositories import (
    POSTED_PHASES,
    TRANSFERS_WITH_CODES,
    _appeal_id,
    now,
)
from everypenny.adapters.db.schema import (
    appeals,
    consents,
    donations,
    donor_erasures,
    email_messages,
    inbox_messages,
    ledger_transfers,
    outbox_tasks,
    payouts,
    sms_outbound,
)
from everypenny.domain.chain import SealedTransfer
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, is_pseudonym, scrub
from everypenny.domain.ledger import TransferKind
from everypenny.domain.payouts import Fund, Payout
from everypenny.service_layer.ports import DuplicateKey

# Where personal data lives besides donations' phone, email and metadata. A column that holds exactly one
# contact is replaced outright; a text column (a JSON payload or prose) is scrubbed of every spelling of it.
# A feature that stores contacts in a new table adds its columns here (e.g. an email log's recipient and body).
CONTACT_COLUMNS = [consents.c.contact, email_messages.c.recipient, sms_outbound.c.to_number]
TEXT_COLUMNS = [inbox_messages.c.payload, outbox_tasks.c.payload, email_messages.c.body]


def _scrubbed_text(text: str, replacements: dict[str, str]) -> str:
    try:
        return json.dumps(scrub(json.loads(text), replacements))
    except ValueError:
        return scrub(text, replacements)


class SqlProofRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def count_transfers(self, appeal_slug: str, kind: TransferKind) -> int:
        return self.connection.scalar(
            select(func.count()).select_from(ledger_transfers)
            .where(ledger_transfers.c.appeal_id == _appeal_id(self.connection, appeal_slug),
                   ledger_transfers.c.kind == kind.value))

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

    def pseudonymise(self, contact: Contact, replacement: str) -> tuple[set[int], int]:
        """Replaces the contact on donations and wherever else personal data lives (see below).

        Returns the ids of the donations changed and how many other records were.
        """
        replacements = dict.fromkeys(contact.spellings(), replacement)
        column = donations.c.phone if contact.medium is Medium.SMS else donations.c.email
        rows = self.connection.execute(select(donations.c.id, donations.c.metadata).where(column == contact.value))
        changed: set[int] = set()
        for row in rows.all():
            metadata = scrub(json.loads(row.metadata), replacements)
            self.connection.execute(donations.update().where(donations.c.id == row.id).values(
                {column.name: replacement, "metadata": json.dumps(metadata, sort_keys=True), "updated_at": now()}))
            changed.add(row.id)
        records = sum(self.connection.execute(
            update(c.table).where(c == contact.value).values({c.name: replacement})).rowcount for c in CONTACT_COLUMNS)
        for text in TEXT_COLUMNS:
            mentions = or_(*(text.contains(spelling, autoescape=True) for spelling in replacements))
            for row in self.connection.execute(select(text.table.c.id, text).where(mentions)).all():
                self.connection.execute(update(text.table).where(text.table.c.id == row.id).values(
                    {text.name: _scrubbed_text(row[1], replacements)}))
                records += 1
        return changed, records

    def erased_at(self, pseudonym: str) -> list[datetime]:
        return list(self.connection.scalars(select(donor_erasures.c.erased_at)
                                            .where(donor_erasures.c.pseudonym == pseudonym)
                                            .order_by(donor_erasures.c.id)))

    def record_erasure(self, pseudonym: str, medium: str, donations: int, records: int) -> None:
        self.connection.execute(donor_erasures.insert().values(
            pseudonym=pseudonym, medium=medium, donations=donations, records=records, erased_at=now()))
