"""Marks on a contact that outlive erasure: a marketing suppression (STOP) and a block on giving.

Both are stored against a keyed hash of the contact (an HMAC under the platform's secret key, as rate-limit
subjects are), never the contact itself: so erasing a donor leaves them in place, and nobody without the key
can tell whose number a mark is by hashing every UK mobile. A mark is a list of changes, the latest for a
contact and kind standing, so who set or lifted it, when and why stays on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from everypenny.domain.donation import Medium

REASON_LENGTH = 200


class MarkKind(StrEnum):
    # ICO, "Direct marketing guidance" (suppression lists): someone who objected to marketing is kept on a
    # suppression list, which erasure does not remove, so they are never marketed to again.
    SUPPRESSED = "suppressed"
    # Fundraising Regulator, Code of Fundraising Practice, "Treating donors fairly" (people in vulnerable
    # circumstances): a charity must be able to stop taking gifts from someone who cannot decide, and refund.
    BLOCKED = "blocked"


@dataclass(frozen=True)
class ContactMark:
    """One change to a mark: set (`active`) or lifted, by whom (`source`: "sms:STOP", "desk:EMAIL", "cli:USER")."""

    contact: str  # E.164 phone or lower-case email; stored only as its keyed hash
    medium: Medium
    kind: MarkKind
    active: bool
    source: str
    recorded_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class MarkChange:
    """A change as the record shows it: whose contact it was is not stored, only its kind of contact."""

    medium: Medium
    active: bool
    source: str
    reason: str
    recorded_at: datetime


class InvalidBlock(ValueError):
    pass


def block_reason(typed: str) -> str:
    """A block's reason as stored: required (the Code asks the charity to record why), one line, bounded."""
    reason = " ".join(typed.split())
    if not reason:
        raise InvalidBlock("give a reason for the block (it is kept on record)")
    if len(reason) > REASON_LENGTH:
        raise InvalidBlock(f"keep the reason to {REASON_LENGTH} characters")
    return reason
