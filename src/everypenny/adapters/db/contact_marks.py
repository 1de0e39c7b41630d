"""Suppressions and blocks by a keyed hash of the contact (domain/contact_marks.py): erasure never finds them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from everypenny.adapters.db.repositories import insert_many, one_of
from everypenny.adapters.db.schema import contact_marks
from everypenny.domain.contact_marks import ContactMark, MarkChange, MarkKind
from everypenny.domain.donation import Medium


class SqlContactMarks:
    """Contacts are hashed with an HMAC-SHA256 keyed from the secret key, as rate-limit subjects are: the same
    contact always finds its marks, and the table alone names nobody. A new secret key loses every mark: keep
    the key."""

    def __init__(self, connection: Connection, secret_key: str) -> None:
        self.connection = connection
        self.key = hmac.new(secret_key.encode(), b"contact marks", hashlib.sha256).digest()

    def _hash(self, medium: Medium, contact: str) -> str:
        return hmac.new(self.key, f"{medium.value}:{contact}".encode(), hashlib.sha256).hexdigest()

    def record_many(self, marks: Sequence[ContactMark]) -> None:
        """In the order given: the last change to a contact's mark is the one that stands."""
        if marks:
            insert_many(self.connection, contact_marks, [dict(
                contact_hash=self._hash(mark.medium, mark.contact), medium=mark.medium.value, kind=mark.kind.value,
                active=mark.active, source=mark.source[:60], reason=mark.reason[:200], recorded_at=mark.recorded_at)
                for mark in marks])

    def active_many(self, contacts: Sequence[str], medium: Medium) -> dict[str, frozenset[MarkKind]]:
        """The marks standing on each contact (one indexed query); contacts with none are left out."""
        hashes = {self._hash(medium, contact): contact for contact in contacts}
        if not hashes:
            return {}
        latest = (select(func.max(contact_marks.c.id))
                  .where(one_of(self.connection, contact_marks.c.contact_hash, hashes),
                         contact_marks.c.medium == medium.value)
                  .group_by(contact_marks.c.contact_hash, contact_marks.c.kind))
        rows = self.connection.execute(select(contact_marks.c.contact_hash, contact_marks.c.kind)
                                       .where(contact_marks.c.id.in_(latest.scalar_subquery()),
                                              contact_marks.c.active))
        found: dict[str, set[MarkKind]] = {}
        for contact_hash, kind in rows:
            found.setdefault(hashes[contact_hash], set()).add(MarkKind(kind))
        return {contact: frozenset(kinds) for contact, kinds in found.items()}

    def changes(self, kind: MarkKind, limit: int) -> list[MarkChange]:
        """The latest changes of this kind, newest first: the audit trail of who set or lifted a mark, and why."""
        rows = self.connection.execute(select(contact_marks).where(contact_marks.c.kind == kind.value)
                                       .order_by(contact_marks.c.id.desc()).limit(limit))
        return [MarkChange(Medium(row.medium), row.active, row.source, row.reason, row.recorded_at) for row in rows]
