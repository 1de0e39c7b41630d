"""SQL for Gift Aid claims: claimable donations, the declarations covering them, and claims made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, or_, select

from everypenny.adapters.db.online_repositories import declaration_from_row
from everypenny.adapters.db.repositories import _appeal_id, _insert_or_duplicate
from everypenny.adapters.db.schema import (
    appeals,
    donations,
    gift_aid_claimed_donations,
    gift_aid_claims,
    gift_aid_declarations,
)
from everypenny.domain.donation import DonationStatus
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.gift_aid_claims import Gift


class SqlGiftAidClaims:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def unclaimed_gifts(self, appeal_slug: str) -> list[Gift]:
        """Paid donations never refunded and not yet in a claim."""
        rows = self.connection.execute(
            select(donations.c.reference, donations.c.created_at, donations.c.paid_pence, donations.c.email,
                   donations.c.phone)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .outerjoin(gift_aid_claimed_donations, gift_aid_claimed_donations.c.donation_id == donations.c.id)
            .where(appeals.c.slug == appeal_slug, gift_aid_claimed_donations.c.donation_id.is_(None),
                   donations.c.status.in_([DonationStatus.PAID.value, DonationStatus.PART_PAID.value]),
                   donations.c.paid_pence > 0, donations.c.refunded_pence == 0)
            .order_by(donations.c.created_at, donations.c.id))
        return [Gift(row.reference, row.created_at, row.paid_pence,
                     tuple(contact for contact in (row.email, row.phone) if contact)) for row in rows]

    def declarations(self, references: list[str]) -> dict[str, GiftAidDeclaration]:
        """Each donation's own declaration, by the donation's reference."""
        found: dict[str, GiftAidDeclaration] = {}
        for start in range(0, len(references), 500):
            rows = self.connection.execute(
                select(gift_aid_declarations, donations.c.reference)
                .join(donations, donations.c.id == gift_aid_declarations.c.donation_id)
                .where(donations.c.reference.in_(references[start:start + 500])))
            found.update((row.reference, declaration_from_row(row)) for row in rows)
        return found

    def enduring_declarations(self, contacts: set[str]) -> list[GiftAidDeclaration]:
        """"Past and future" declarations made by any of these contacts, oldest first."""
        found: list[GiftAidDeclaration] = []
        ordered = sorted(contacts)
        for start in range(0, len(ordered), 500):
            rows = self.connection.execute(
                select(gift_aid_declarations, donations.c.reference)
                .join(donations, donations.c.id == gift_aid_declarations.c.donation_id)
                .where(gift_aid_declarations.c.scope == GiftAidScope.PAST_AND_FUTURE.value,
                       gift_aid_declarations.c.contact.in_(ordered[start:start + 500]))
                .order_by(gift_aid_declarations.c.declared_at))
            found.extend(declaration_from_row(row) for row in rows)
        return found

    def record_claim(self, appeal_slug: str, references: list[str], donations_pence: int, gift_aid_pence: int,
                     claimed_at: datetime) -> int:
        """Records a claim; DuplicateKey if another claim took one of these donations first."""
        inserted = self.connection.execute(insert(gift_aid_claims).values(
            appeal_id=_appeal_id(self.connection, appeal_slug), donations_pence=donations_pence,
            gift_aid_pence=gift_aid_pence, claimed_at=claimed_at)).inserted_primary_key
        assert inserted is not None
        claim_id = inserted[0]
        for start in range(0, len(references), 500):
            rows = self.connection.execute(select(donations.c.id, donations.c.paid_pence)
                                           .where(donations.c.reference.in_(references[start:start + 500]))).all()
            _insert_or_duplicate(self.connection, insert(gift_aid_claimed_donations).values(
                [{"donation_id": row.id, "claim_id": claim_id, "amount_pence": row.paid_pence} for row in rows]))
        return claim_id

    def claimed(self, appeal_slug: str) -> tuple[int, int, int]:
        """(claims, donations claimed in pence, Gift Aid claimed in pence) for the appeal so far."""
        row = self.connection.execute(
            select(func.count(), func.coalesce(func.sum(gift_aid_claims.c.donations_pence), 0),
                   func.coalesce(func.sum(gift_aid_claims.c.gift_aid_pence), 0))
            .join(appeals, appeals.c.id == gift_aid_claims.c.appeal_id)
            .where(appeals.c.slug == appeal_slug)).one()
        return int(row[0]), int(row[1]), int(row[2])

    def last_gift_aid_record(self, contact: str) -> tuple[datetime, str] | None:
        """When the newest Gift Aid record about this contact was made (a declaration or a claim on their gifts),
        and the appeal it was for."""
        theirs = or_(donations.c.phone == contact, donations.c.email == contact)
        declared = self.connection.execute(
            select(gift_aid_declarations.c.declared_at, appeals.c.slug)
            .join(donations, donations.c.id == gift_aid_declarations.c.donation_id)
            .join(appeals, appeals.c.id == donations.c.appeal_id)
            .where(or_(gift_aid_declarations.c.contact == contact, theirs))
            .order_by(gift_aid_declarations.c.declared_at.desc()).limit(1)).first()
        claimed = self.connection.execute(
            select(gift_aid_claims.c.claimed_at, appeals.c.slug)
            .join(appeals, appeals.c.id == gift_aid_claims.c.appeal_id)
            .join(gift_aid_claimed_donations, gift_aid_claimed_donations.c.claim_id == gift_aid_claims.c.id)
            .join(donations, donations.c.id == gift_aid_claimed_donations.c.donation_id).where(theirs)
            .order_by(gift_aid_claims.c.claimed_at.desc()).limit(1)).first()
        records = [(row[0], row[1]) for row in (declared, claimed) if row is not None]
        return max(records) if records else None
