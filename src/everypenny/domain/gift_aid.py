"""A Gift Aid declaration with the content HMRC requires, and the exact words the donor agreed to.

HMRC needs: the charity's name, the donor's full name (at least initial and surname), their home address
(house name or number and postcode at minimum), which donations it covers, that they are Gift Aid
donations, and that the donor understands they must pay enough tax to cover what is claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from everypenny.domain.text import has_unstorable_characters

# A UK postcode: outward code (area, district) and inward code (sector, unit), e.g. SW1A 1AA, M1 1AE.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")
# HMRC's schedule allows 35 characters for each name and 4 for a title.
MAX_NAME_LENGTH = 35
MAX_TITLE_LENGTH = 4
GIFT_AID_RATE_PERCENT = 25


class GiftAidScope(StrEnum):
    THIS_DONATION = "this_donation"
    PAST_AND_FUTURE = "past_and_future"  # this one, those of the past four years, and all future ones


class GiftAidInvalid(ValueError):
    """Fields a declaration cannot be made without; `problems` maps each field to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems.items()))
        self.problems = problems


def normalise_postcode(raw: str) -> str | None:
    """Capitals with one space before the inward code, as HMRC's schedule wants; None if not a postcode."""
    match = _POSTCODE.match(re.sub(r"\s+", "", raw.upper()))
    return f"{match.group(1)} {match.group(2)}" if match else None


def gift_aid_pence(donation_pence: int) -> int:
    """What HMRC adds: 25p for every pound given (rounded down to the penny)."""
    return donation_pence * GIFT_AID_RATE_PERCENT // 100


def declaration_wording(charity_name: str, scope: GiftAidScope) -> str:
    """HMRC's model declaration, filled in; this exact text is shown to the donor and stored with their answer."""
    if scope is GiftAidScope.THIS_DONATION:
        covers = "this donation"
    else:
        covers = "this donation and any donations I make in the future or have made in the past 4 years"
    return (f"I want to Gift Aid {covers} to {charity_name}. I am a UK taxpayer and understand that if I pay "
            "less Income Tax and/or Capital Gains Tax than the amount of Gift Aid claimed on all my donations "
            "in that tax year it is my responsibility to pay any difference.")


@dataclass(frozen=True)
class GiftAidDeclaration:
    donation_reference: str
    charity_name: str
    first_name: str
    last_name: str
    house: str  # house name or number
    address: str  # the rest of the home address (street, town); may be empty
    postcode: str
    scope: GiftAidScope
    wording: str
    declared_at: datetime
    source: str  # where it was made, e.g. "online:donation-form", "online:gift-aid-link"
    title: str = ""
    contact: str | None = None  # the donor's email or phone, linking declarations to one person

    @classmethod
    def make(cls, *, donation_reference: str, charity_name: str, title: str, first_name: str, last_name: str,
             house: str, address: str, postcode: str,
             scope: GiftAidScope, declared_at: datetime, source: str, contact: str | None) -> GiftAidDeclaration:
        """Checks every field at once, so the donor sees all that is missing in one go."""
        problems: dict[str, str] = {}
        title, first_name, last_name = title.strip(), first_name.strip(), last_name.strip()
        house, address = house.strip(), " ".join(address.split())
        if len(title) > MAX_TITLE_LENGTH:
            problems["title"] = f"a title has at most {MAX_TITLE_LENGTH} letters (Mr, Mrs, Ms, Miss, Dr, Prof)"
        if not first_name:
            problems["first_name"] = "enter your first name or initial"
        elif len(first_name) > MAX_NAME_LENGTH:
            problems["first_name"] = f"at most {MAX_NAME_LENGTH} characters"
        if not last_name:
            problems["last_name"] = "enter your surname"
        elif len(last_name) > MAX_NAME_LENGTH:
            problems["last_name"] = f"at most {MAX_NAME_LENGTH} characters"
        if not house:
            problems["house"] = "enter your house name or number"
        elif len(house) > 100:
            problems["house"] = "at most 100 characters"
        if len(address) > 200:
            problems["address"] = "at most 200 characters"
        for field, value in (("title", title), ("first_name", first_name), ("last_name", last_name),
                             ("house", house), ("address", address)):
            if has_unstorable_characters(value):
                problems[field] = "use letters, numbers and punctuation only"
        normalised = normalise_postcode(postcode)
        if normalised is None:
            problems["postcode"] = "enter a UK postcode, such as SW1A 1AA"
        if problems:
            raise GiftAidInvalid(problems)
        assert normalised is not None
        return cls(
            donation_reference=donation_reference, charity_name=charity_name, title=title,
            first_name=first_name, last_name=last_name, house=house, address=address, postcode=normalised,
            scope=scope, wording=declaration_wording(charity_name, scope),
            declared_at=declared_at, source=source, contact=contact)
