"""Erasing a donor's personal data on request, while every ledger transfer and total stays as it was.

Ledger transfers name donations by receipt reference, never by person, so pseudonymising the donation
rows, consents and stored provider messages (adapters/db/personal_data.py lists every place personal data lives) leaves
the money, the totals and the hash chain untouched.

What a retention period (domain/retention.py) keeps is not erased with the rest: it is scheduled for the day
the period ends, and the worker's housekeeping job (`erase_due`) erases it then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from everypenny.domain.erasure import Contact, ErasureRefused, RetentionHold, pseudonym
from everypenny.domain.retention import PHONE_PAID, phone_paid_until
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

# A retention rule looks at what is stored about a contact and returns a hold when the law says keep it
# (e.g. Gift Aid declarations, kept six years after the claim), or None. Rules are registered in
# bootstrap.retention_rules().
RetentionRule = Callable[[Transaction, Contact], RetentionHold | None]


def phone_paid_retention(tx: Transaction, contact: Contact) -> RetentionHold | None:
    """Ofcom (the PSA's data-retention guidance, carried over): phone-paid records are kept 2 years."""
    last = tx.proof.last_phone_paid(contact)
    if last is None or (until := phone_paid_until(last)) <= _today():
        return None
    return RetentionHold(PHONE_PAID.rule, f"{PHONE_PAID.records} are kept {PHONE_PAID.kept} ({PHONE_PAID.source})",
                         until)


@dataclass(frozen=True)
class ErasureResult:
    pseudonym: str
    donations: int
    records: int  # consents and stored messages
    previously_erased_at: list[datetime]
    scheduled: dict[str, date] = field(default_factory=dict)  # retention rule: the day what it keeps is erased

    @property
    def already_erased(self) -> bool:
        return self.donations == 0 and self.records == 0 and bool(self.previously_erased_at)


def erase_donor(uow: UnitOfWork, contact: Contact, secret_key: str,
                retention_rules: Sequence[RetentionRule] = ()) -> ErasureResult:
    """Replaces the donor's contact details (and those stored beside them) with stable pseudonyms, at once
    where no retention period keeps them; what one keeps is scheduled for the day it ends.

    Raises ErasureRefused, changing nothing, when a rule holds records with no end date.
    """
    replacement = pseudonym(secret_key, contact)
    with uow:
        contacts = uow.proof.contacts_on_donations(contact)
        holds = [hold for rule in retention_rules for each in sorted(contacts, key=lambda c: c.value)
                 if (hold := rule(uow, each)) is not None]
        if open_ended := [hold for hold in holds if hold.until is None]:
            raise ErasureRefused(open_ended)
        scheduled: dict[str, date] = {}
        for hold in holds:
            assert hold.until is not None
            scheduled[hold.rule] = max(hold.until, scheduled.get(hold.rule, hold.until))
        previously = uow.proof.erased_at(replacement)
        donation_ids, records = _pseudonymise(uow, contacts, secret_key, frozenset(scheduled))
        for each in contacts:
            for rule, until in scheduled.items():
                uow.proof.schedule_erasure(each, rule, until)
        if donation_ids or records:
            uow.proof.record_erasure(replacement, contact.medium.value, len(donation_ids), records)
        uow.commit()
    return ErasureResult(replacement, len(donation_ids), records, previously, scheduled)


def _pseudonymise(tx: Transaction, contacts: set[Contact], secret_key: str,
                  kept: frozenset[str]) -> tuple[set[int], int]:
    donation_ids: set[int] = set()
    records = 0
    for each in contacts:
        changed_donations, changed_records = tx.proof.pseudonymise(each, pseudonym(secret_key, each), kept)
        donation_ids |= changed_donations
        records += changed_records
    return donation_ids, records


def erase_due(uow_factory: UnitOfWorkFactory, secret_key: str, today: date | None = None) -> int:
    """The housekeeping job: erases what each scheduled erasure kept once its day has come (what another
    period still keeps waits for that one's day). Returns how many scheduled erasures it carried out."""
    day = today or _today()
    with uow_factory() as uow:
        waiting = uow.proof.scheduled_erasures()
        done = 0
        for contact, rule, erase_on in waiting:
            if erase_on > day:
                continue
            still_kept = frozenset(other for each, other, on in waiting if each == contact and on > day)
            _pseudonymise(uow, {contact}, secret_key, still_kept)
            uow.proof.unschedule_erasure(contact, rule)
            done += 1
        uow.commit()
    return done


def _today() -> date:
    return datetime.now(UTC).date()
