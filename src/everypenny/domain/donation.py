"""A donation: what a donor promised through one channel, and how much of it was really paid.

The ledger holds the money; a donation holds the donor's side of the story (reference, contact, consent)
and a status the donor and the appeal desk can read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from everypenny.domain.appeal import Channel
from everypenny.domain.consent import ConsentWording

# Crockford's base 32: no I, L, O or U, so a reference read out over the phone is not misheard.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A receipt reference such as EP-7K3M9Q2XDA: random, so it reveals nothing about other donations."""
    return "EP-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


class DonationStatus(StrEnum):
    PENDING = "pending"  # promised; the money is not confirmed yet
    PAID = "paid"  # confirmed in full
    PART_PAID = "part_paid"  # some of it confirmed, the rest failed (e.g. one of two split charges)
    FAILED = "failed"  # nothing was taken
    REFUNDED = "refunded"  # paid, then given back in full


class Medium(StrEnum):
    SMS = "sms"
    EMAIL = "email"


@dataclass(frozen=True)
class Donation:
    reference: str
    appeal: str
    channel: Channel
    amount_pence: int
    currency: str
    created_at: datetime
    status: DonationStatus = DonationStatus.PENDING
    paid_pence: int = 0
    refunded_pence: int = 0
    phone: str | None = None  # E.164
    email: str | None = None
    keyword: str | None = None
    partner: str | None = None  # slug of the media partner whose call to action it answered; None: the appeal's page
    marketing_consent: bool = False
    failure_reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.amount_pence <= 0:
            raise ValueError(f"a donation must be for a positive amount, got {self.amount_pence}")

    def settled(self, paid_pence: int, failure_reason: str | None = None) -> Donation:
        """The donation once every charge for it is resolved, `paid_pence` of it confirmed."""
        if not 0 <= paid_pence <= self.amount_pence:
            raise ValueError(f"cannot have paid {paid_pence} of a {self.amount_pence} donation")
        if paid_pence == self.amount_pence:
            status = DonationStatus.PAID
        elif paid_pence == 0:
            status = DonationStatus.FAILED
        else:
            status = DonationStatus.PART_PAID
        return replace(self, status=status, paid_pence=paid_pence,
                       failure_reason=None if status is DonationStatus.PAID else failure_reason)

    def refunded(self, pence: int) -> Donation:
        """Gives back `pence` of what was paid; a full refund marks the donation refunded."""
        if not 0 < pence <= self.paid_pence - self.refunded_pence:
            raise ValueError(f"cannot refund {pence}: {self.paid_pence - self.refunded_pence} is refundable")
        total = self.refunded_pence + pence
        status = DonationStatus.REFUNDED if total == self.paid_pence else self.status
        return replace(self, refunded_pence=total, status=status)

    def refund_reversed(self, pence: int) -> Donation:
        """`pence` given back earlier came back to us (a failed refund, a dispute the charity won)."""
        if not 0 < pence <= self.refunded_pence:
            raise ValueError(f"cannot reverse {pence}: {self.refunded_pence} was given back")
        restored = self.settled(self.paid_pence, self.failure_reason) if self.status is DonationStatus.REFUNDED \
            else self
        return replace(restored, refunded_pence=self.refunded_pence - pence)

    @property
    def net_pence(self) -> int:
        return self.paid_pence - self.refunded_pence

    @property
    def text_phone(self) -> str:
        """The phone a text gift came from, and its charges and replies go to: every text gift has one."""
        if self.phone is None:
            raise ValueError(f"donation {self.reference} has no phone")
        return self.phone


@dataclass(frozen=True)
class ConsentRecord:
    """One statement of a person's marketing choice; the latest for a contact wins (STOP beats all)."""

    contact: str  # E.164 phone or lower-case email
    medium: Medium
    granted: bool
    source: str  # e.g. "sms:STOP", "sms:SUN5", "online:checkbox"
    recorded_at: datetime
    appeal: str | None = None
    wording: ConsentWording | None = None  # the words the person was shown when they gave it (STOP has none)
