"""Protecting someone who should not be giving (the Fundraising Regulator's guidance on people in vulnerable
circumstances): a number or email blocked by the charity, with a reason, gets a kind answer and is never charged.

Blocks are contact marks (domain/contact_marks.py): kept by a keyed hash of the contact, so erasure leaves them
and the table names nobody; each block and unblock is a row with who made it, when and why (the audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from everypenny.domain.contact_marks import ContactMark, MarkChange, MarkKind, block_reason
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWorkFactory


class GivingProtected(ValueError):
    """The charity has asked us not to take gifts from this donor: the polite words they see, and nothing else."""

    def __init__(self, helpline: str) -> None:
        super().__init__(f"we're sorry, but we can't take a donation from you online. If you have any questions, "
                         f"please call {helpline}")


@dataclass(frozen=True)
class BlockChange:
    contact: Contact
    blocked: bool
    reason: str
    by: str


def set_block(uow_factory: UnitOfWorkFactory, contact: Contact, blocked: bool, reason: str, by: str) -> BlockChange:
    """Blocks (or unblocks) a number or email from giving; the reason is required either way (InvalidBlock)."""
    change = BlockChange(contact, blocked, block_reason(reason), by)
    with uow_factory() as uow:
        uow.marks.record_many([ContactMark(contact.value, contact.medium, MarkKind.BLOCKED, blocked, by,
                                           datetime.now(UTC), change.reason)])
        uow.commit()
    return change


def is_protected(tx: Transaction, phone: str | None, email: str | None) -> bool:
    """Whether the charity blocked this phone or email from giving."""
    return any(MarkKind.BLOCKED in tx.marks.active_many([contact], medium).get(contact, frozenset())
               for contact, medium in ((phone, Medium.SMS), (email, Medium.EMAIL)) if contact)


def block_history(tx: Transaction, limit: int = 100) -> list[MarkChange]:
    """The latest blocks and unblocks, newest first, with who made each and why."""
    return tx.marks.changes(MarkKind.BLOCKED, limit)
