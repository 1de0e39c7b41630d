"""Reads an appeal's TOML file into the domain, naming the file and key of every mistake."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from everypenny.domain.appeal import (
    Appeal,
    AppealInvalid,
    AppealStatus,
    Beneficiary,
    Billing,
    FeesBorneBy,
    FinancialYearEnd,
    Keyword,
    RestrictedFund,
    Shortcode,
    SurplusRule,
)
from everypenny.domain.branding import Branding
from everypenny.domain.consent import ConsentModel, ConsentWording, default_wording
from everypenny.domain.national import Member, Partner, ShareVersion


class AppealFileError(ValueError):
    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {key}: {message}" for key, message in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Beneficiary(_Strict):
    name: str = Field(min_length=1)
    charity_number: str = Field(min_length=1)
    financial_year_end: str | None = None  # "31/03": the last day of the charity's accounting period
    scottish_charity_number: str | None = None  # "SC037738": on OSCR's register

    @field_validator("financial_year_end")
    @classmethod
    def _is_a_day_of_the_year(cls, text: str | None) -> str | None:
        try:
            return None if text is None else str(FinancialYearEnd.parse(text))
        except ValueError as error:
            raise PydanticCustomError("financial_year_end", str(error)) from None


class _Fund(_Strict):
    name: str = Field(min_length=1)
    purpose: str = Field(min_length=1)


class _Online(_Strict):
    minimum_pence: int
    suggested_pence: list[int] = []


class _Limits(_Strict):
    per_text_cap_pence: int = 2000
    per_number_daily_cap_pence: int = 3000


class _Keyword(_Strict):
    word: str
    amounts_pence: list[int]
    default_pence: int | None = None


class _Shortcode(_Strict):
    number: str = Field(pattern=r"^(\d{5}|\+\d{10,15})$")
    billing: Literal["carrier", "link"]
    keywords: list[_Keyword]


class _Sms(_Strict):
    shortcodes: list[_Shortcode] = []
    charge_description: str | None = None  # what the phone bill shows; default "Donation to <charity>"


class _Consent(_Strict):
    model: Literal["soft-opt-in", "opt-in"]
    wording: str | None = None  # what promotions and the first reply say; default: the model's own words


class _Surplus(_Strict):
    surplus_fund: str = Field(min_length=1)
    wording: str = Field(min_length=1)
    restricted_target_pence: int | None = None


class _Fees(_Strict):
    borne_by: Literal["media_partner", "platform"] = "media_partner"


class _Branding(_Strict):
    """Optional; what is left out keeps the platform's own look (see docs/donation-pages.md)."""

    masthead_colour: str = Branding.masthead_colour
    accent_colour: str = Branding.accent_colour
    logo_url: str | None = None
    image_url: str | None = None
    image_alt: str = ""


class _Partner(_Strict):
    """A media partner of a national appeal: its keywords (on this appeal's shortcodes) and optional look."""

    slug: str
    name: str = Field(min_length=1)
    keywords: list[str]
    branding: _Branding | None = None


class _Member(_Strict):
    """A member charity of a national appeal and the restricted fund its share is given to."""

    slug: str
    name: str = Field(min_length=1)
    charity_number: str = Field(min_length=1)
    fund: str = Field(min_length=1)


class _Shares(_Strict):
    """One version of the members' shares: `from` a date (TOML date or "YYYY-MM-DD"), basis points by member."""

    starts: str = Field(alias="from")
    basis_points: dict[str, int]

    @field_validator("starts", mode="before")
    @classmethod
    def _is_a_date(cls, value: object) -> object:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise PydanticCustomError("date", f"{value!r} must be a date written YYYY-MM-DD")


class AppealDocument(_Strict):
    slug: str
    name: str = Field(min_length=1)
    media_partner: str = Field(min_length=1)
    status: Literal["draft", "live", "closed"] = "live"
    currency: str
    terms_url: str = Field(pattern=r"^https?://")
    privacy_url: str | None = Field(default=None, pattern=r"^https?://")
    refunds_url: str | None = Field(default=None, pattern=r"^https?://")
    refunds_wording: str | None = Field(default=None, min_length=1)
    commercial_participator_statement: str | None = Field(default=None, min_length=1)
    helpline: str = Field(min_length=1)
    intro: str = ""
    target_pence: int | None = None
    beneficiary: _Beneficiary
    restricted_fund: _Fund
    online: _Online
    limits: _Limits = _Limits()
    sms: _Sms = _Sms()
    surplus: _Surplus
    fees: _Fees = _Fees()
    branding: _Branding | None = None
    consent: _Consent | None = None
    partners: list[_Partner] | None = None
    members: list[_Member] | None = None
    shares: list[_Shares] | None = None

    def to_domain(self) -> Appeal:
        year_end = self.beneficiary.financial_year_end
        return Appeal(
            slug=self.slug, name=self.name, media_partner=self.media_partner,
            status=AppealStatus(self.status), currency=self.currency, terms_url=self.terms_url,
            helpline=self.helpline, intro=self.intro, target_pence=self.target_pence,
            beneficiary=Beneficiary(self.beneficiary.name, self.beneficiary.charity_number,
                                    FinancialYearEnd.parse(year_end) if year_end else None,
                                    self.beneficiary.scottish_charity_number),
            restricted_fund=RestrictedFund(self.restricted_fund.name, self.restricted_fund.purpose),
            online_minimum_pence=self.online.minimum_pence,
            suggested_amounts_pence=tuple(self.online.suggested_pence),
            per_text_cap_pence=self.limits.per_text_cap_pence,
            per_number_daily_cap_pence=self.limits.per_number_daily_cap_pence,
            shortcodes=tuple(
                Shortcode(s.number, Billing(s.billing), tuple(
                    Keyword(k.word, tuple(k.amounts_pence), k.default_pence) for k in s.keywords))
                for s in self.sms.shortcodes),
            surplus_rule=SurplusRule(self.surplus.surplus_fund, self.surplus.wording,
                                     self.surplus.restricted_target_pence),
            fees_borne_by=FeesBorneBy(self.fees.borne_by),
            branding=Branding(**self.branding.model_dump()) if self.branding else Branding(),
            charge_description=self.sms.charge_description,
            consent=self._consent(), privacy_url=self.privacy_url, refunds_url=self.refunds_url,
            refunds_wording=self.refunds_wording,
            commercial_participator_statement=self.commercial_participator_statement,
            partners=tuple(Partner(p.slug, p.name, tuple(p.keywords),
                                   Branding(**p.branding.model_dump()) if p.branding else None)
                           for p in self.partners or ()),
            members=tuple(Member(m.slug, m.name, m.charity_number, m.fund) for m in self.members or ()),
            share_versions=tuple(ShareVersion(date.fromisoformat(s.starts), dict(s.basis_points))
                                 for s in self.shares or ()),
        )

    def _consent(self) -> ConsentWording | None:
        if self.consent is None:
            return None
        model = ConsentModel(self.consent.model)
        return ConsentWording(model, self.consent.wording or default_wording(model, self.beneficiary.name))


# Settings added after appeals were first stored: while a file leaves one out, it stays out of the stored
# definition (and its hash), so an unchanged file stays unchanged.
_OPTIONAL_SECTIONS = ("branding", "consent", "privacy_url", "refunds_url", "refunds_wording",
                      "commercial_participator_statement", "partners", "members", "shares")


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_definition(definition: dict[str, Any], source: str) -> tuple[Appeal, dict[str, Any]]:
    """The domain appeal and its normalised definition (what we store and compare)."""
    try:
        document = AppealDocument.model_validate(definition)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            message = "is missing" if item["type"] == "missing" else (
                "is not a setting an appeal has" if item["type"] == "extra_forbidden" else item["msg"])
            problems.append((_location(item["loc"]), message))
        raise AppealFileError(source, problems) from None
    try:
        appeal = document.to_domain()
    except AppealInvalid as error:
        raise AppealFileError(source, [(p.key, p.message) for p in error.problems]) from None
    absent = {key for key in _OPTIONAL_SECTIONS if getattr(document, key) is None}
    return appeal, document.model_dump(mode="json", by_alias=True, exclude=absent or None)


def appeal_from_definition(definition: dict[str, Any]) -> Appeal:
    return parse_definition(definition, "stored definition")[0]


def load_appeal_file(path: Path) -> tuple[Appeal, dict[str, Any]]:
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AppealFileError(source, [("(file)", "no such file")]) from None
    except tomllib.TOMLDecodeError as error:
        raise AppealFileError(source, [("(syntax)", f"not valid TOML: {error}")]) from None
    return parse_definition(raw, source)
