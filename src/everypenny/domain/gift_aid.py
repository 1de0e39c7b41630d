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

# The rules of HMRC's own validator of uploaded schedules (hmrc/charities-claims-validation,
# app/uk/gov/hmrc/charitiesclaimsvalidation/services/documentvalidation/GiftAidValidationService.scala and
# CommonFileValidation.scala), applied when the declaration is taken so that none we accept is refused later.
# HMRC keeps only these characters of a cell (removeNonWesternCharacters) and drops the rest unseen, so a name
# in another script would arrive empty or mangled: we ask for a Latin-alphabet spelling instead.
_KEPT_BY_HMRC = re.compile(r"[\x20-\x7E\xA1-\xFF]*")
_HMRC_TITLE = re.compile(r"[A-Za-z][A-Za-z'-]{1,3}")
_HMRC_POSTCODE = re.compile(
    r"GIR 0AA|(([A-Z][0-9][0-9]?)|(([A-Z][A-HJ-Y][0-9][0-9]?)|(([A-Z][0-9][A-Z])|([A-Z][A-HJ-Y][0-9][A-Z]))))"
    r" [0-9][A-Z]{2}")
ABROAD_POSTCODE = "X"  # what HMRC's schedule takes in place of a postcode for a donor living outside the UK
MAX_NAME_LENGTH = 35
MAX_HOUSE_LENGTH = 40
MAX_ADDRESS_LENGTH = 200
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection); no name or house does.
FORMULA_STARTS = ("=", "+", "-", "@")
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
    """Capitals with one space before the inward code, as HMRC's schedule wants; X for a donor abroad; None if
    HMRC's validator would refuse it."""
    compact = re.sub(r"\s+", "", raw.upper())
    if compact == ABROAD_POSTCODE:
        return ABROAD_POSTCODE
    spaced = f"{compact[:-3]} {compact[-3:]}"
    return spaced if _HMRC_POSTCODE.fullmatch(spaced) else None


def normalise_title(raw: str) -> str:
    """"Dr." is written "Dr": HMRC's title pattern has no full stop."""
    return raw.replace(".", "").strip()


def neutralise_formula(cell: str) -> str:
    """A cell a spreadsheet would run as a formula is written as text, with the apostrophe spreadsheets use."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _schedule_text_problem(text: str, limit: int, what: str, ask: str = "write it") -> str | None:
    """Why HMRC's validator would refuse or alter `text` in a schedule cell, if it would."""
    dropped = "".join(dict.fromkeys(char for char in text if not _KEPT_BY_HMRC.fullmatch(char)))
    if dropped:
        return (f"HMRC's Gift Aid schedule cannot take letters such as {dropped[:5]}: please {ask} in Latin "
                "letters (accents such as é are fine)")
    if len(text) > limit:
        return f"HMRC's Gift Aid schedule takes at most {limit} characters for a {what}"
    if text.startswith(FORMULA_STARTS):
        return f"a {what} cannot start with {', '.join(FORMULA_STARTS[:-1])} or {FORMULA_STARTS[-1]}"
    return None


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
    address: str  # the rest of the home address (street, town, country for a donor abroad); may be empty
    postcode: str  # a UK postcode, or X for a donor living abroad
    scope: GiftAidScope
    wording: str
    declared_at: datetime
    source: str  # where it was made, e.g. "online:donation-form", "online:gift-aid-link"
    title: str = ""
    contact: str | None = None  # the donor's email or phone, linking declarations to one person
    first_name_latin: str = ""  # the name in Latin letters, for HMRC's schedule, when written in another script
    last_name_latin: str = ""
    cancelled_at: datetime | None = None
    cancelled_by: str = ""  # "donor:gift-aid-link", "desk:EMAIL" or "cli:USER"

    def covers(self, donated_at: datetime) -> bool:
        """HMRC, Gift Aid guidance for charities, chapter 3 (cancelling a declaration): a cancellation is
        recorded with its date and honoured from then on; gifts received before it may still be claimed."""
        return self.cancelled_at is None or donated_at < self.cancelled_at

    @classmethod
    def make(cls, *, donation_reference: str, charity_name: str, title: str, first_name: str, last_name: str,
             house: str, address: str, postcode: str,
             scope: GiftAidScope, declared_at: datetime, source: str, contact: str | None,
             first_name_latin: str = "", last_name_latin: str = "") -> GiftAidDeclaration:
        """Checks every field at once, so the donor sees all that is missing in one go."""
        declaration = cls(
            donation_reference=donation_reference, charity_name=charity_name, title=normalise_title(title),
            first_name=" ".join(first_name.split()), last_name=" ".join(last_name.split()),
            first_name_latin=" ".join(first_name_latin.split()), last_name_latin=" ".join(last_name_latin.split()),
            house=" ".join(house.split()), address=" ".join(address.split()),
            postcode=normalise_postcode(postcode) or postcode.strip(),
            scope=scope, wording=declaration_wording(charity_name, scope),
            declared_at=declared_at, source=source, contact=contact)
        problems = declaration.problems()
        if problems:
            raise GiftAidInvalid(problems)
        return declaration

    @property
    def schedule_first_name(self) -> str:
        return self.first_name_latin or self.first_name

    @property
    def schedule_last_name(self) -> str:
        return self.last_name_latin or self.last_name

    def problems(self) -> dict[str, str]:
        """What the donor must change for the declaration to be complete and for HMRC's validator to accept its
        row of the schedule; empty when nothing."""
        # Control characters and lone surrogates are no one's name or address (and no store keeps them): named
        # alone, as HMRC's rules would only add confusing advice about them.
        unstorable = {field: "use letters, numbers and punctuation only"
                      for field in ("title", "first_name", "last_name", "first_name_latin", "last_name_latin",
                                    "house", "address") if has_unstorable_characters(getattr(self, field))}
        if unstorable:
            return unstorable
        problems: dict[str, str] = {}
        if self.title and not _HMRC_TITLE.fullmatch(self.title):
            problems["title"] = "a title has 2 to 4 letters, such as Mr, Mrs, Ms, Mx, Dr or Prof; or leave it blank"
        for field, name, latin, what in (("first_name", self.first_name, self.first_name_latin, "first name"),
                                         ("last_name", self.last_name, self.last_name_latin, "surname")):
            if not name:
                problems[field] = f"enter your {what}" + (" or initial" if field == "first_name" else "")
            elif len(name) > MAX_NAME_LENGTH:
                problems[field] = f"at most {MAX_NAME_LENGTH} characters"
            elif (problem := _schedule_text_problem(latin or name, MAX_NAME_LENGTH, what,
                                                    f"also give your {what}")) is not None:
                problems[f"{field}_latin" if latin or not _KEPT_BY_HMRC.fullmatch(name) else field] = problem
        if not self.house:
            problems["house"] = "enter your house name or number"
        elif (problem := _schedule_text_problem(self.house, MAX_HOUSE_LENGTH, "house name or number")) is not None:
            problems["house"] = problem + ("" if len(self.house) <= MAX_HOUSE_LENGTH else
                                           ": give the house name or number here, and the street on its own")
        if len(self.address) > MAX_ADDRESS_LENGTH:
            problems["address"] = f"at most {MAX_ADDRESS_LENGTH} characters"
        if normalise_postcode(self.postcode) != self.postcode:
            problems["postcode"] = "enter a UK postcode, such as SW1A 1AA, or X if you live outside the UK"
        elif self.postcode == ABROAD_POSTCODE and not self.address:
            problems["address"] = "as you live outside the UK, enter the rest of your address, with the country"
        return problems
