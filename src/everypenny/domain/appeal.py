"""An appeal as the charity and its media partner agree it: who benefits, how people give, what limits apply."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from everypenny.domain.branding import Branding
from everypenny.domain.consent import ConsentModel, ConsentWording, default_wording, wording_problems
from everypenny.domain.money import check_currency
from everypenny.domain.national import (
    BASIS_POINTS,
    Member,
    Partner,
    ShareVersion,
    member_problems,
    partner_problems,
    slug_of,
)
from everypenny.domain.sms_text import gsm7_length

# UK appeals count a donor's day, date a gift and show every time in UK local time (GMT or BST).
UK_TIME = ZoneInfo("Europe/London")


class AppealRuleBroken(ValueError):
    """A definition that cannot run as written; `key` names the offending setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class AppealInvalid(ValueError):
    def __init__(self, problems: list[AppealRuleBroken]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class Channel(StrEnum):
    CARRIER_SMS = "carrier_sms"
    TEXT_TO_LINK = "text_to_link"
    ONLINE = "online"


class Billing(StrEnum):
    """How a number takes money: on the phone bill, or by replying with a link to the donation page."""

    CARRIER = "carrier"
    LINK = "link"


class AppealStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class FeesBorneBy(StrEnum):
    MEDIA_PARTNER = "media_partner"
    PLATFORM = "platform"


# Fonix's CHARGEDESCRIPTION, shown on the donor's phone bill, takes at most 30 characters (a payment
# integrator's public Fonix provider page; see docs/appeal-rules.md).
CHARGE_DESCRIPTION_MAX_LENGTH = 30
FALLBACK_CHARGE_DESCRIPTION = "Charity donation"

# The Payment Services Regulations 2017 (Sch. 1 Part 2 para. 2(l), the electronic communications exclusion; FCA
# PERG 15) cover a charge to a phone bill only up to £40 a transaction and £240 a month per subscriber.
PSR_TRANSACTION_MAX_PENCE = 4000
PSR_MONTHLY_MAX_PENCE = 24000

# Keyword providers ask for 3-20 characters that do not end in a digit, so that SUN5 reads as SUN + £5.
KEYWORD_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,18}[A-Z]$")


@dataclass(frozen=True)
class Keyword:
    word: str
    amounts_pence: tuple[int, ...]
    default_pence: int | None = None


@dataclass(frozen=True)
class Shortcode:
    number: str
    billing: Billing
    keywords: tuple[Keyword, ...]

    @property
    def channel(self) -> Channel:
        return Channel.CARRIER_SMS if self.billing is Billing.CARRIER else Channel.TEXT_TO_LINK


@dataclass(frozen=True)
class FinancialYearEnd:
    """The last day of the charity's accounting period, e.g. 31/03: Gift Aid aggregates never span two periods."""

    day: int
    month: int

    @classmethod
    def parse(cls, text: str) -> FinancialYearEnd:
        """"31/03" (day/month); ValueError with the reason otherwise."""
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})", text.strip())
        if match is None:
            raise ValueError(f"{text!r} must be the day and month the charity's financial year ends, such as 31/03")
        day, month = int(match.group(1)), int(match.group(2))
        if (month, day) == (2, 29):
            raise ValueError("29/02 is not in every year: use 28/02")
        try:
            date(2025, month, day)
        except ValueError:
            raise ValueError(f"{text!r} is not a day of the year") from None
        return cls(day, month)

    def period_end(self, on: date) -> date:
        """The end of the accounting period that `on` falls in."""
        this_year = date(on.year, self.month, self.day)
        return this_year if on <= this_year else date(on.year + 1, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.day:02d}/{self.month:02d}"


# OSCR's Scottish Charity Register numbers charities SC and six digits (e.g. SC037738).
SCOTTISH_CHARITY_NUMBER = re.compile(r"SC[0-9]{6}")


@dataclass(frozen=True)
class Beneficiary:
    name: str
    charity_number: str
    financial_year_end: FinancialYearEnd | None = None  # needed before small Gift Aid donations are aggregated
    scottish_charity_number: str | None = None

    @property
    def registered_as(self) -> str:
        """`registered charity 220949`, with the Scottish number a charity on OSCR's register must show on its
        fundraising material (Charities and Trustee Investment (Scotland) Act 2005 s.39; SSI 2007/203)."""
        scottish = f", Scottish charity {self.scottish_charity_number}" if self.scottish_charity_number else ""
        return f"registered charity {self.charity_number}{scottish}"


@dataclass(frozen=True)
class RestrictedFund:
    name: str
    purpose: str


@dataclass(frozen=True)
class SurplusRule:
    """Money beyond the restricted fund's target goes to a named second fund, in the T&Cs' own words."""

    surplus_fund: str
    wording: str
    restricted_target_pence: int | None = None


@dataclass(frozen=True)
class Appeal:
    slug: str
    name: str
    media_partner: str
    beneficiary: Beneficiary
    restricted_fund: RestrictedFund
    terms_url: str
    helpline: str
    currency: str
    online_minimum_pence: int
    suggested_amounts_pence: tuple[int, ...]
    per_text_cap_pence: int
    per_number_daily_cap_pence: int
    surplus_rule: SurplusRule
    shortcodes: tuple[Shortcode, ...] = ()
    status: AppealStatus = AppealStatus.LIVE
    target_pence: int | None = None
    fees_borne_by: FeesBorneBy = FeesBorneBy.MEDIA_PARTNER
    intro: str = field(default="")
    branding: Branding = field(default_factory=Branding)
    charge_description: str | None = None  # on the phone bill; None: description_on_bill's default
    consent: ConsentWording | None = None  # the file's [consent]; None: not stated (a live appeal must)
    privacy_url: str | None = None  # the charity's privacy notice (a live appeal must have one)
    refunds_url: str | None = None  # where to ask for a refund or complain; else the helpline
    refunds_wording: str | None = None  # the charity's own words on refunds and complaints
    # When the media partner is a commercial participator, its statement of the charity and how it benefits
    # (Charities Act 1992 s.60), printed wherever the charity number is.
    commercial_participator_statement: str | None = None
    # A national appeal's partners, members and share versions; see domain/national.py and the effective_* views.
    partners: tuple[Partner, ...] = ()
    members: tuple[Member, ...] = ()
    share_versions: tuple[ShareVersion, ...] = ()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise AppealInvalid(problems)

    def problems(self) -> list[AppealRuleBroken]:
        """Every rule the definition breaks, so a file's author can fix them all at once."""
        found: list[AppealRuleBroken] = []
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.slug):
            found.append(AppealRuleBroken("slug", f"{self.slug!r} must be lower-case words joined by hyphens"))
        try:
            check_currency(self.currency)
        except ValueError as error:
            found.append(AppealRuleBroken("currency", str(error)))
        for key in ("online_minimum_pence", "per_text_cap_pence", "per_number_daily_cap_pence"):
            if getattr(self, key) <= 0:
                found.append(AppealRuleBroken(key, "must be a positive whole number of pence"))
        scottish = self.beneficiary.scottish_charity_number
        if scottish is not None and not SCOTTISH_CHARITY_NUMBER.fullmatch(scottish):
            found.append(AppealRuleBroken("beneficiary.scottish_charity_number",
                                          f"{scottish!r} must be SC and six digits, as OSCR's register gives it"))
        if self.per_text_cap_pence > PSR_TRANSACTION_MAX_PENCE:
            found.append(AppealRuleBroken("limits.per_text_cap_pence", (
                f"{self.per_text_cap_pence} is over {PSR_TRANSACTION_MAX_PENCE}: the Payment Services Regulations "
                "2017 allow at most £40 a text to be charged to a phone bill")))
        if self.per_number_daily_cap_pence > PSR_MONTHLY_MAX_PENCE:
            found.append(AppealRuleBroken("limits.per_number_daily_cap_pence", (
                f"{self.per_number_daily_cap_pence} is over {PSR_MONTHLY_MAX_PENCE}: the Payment Services "
                "Regulations 2017 allow at most £240 a month to be charged to a phone bill")))
        if self.per_text_cap_pence > self.per_number_daily_cap_pence:
            found.append(AppealRuleBroken(
                "limits.per_text_cap_pence", "is larger than the per-number daily cap, so no text could reach it"))
        for amount in self.suggested_amounts_pence:
            if amount < self.online_minimum_pence:
                found.append(AppealRuleBroken(
                    "online.suggested_pence", f"{amount} is below the online minimum {self.online_minimum_pence}"))
        found.extend(self._shortcode_problems())
        if self.charge_description is not None:
            found.extend(AppealRuleBroken("sms.charge_description", message)
                         for message in charge_description_problems(self.charge_description))
        if self.consent is not None:
            found.extend(AppealRuleBroken("consent.wording", message)
                         for message in wording_problems(self.consent.model, self.consent.text))
        found.extend(AppealRuleBroken(f"branding.{key}", message) for key, message in self.branding.problems())
        found.extend(self._national_problems())
        return found

    def _national_problems(self) -> list[AppealRuleBroken]:
        words = {keyword.word for shortcode in self.shortcodes for keyword in shortcode.keywords}
        found = [AppealRuleBroken(key, message) for key, message in (
            *partner_problems(self.partners, words), *member_problems(self.members, self.share_versions))]
        if self.members and self.surplus_rule.restricted_target_pence is not None:
            found.append(AppealRuleBroken(
                "surplus.restricted_target_pence", "an appeal with [[members]] shares all its money by its "
                "[[shares]]; a restricted fund target would move the same money to the surplus fund"))
        return found

    def _shortcode_problems(self) -> list[AppealRuleBroken]:
        found: list[AppealRuleBroken] = []
        numbers: set[str] = set()
        for s, shortcode in enumerate(self.shortcodes):
            where = f"sms.shortcodes[{s}]"
            if shortcode.number in numbers:
                found.append(AppealRuleBroken(f"{where}.number", f"{shortcode.number} is listed twice"))
            numbers.add(shortcode.number)
            words: set[str] = set()
            for k, keyword in enumerate(shortcode.keywords):
                at = f"{where}.keywords[{k}]"
                if not KEYWORD_PATTERN.match(keyword.word):
                    found.append(AppealRuleBroken(
                        f"{at}.word",
                        f"{keyword.word!r} must be 3-20 capital letters or digits, starting and ending in a letter"))
                if keyword.word in words or any(keyword.word == f"{w}NOINFO" for w in words):
                    found.append(AppealRuleBroken(
                        f"{at}.word", f"keyword {keyword.word} is already used on shortcode {shortcode.number}"))
                words.add(keyword.word)
                if not keyword.amounts_pence:
                    found.append(AppealRuleBroken(f"{at}.amounts_pence", "lists no amounts"))
                for amount in keyword.amounts_pence:
                    if amount <= 0 or amount % 100:
                        found.append(AppealRuleBroken(
                            f"{at}.amounts_pence", f"{amount} is not a whole number of pounds in pence"))
                    elif amount > self.per_text_cap_pence:
                        found.append(AppealRuleBroken(
                            f"{at}.amounts_pence",
                            f"{amount} is over the per-text cap of {self.per_text_cap_pence}"))
                if keyword.default_pence is not None and keyword.default_pence not in keyword.amounts_pence:
                    found.append(AppealRuleBroken(
                        f"{at}.default_pence", f"{keyword.default_pence} is not one of the keyword's amounts"))
        return found

    @property
    def description_on_bill(self) -> str:
        """Fonix's CHARGEDESCRIPTION: the file's, else "Donation to" the charity when that fits in 30."""
        if self.charge_description is not None:
            return self.charge_description
        named = f"Donation to {self.beneficiary.name}"
        return named if not charge_description_problems(named) else FALLBACK_CHARGE_DESCRIPTION

    @property
    def consent_wording(self) -> ConsentWording:
        """What donors are told about marketing texts: the file's, else the soft opt-in appeals used before
        the model was stated (texting the keyword opts in, NOINFO refuses)."""
        return self.consent or ConsentWording(ConsentModel.SOFT_OPT_IN,
                                              default_wording(ConsentModel.SOFT_OPT_IN, self.beneficiary.name))

    @cached_property
    def effective_partners(self) -> tuple[Partner, ...]:
        """The partners; without [[partners]], the one media partner, whose call to action is every keyword."""
        if self.partners:
            return self.partners
        words = dict.fromkeys(keyword.word for shortcode in self.shortcodes for keyword in shortcode.keywords)
        return (Partner(slug_of(self.media_partner), self.media_partner, tuple(words)),)

    @cached_property
    def effective_members(self) -> tuple[Member, ...]:
        """The member charities; without [[members]], the beneficiary alone, with the appeal's restricted fund."""
        if self.members:
            return self.members
        return (Member(slug_of(self.beneficiary.name), self.beneficiary.name, self.beneficiary.charity_number,
                       self.restricted_fund.name),)

    @cached_property
    def effective_shares(self) -> tuple[ShareVersion, ...]:
        """The share versions; without [[members]], the beneficiary's 10,000 since the appeal began."""
        if self.share_versions:
            return self.share_versions
        return (ShareVersion(date.min, {self.effective_members[0].slug: BASIS_POINTS}),)

    @cached_property
    def _partner_by_keyword(self) -> dict[str, str]:
        return {word: partner.slug for partner in self.effective_partners for word in partner.keywords}

    def partner_of_keyword(self, word: str) -> str:
        """The slug of the partner whose call to action `word` is (validation gives every keyword one)."""
        return self._partner_by_keyword[word]

    def partner(self, slug: str) -> Partner | None:
        return next((p for p in self.effective_partners if p.slug == slug), None)

    def shortcode(self, number: str) -> Shortcode | None:
        return next((s for s in self.shortcodes if s.number == number), None)

    @property
    def takes_money(self) -> bool:
        return self.status is AppealStatus.LIVE


def charge_description_problems(text: str) -> list[str]:
    """Fonix takes a CHARGEDESCRIPTION of 1-30 GSM-7 characters (docs/appeal-rules.md cites the source)."""
    length = gsm7_length(text)
    if not text.strip():
        return ["is empty: the phone bill would not say what the charge was for"]
    if length is None:
        return [f"{text!r} has characters outside GSM-7, which a phone bill cannot show"]
    if length > CHARGE_DESCRIPTION_MAX_LENGTH:
        return [f"{text!r} is {length} characters; the aggregator takes at most {CHARGE_DESCRIPTION_MAX_LENGTH}"]
    return []
