"""Gift Aid claims: the schedule of claimable donations for HMRC, previewed or recorded as a claim.

Recording a claim stores each donation it covers, so a later schedule never repeats one (see
domain/gift_aid_claims.py for which donations are claimable and how small ones are aggregated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from everypenny.domain.erasure import Contact, RetentionHold
from everypenny.domain.gift_aid import GiftAidDeclaration
from everypenny.domain.gift_aid_claims import Schedule, build_schedule, covering_declaration
from everypenny.domain.retention import GIFT_AID, gift_aid_until
from everypenny.service_layer.appeals import stored_appeal
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWorkFactory


def gift_aid_retention(tx: Transaction, contact: Contact, now: datetime | None = None) -> RetentionHold | None:
    """HMRC (Gift Aid guidance, chapter 6): declarations and claim records are kept 6 years from the end of the
    accounting period of the claim (domain/retention.py): a retention rule."""
    found = tx.gift_aid_claims.last_gift_aid_record(contact.value)
    if found is None:
        return None
    last, slug = found
    until = gift_aid_until(last, stored_appeal(tx, slug).beneficiary.financial_year_end)
    if (now or datetime.now(UTC)).date() >= until:
        return None
    return RetentionHold(GIFT_AID.rule, f"HMRC requires Gift Aid records to be kept {GIFT_AID.kept}: this donor's "
                                        f"latest was on {last:%d %b %Y}, so they are kept until {until:%d %b %Y}",
                         until)


class GiftAidClaimRefused(ValueError):
    """A claim that cannot be recorded; nothing is stored."""


@dataclass(frozen=True)
class ClaimPosition:
    """An appeal's Gift Aid: what is claimable now and what was claimed before."""

    schedule: Schedule
    without_declaration: int  # paid donations no declaration covers
    claims: int
    claimed_donations_pence: int
    claimed_gift_aid_pence: int
    claim_ids: tuple[int, ...] = ()  # the claims this call recorded: one for each part of the schedule
    charity_name: str = ""
    appeal_name: str = ""
    cancelled: int = 0  # paid donations made after their donor cancelled the declaration: not claimed


def gift_aid_schedule(uow_factory: UnitOfWorkFactory, slug: str, claim: bool = False,
                      clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> ClaimPosition:
    """The schedule of every claimable donation not yet claimed; with `claim`, records it as claimed, one
    claim for each part HMRC takes as one upload."""
    with uow_factory() as uow:
        appeal = stored_appeal(uow, slug)
        store = uow.gift_aid_claims
        gifts = store.unclaimed_gifts(slug)
        own = store.declarations([gift.reference for gift in gifts])
        enduring = store.enduring_declarations({contact for gift in gifts for contact in gift.contacts})
        claimable, cancelled = [], 0
        for gift in gifts:
            declaration = covering_declaration(gift, own.get(gift.reference), enduring, appeal.beneficiary.name)
            if declaration is not None:
                claimable.append((gift, declaration))
            elif covering_declaration(gift, own.get(gift.reference), enduring, appeal.beneficiary.name,
                                      honour_cancellations=False) is not None:
                cancelled += 1
        schedule = build_schedule(claimable, appeal.beneficiary.financial_year_end)
        claim_ids: tuple[int, ...] = ()
        if claim:
            if not schedule.rows:
                raise GiftAidClaimRefused(f"{slug} has no unclaimed donation with a Gift Aid declaration: "
                                          "nothing to claim")
            try:
                claim_ids = tuple(store.record_claim(slug, part.references, part.donations_pence,
                                                     part.gift_aid_pence, clock()) for part in schedule.parts())
            except DuplicateKey:
                raise GiftAidClaimRefused("another claim recorded some of these donations at the same moment: "
                                          "run the schedule again") from None
        claims, donations_pence, gift_aid_pence = store.claimed(slug)
        if claim:
            uow.commit()
    return ClaimPosition(schedule, len(gifts) - len(claimable) - cancelled, claims, donations_pence, gift_aid_pence,
                         claim_ids, appeal.beneficiary.name, appeal.name, cancelled)


class GiftAidCancelRefused(ValueError):
    """Nothing to cancel; nothing changed."""


def cancel_gift_aid(uow_factory: UnitOfWorkFactory, reference: str, cancelled_by: str,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> GiftAidDeclaration:
    """Records the cancellation of the declaration made with this donation, dated now; later gifts it covered
    are no longer claimed (HMRC, Gift Aid guidance for charities, chapter 3: cancelling a declaration)."""
    with uow_factory() as uow:
        declaration = uow.gift_aid.for_donation(reference)
        if declaration is None:
            raise GiftAidCancelRefused(f"{reference} has no Gift Aid declaration to cancel")
        if declaration.cancelled_at is not None:
            raise GiftAidCancelRefused(f"the Gift Aid declaration made with {reference} was already cancelled on "
                                       f"{declaration.cancelled_at:%d %b %Y}")
        uow.gift_aid.cancel(reference, clock(), cancelled_by)
        cancelled = uow.gift_aid.for_donation(reference)
        uow.commit()
    assert cancelled is not None
    return cancelled
