"""Erasing a donor's personal data on request, while every ledger transfer and total stays as it was.

Ledger transfers name donations by receipt reference, never by person, so pseudonymising the donation
rows, consents and stored provider messages (adapters/db/personal_data.py lists every place personal data lives) leaves
the money, the totals and the hash chain untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from everypenny.domain.erasure import Contact, ErasureRefused, RetentionHold, pseudonym
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork

# A retention rule looks at what is stored about a contact and returns a hold when the law says keep it
# (e.g. Gift Aid declarations, kept six years after the last claim), or None. Rules are registered in
# bootstrap.retention_rules().
RetentionRule = Callable[[Transaction, Contact], RetentionHold | None]


@dataclass(frozen=True)
class ErasureResult:
    pseudonym: str
    donations: int
    records: int  # consents and stored messages
    previously_erased_at: list[datetime]

    @property
    def already_erased(self) -> bool:
        return self.donations == 0 and self.records == 0 and bool(self.previously_erased_at)


def erase_donor(uow: UnitOfWork, contact: Contact, secret_key: str,
                retention_rules: Sequence[RetentionRule] = ()) -> ErasureResult:
    """Replaces the donor's contact details (and those stored beside them) with stable pseudonyms.

    Raises ErasureRefused, changing nothing, when a retention rule holds any of the donor's records.
    """
    replacement = pseudonym(secret_key, contact)
    with uow:
        contacts = uow.proof.contacts_on_donations(contact)
        holds = [hold for rule in retention_rules for each in sorted(contacts, key=lambda c: c.value)
                 if (hold := rule(uow, each)) is not None]
        if holds:
            raise ErasureRefused(holds)
        previously = uow.proof.erased_at(replacement)
        donation_ids: set[int] = set()
        records = 0
        for each in contacts:
            changed_donations, changed_records = uow.proof.pseudonymise(each, pseudonym(secret_key, each))
            donation_ids |= changed_donations
            records += changed_records
        if donation_ids or records:
            uow.proof.record_erasure(replacement, contact.medium.value, len(donation_ids), records)
            uow.commit()
    return ErasureResult(replacement, len(donation_ids), records, previously)
