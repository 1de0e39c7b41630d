"""SQL storage for online donations: checkout sessions, Gift Aid declarations, sent emails, rate limits."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from everypenny.adapters.db.repositories import _donation_id, _insert_or_duplicate, now
from everypenny.adapters.db.schema import (
    donations,
    email_messages,
    gift_aid_declarations,
    online_checkouts,
    rate_limit_windows,
)
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.service_layer.online_ports import Checkout, CheckoutStatus, EmailMessage
from everypenny.service_layer.ports import DuplicateKey


class SqlCheckoutRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, checkout: Checkout) -> None:
        """Raises DuplicateKey when the session (or a session for the donation) is already recorded."""
        moment = now()
        _insert_or_duplicate(self.connection, online_checkouts.insert().values(
            session_id=checkout.session_id, donation_id=_donation_id(self.connection, checkout.donation_reference),
            url=checkout.url, status=checkout.status.value, payment_intent=checkout.payment_intent,
            created_at=moment, updated_at=moment))

    def save(self, checkout: Checkout) -> None:
        self.connection.execute(
            update(online_checkouts).where(online_checkouts.c.session_id == checkout.session_id)
            .values(status=checkout.status.value, payment_intent=checkout.payment_intent, updated_at=now()))

    def _find(self, condition, lock: bool) -> Checkout | None:
        query = (select(online_checkouts, donations.c.reference)
                 .join(donations, donations.c.id == online_checkouts.c.donation_id).where(condition))
        if lock:  # PostgreSQL; SQLite's writers are already serialised by BEGIN IMMEDIATE
            query = query.with_for_update(of=online_checkouts)
        row = self.connection.execute(query).first()
        if row is None:
            return None
        return Checkout(session_id=row.session_id, donation_reference=row.reference, url=row.url,
                        status=CheckoutStatus(row.status), payment_intent=row.payment_intent)

    def by_session(self, session_id: str, lock: bool = False) -> Checkout | None:
        return self._find(online_checkouts.c.session_id == session_id, lock)

    def by_reference(self, reference: str, lock: bool = False) -> Checkout | None:
        return self._find(donations.c.reference == reference, lock)

    def by_payment_intent(self, payment_intent: str, lock: bool = False) -> Checkout | None:
        return self._find(online_checkouts.c.payment_intent == payment_intent, lock)


class SqlGiftAidRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, declaration: GiftAidDeclaration) -> None:
        _insert_or_duplicate(self.connection, gift_aid_declarations.insert().values(
            donation_id=_donation_id(self.connection, declaration.donation_reference),
            contact=declaration.contact, charity_name=declaration.charity_name, title=declaration.title,
            first_name=declaration.first_name, last_name=declaration.last_name,
            first_name_latin=declaration.first_name_latin, last_name_latin=declaration.last_name_latin,
            house=declaration.house, address=declaration.address, postcode=declaration.postcode,
            scope=declaration.scope.value,
            wording=declaration.wording, source=declaration.source, declared_at=declaration.declared_at))

    def for_donation(self, reference: str) -> GiftAidDeclaration | None:
        row = self.connection.execute(
            select(gift_aid_declarations, donations.c.reference)
            .join(donations, donations.c.id == gift_aid_declarations.c.donation_id)
            .where(donations.c.reference == reference)).first()
        return None if row is None else declaration_from_row(row)

    def cancel(self, reference: str, cancelled_at: datetime, cancelled_by: str) -> None:
        self.connection.execute(update(gift_aid_declarations).where(
            gift_aid_declarations.c.donation_id == _donation_id(self.connection, reference),
            gift_aid_declarations.c.cancelled_at.is_(None)).values(
            cancelled_at=cancelled_at, cancelled_by=cancelled_by[:60]))


def declaration_from_row(row) -> GiftAidDeclaration:
    """A declaration from its row joined with its donation's reference."""
    return GiftAidDeclaration(
        donation_reference=row.reference, charity_name=row.charity_name, title=row.title,
        first_name=row.first_name, last_name=row.last_name, first_name_latin=row.first_name_latin,
        last_name_latin=row.last_name_latin, house=row.house, address=row.address,
        postcode=row.postcode, scope=GiftAidScope(row.scope), wording=row.wording,
        declared_at=row.declared_at, source=row.source, contact=row.contact, cancelled_at=row.cancelled_at,
        cancelled_by=row.cancelled_by or "")


class SqlEmailLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, message: EmailMessage) -> None:
        self.connection.execute(email_messages.insert().values(
            purpose=message.purpose, reference=message.reference, recipient=message.recipient,
            subject=message.subject[:200], body=message.body, sent_at=message.sent_at))

    def find(self, purpose: str, reference: str) -> EmailMessage | None:
        row = self.connection.execute(select(email_messages).where(
            email_messages.c.purpose == purpose, email_messages.c.reference == reference)).first()
        if row is None:
            return None
        return EmailMessage(purpose=row.purpose, reference=row.reference, recipient=row.recipient,
                            subject=row.subject, body=row.body, sent_at=row.sent_at)


class SqlRateLimitCounter:
    """Fixed-window counters in the database, so every app process sees the same attempts.

    Subjects (IP addresses, emails) are stored as an HMAC-SHA256 keyed with the secret key: the table needs to
    count them, not to know them, and without the key nobody can tell which address or email a row counts by
    hashing every IPv4 address or a list of emails. A new secret key (or this keyed form, on upgrade from
    plain SHA-256) starts every count afresh once; old rows match nothing and are pruned as their windows end.
    """

    def __init__(self, connection: Connection, secret_key: str) -> None:
        self.connection = connection
        self.key = hmac.new(secret_key.encode(), b"rate-limit subjects", hashlib.sha256).digest()

    def _subject_hash(self, subject: str) -> str:
        return hmac.new(self.key, subject.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def hit(self, scope: str, subject: str, window_start: datetime) -> int:
        subject_hash = self._subject_hash(subject)
        where = (rate_limit_windows.c.scope == scope, rate_limit_windows.c.subject_hash == subject_hash,
                 rate_limit_windows.c.window_start == window_start)
        counted = self.connection.execute(
            update(rate_limit_windows).where(*where).values(attempts=rate_limit_windows.c.attempts + 1))
        if counted.rowcount == 0:
            try:
                _insert_or_duplicate(self.connection, rate_limit_windows.insert().values(
                    scope=scope, subject_hash=subject_hash, window_start=window_start, attempts=1))
            except DuplicateKey:  # another process opened the window first: count on its row
                self.connection.execute(
                    update(rate_limit_windows).where(*where).values(attempts=rate_limit_windows.c.attempts + 1))
        return self.connection.execute(select(rate_limit_windows.c.attempts).where(*where)).scalar_one()

    def prune(self, scopes: tuple[str, ...], before: datetime) -> None:
        self.connection.execute(delete(rate_limit_windows).where(
            rate_limit_windows.c.scope.in_(scopes), rate_limit_windows.c.window_start < before))

    def forget(self, scope: str, subject: str) -> None:
        self.connection.execute(delete(rate_limit_windows).where(
            rate_limit_windows.c.scope == scope, rate_limit_windows.c.subject_hash == self._subject_hash(subject)))
