"""Text giving's rules: who may give by text, how much, how a donation becomes charges, what donors are told.

Pure: the service layer feeds in what it read from the store and acts on what comes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum
from functools import lru_cache

import phonenumbers

from everypenny.domain.appeal import PSR_MONTHLY_MAX_PENCE, UK_TIME, Appeal, AppealStatus, Billing, Shortcode
from everypenny.domain.donation import Donation, DonationStatus
from everypenny.domain.money import format_pence
from everypenny.domain.promotion import charity_statement
from everypenny.domain.sms_text import fit_parts

# A phone number or shortcode as providers send them: E.164's digits (at most 15, ITU-T E.164 §6.1), with or
# without the +. Anything else is refused at the edge, before it is stored.
E164 = re.compile(r"^\+?[0-9]{1,15}$")
# Ofcom keeps 07700 900000-900999 for drama: no real subscriber has one, so demos and tests use them.
DRAMA_MOBILES = re.compile(r"^\+447700900[0-9]{3}$")
CROWN_DEPENDENCIES = {"GG": "Guernsey", "JE": "Jersey", "IM": "the Isle of Man"}
# The aggregator names the donor's network by an operator code (Fonix's, as its public clients
# lindar-open/fonix-client and JakubOboza/fonix show them); EE answers to two. Codes not listed here
# (virtual networks) name the network themselves: `tesco-uk` is TESCO.
OPERATOR_NETWORKS = {"o2-uk": "O2", "eeora-uk": "EE", "eetmo-uk": "EE", "voda-uk": "VODAFONE",
                     "three-uk": "THREE", "virgin-uk": "VIRGIN"}
# Networks that bill at most this much in one charge; a larger donation is split into several charges.
NETWORK_CHARGE_MAX_PENCE = {"O2": 1000, "TESCO": 1000}
MAX_REQUEST_ID_LENGTH = 80
NETWORK_LENGTH = 40


class NotUkMobile(ValueError):
    """Carrier billing and our replies serve UK mobiles only."""


@lru_cache(maxsize=4096)
def uk_mobile(msisdn: str) -> str:
    """The number in E.164, or NotUkMobile saying why it cannot give by text. Remembered for a while: a batch
    asks about each sender several times, and parsing a number is the dearest step of reading a text."""
    raw = msisdn.strip()
    candidate = raw if raw.startswith("+") else f"+{raw}"
    if DRAMA_MOBILES.match(candidate):
        return candidate
    try:
        number = phonenumbers.parse(candidate)
    except phonenumbers.NumberParseException:
        raise NotUkMobile(f"{raw!r} is not a phone number") from None
    region = phonenumbers.region_code_for_number(number)
    if region in CROWN_DEPENDENCIES:
        raise NotUkMobile(f"numbers from {CROWN_DEPENDENCIES[region]} cannot give by text")
    if region != "GB" or not phonenumbers.is_valid_number(number):
        raise NotUkMobile(f"{candidate} is not a UK number")
    if phonenumbers.number_type(number) is not phonenumbers.PhoneNumberType.MOBILE:
        raise NotUkMobile(f"{candidate} is not a UK mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def london_day_start(moment: datetime) -> datetime:
    """Midnight (appeal time) of the day `moment` falls in: when a number's daily cap starts again."""
    local = moment.astimezone(UK_TIME)
    return datetime.combine(local.date(), time(0), tzinfo=UK_TIME)


def london_month_start(moment: datetime) -> datetime:
    """Midnight (appeal time) of the first of the month `moment` falls in: when the PSR's monthly limit starts."""
    local = moment.astimezone(UK_TIME)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=UK_TIME)


@dataclass(frozen=True)
class Given:
    """What a number has given by text: today to one appeal, and this month to every appeal on the platform."""

    today_pence: int = 0
    month_pence: int = 0


class Refusal(StrEnum):
    CLOSED = "closed"
    NOT_OFFERED = "not_offered"
    OVER_TEXT_CAP = "over_text_cap"
    OVER_DAILY_CAP = "over_daily_cap"
    OVER_MONTHLY_LIMIT = "over_monthly_limit"


def refusal(appeal: Appeal, shortcode: Shortcode, keyword: str, amount_pence: int, given: Given) -> Refusal | None:
    """Why this text cannot become a donation, or None when it can.

    `given` counts the number's confirmed AND pending text donations, so a burst of texts cannot pass a cap
    while the first charges are still unconfirmed. The monthly limit is the law's, across every appeal on the
    platform: the Payment Services Regulations 2017 exclusion covers at most £240 a month per subscriber.
    """
    if appeal.status is not AppealStatus.LIVE:
        return Refusal.CLOSED
    listed = amount_pence in next(k.amounts_pence for k in shortcode.keywords if k.word == keyword)
    if shortcode.billing is Billing.LINK:
        # The donation page takes any amount from the online minimum, so the link can carry it.
        return None if listed or amount_pence >= appeal.online_minimum_pence else Refusal.NOT_OFFERED
    if amount_pence > appeal.per_text_cap_pence:
        return Refusal.OVER_TEXT_CAP
    if given.today_pence + amount_pence > appeal.per_number_daily_cap_pence:
        return Refusal.OVER_DAILY_CAP
    if given.month_pence + amount_pence > PSR_MONTHLY_MAX_PENCE:
        return Refusal.OVER_MONTHLY_LIMIT
    return None if listed else Refusal.NOT_OFFERED


def network_for(operator: str) -> str:
    """The network behind an aggregator's operator code (`o2-uk` is O2), which per-network rules key on."""
    code = operator.strip().lower()
    if not code:
        return ""
    return OPERATOR_NETWORKS.get(code) or code.removesuffix("-uk").upper()[:NETWORK_LENGTH]


def split_charges(amount_pence: int, network: str) -> list[int]:
    """The charges one donation becomes on this network: £20 on O2 is two £10 charges."""
    most = NETWORK_CHARGE_MAX_PENCE.get(network.upper(), amount_pence)
    full, rest = divmod(amount_pence, most)
    return [most] * full + ([rest] if rest else [])


def charge_request_id(provider_message_id: str, sequence: int) -> str:
    """Our id for one charge (Fonix's REQUESTID), echoed in its report: derived from the text, so a replay
    asks for the same charge, and unique forever because the text's id is."""
    return f"{_id_base(provider_message_id)}C{sequence}"


def message_request_id(base: str, tag: str, part: int) -> str:
    """Our id for one outbound message: the charge or text it answers, what it is (one letter), which part."""
    return f"{_id_base(base)}{tag.upper()}{part}"


def is_failure_notice(message: OutboundText, charge_request_id: str) -> bool:
    """Whether `message` is (a part of) the notice that this charge failed."""
    return message.purpose == "failure" and message.request_id.startswith(f"{_id_base(charge_request_id)}F")


def refund_request_id(charge_request_id: str) -> str:
    return f"{_id_base(charge_request_id)}RF"


def _id_base(provider_id: str) -> str:
    # Fonix takes letters and digits only, at most 80: room for two suffixes after 60.
    return re.sub(r"[^A-Za-z0-9]", "", provider_id)[:60]


class ChargeStatus(StrEnum):
    REQUESTED = "requested"
    CHARGED = "charged"
    FAILED = "failed"
    # No report came within the charge's time to live plus a margin: not raised, and settled by the
    # aggregator's monthly statement (a line for it posts it, none voids it).
    UNCONFIRMED = "unconfirmed"


CHARGED_CODE = "DELIVERED"  # Fonix's STATUSCODE for a charge that went through
FAILURE_REASON_LENGTH = 80  # a longer code is cut when it arrives


class FailureFamily(StrEnum):
    """What a network's refusal means to the donor; the aggregator's own code is kept on the charge."""

    NO_CREDIT = "no_credit"
    BARRED = "barred"
    SPEND_CAP = "spend_cap"
    NOT_NOW = "not_now"
    OTHER = "other"

    @classmethod
    def of(cls, code: str) -> FailureFamily:
        """Fonix's codes as the public clients and integrators list them (INSUFFICIENT_FUNDS, TEMPORARY_BARRED,
        MAX_SPEND_MSISDN, OPERATOR_SRV_*_MAX_SPEND, PAYM_MNO_SPEND_LIMIT: a spend cap; SECTOR_NOT_ALLOWED, which
        O2 uses for "temporarily unavailable": the network cannot take it now); a code no list has is OTHER."""
        code = code.strip().upper()
        if code == "INSUFFICIENT_FUNDS":
            return cls.NO_CREDIT
        if "BARRED" in code:
            return cls.BARRED
        if "MAX_SPEND" in code or code == "PAYM_MNO_SPEND_LIMIT":
            return cls.SPEND_CAP
        if code == "SECTOR_NOT_ALLOWED":
            return cls.NOT_NOW
        return cls.OTHER


# What the donor is told, completing "…, so no charge was made".
FAILURE_EXPLANATIONS = {
    FailureFamily.NO_CREDIT: "there was not enough pay-as-you-go credit on this phone",
    FailureFamily.BARRED: "this number is barred from premium or donation texts",
    FailureFamily.SPEND_CAP: "this number has reached its network spending limit",
    FailureFamily.NOT_NOW: "your network cannot take this donation just now",
    FailureFamily.OTHER: "your network could not take the donation",
}


@dataclass(frozen=True)
class SmsCharge:
    """One charge to a phone bill; a donation has one or more."""

    request_id: str
    donation_reference: str
    sequence: int
    amount_pence: int
    currency: str
    network: str
    status: ChargeStatus = ChargeStatus.REQUESTED
    failure_reason: str | None = None
    contradicting_report: str | None = None

    txguid: str | None = None  # the aggregator's id for the charge, from its answer or its report
    refund_status: str | None = None  # "pending" while the network works a refund, "refunded" once booked
    # Failed because the aggregator refused the request itself (its HTTP answer), not on a network's report.
    refused_on_request: bool = False
    contradiction_resolved: str | None = None  # how finance resolved contradicting reports (who, what, when)

    @property
    def final(self) -> bool:
        return self.status in (ChargeStatus.CHARGED, ChargeStatus.FAILED)

    def refused(self, code: str) -> SmsCharge:
        """The charge after the aggregator refused its first request outright: failed with that code, unless a
        report settled it first (a report outranks an answer)."""
        if self.final:
            return self
        return replace(self, status=ChargeStatus.FAILED, failure_reason=code, refused_on_request=True)

    def reported(self, status: ChargeStatus, reason: str | None) -> SmsCharge:
        """The charge after its report. The first final report wins (a report for an unconfirmed charge is
        still its first), except that a network's report of the charge outranks a failure we only read from
        the aggregator's answer: the donor paid, so the gift stands."""
        if not self.final:
            return replace(self, status=status, failure_reason=reason if status is ChargeStatus.FAILED else None)
        if status is self.status:
            return self
        if status is ChargeStatus.CHARGED and self.refused_on_request:
            return replace(self, status=status, failure_reason=None)
        note = f"{status.value}" + (f" ({reason})" if reason else "") + f" after {self.status.value}"
        return replace(self, contradicting_report=note)


def donation_after_charges(donation: Donation, charges: list[SmsCharge]) -> Donation:
    """The donation once all its charges are final (settled() decides paid, part paid or failed); settled
    again when a charge report overturns a failure read from an answer (nothing of it was refunded then)."""
    unsettled = donation.status is DonationStatus.PENDING or (
        donation.status in (DonationStatus.FAILED, DonationStatus.PART_PAID) and not donation.refunded_pence)
    if not unsettled or not all(c.final for c in charges):
        return donation
    paid = sum(c.amount_pence for c in charges if c.status is ChargeStatus.CHARGED)
    reasons = sorted({c.failure_reason for c in charges if c.status is ChargeStatus.FAILED and c.failure_reason})
    return donation.settled(paid, ", ".join(reasons) or None)


# ---- what donors read -------------------------------------------------------------------------------

def _money(appeal: Appeal, pence: int) -> str:
    return format_pence(pence, appeal.currency)


def keyword_list(appeal: Appeal, shortcode: Shortcode) -> str:
    """`SUN3, SUN5 or SUN10` (as donors type them, without the pound sign)."""
    options = [f"{k.word}{a // 100}" for k in shortcode.keywords for a in k.amounts_pence]
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def receipt(appeal: Appeal, charge_pence: int, sequence: int, of: int, gift_aid_url: str) -> str:
    """The thank-you the network delivers with the charge itself (the charge's BODY), so it reaches the donor
    only if the charge goes through; the aggregator sends it in as many parts as it takes. The Gift Aid
    invitation travels in it: a gift then costs one call to the aggregator and one report back, not a second
    (free) message and its delivery report. The first charge's receipt is the donor's first reply, so it carries
    the appeal's marketing consent words (DUAA 2025 s.114: a way to refuse at collection; domain/consent.py)."""
    part = f" (part {sequence} of {of} of your gift)" if of > 1 else ""
    return " ".join(fit_parts([
        f"Thank you! You gave {_money(appeal, charge_pence)}{part} to {appeal.name} for "
        f"{appeal.beneficiary.name} by text.",
        f"Add Gift Aid at no cost to you: {gift_aid_url}",
        appeal.consent_wording.text if sequence == 1 else "Text STOP to opt out.",
        f"Help: {appeal.helpline}.",
    ]))


def charge_failed(appeal: Appeal, charge_pence: int, reason: str, donate_url: str) -> tuple[str, ...]:
    explanation = FAILURE_EXPLANATIONS[FailureFamily.of(reason)]
    return fit_parts([
        f"Sorry, your {_money(appeal, charge_pence)} gift to {appeal.name} did not go through: "
        f"{explanation}, so no charge was made.",
        f"You can give online instead: {donate_url}",
    ])


def refused(appeal: Appeal, shortcode: Shortcode, why: Refusal, amount_pence: int,
            donate_url: str | None) -> tuple[str, ...]:
    money = _money(appeal, amount_pence)
    if why is Refusal.CLOSED:
        return fit_parts([
            f"{appeal.name} has closed, so no charge was made.",
            f"Thank you for thinking of {appeal.beneficiary.name}: see {appeal.terms_url} or call {appeal.helpline}."])
    if why is Refusal.NOT_OFFERED:
        return fit_parts([
            f"Sorry, {money} is not an amount you can give by text, so no charge was made. "
            f"Text {keyword_list(appeal, shortcode)} to {shortcode.number}."])
    if why is Refusal.OVER_TEXT_CAP:
        sentence = (f"The most you can give in one text is {_money(appeal, appeal.per_text_cap_pence)}, "
                    f"so no charge was made.")
    elif why is Refusal.OVER_DAILY_CAP:
        sentence = (f"Giving {money} would take this number past the "
                    f"{_money(appeal, appeal.per_number_daily_cap_pence)} a day limit for text gifts, "
                    f"so no charge was made.")
    else:
        sentence = (f"Giving {money} would take this number past the {_money(appeal, PSR_MONTHLY_MAX_PENCE)} a "
                    f"month that can be charged to a phone bill, so no charge was made.")
    return fit_parts([sentence, *([f"Give {money} online: {donate_url}"] if donate_url else [])])


def not_uk_mobile(appeal: Appeal, why: str, donate_url: str) -> tuple[str, ...]:
    return fit_parts([
        f"Sorry, text giving is for UK mobiles only (not the Channel Islands or Isle of Man): {why}. "
        "No charge was made.",
        f"You can give to {appeal.name} online: {donate_url}"])


def protected(appeal: Appeal) -> tuple[str, ...]:
    """To a number the charity blocked from giving (Fundraising Regulator: people in vulnerable circumstances):
    kind, no charge, and nothing that invites another try."""
    return fit_parts([
        f"Thank you for thinking of {appeal.beneficiary.name}. We can't take a gift from this phone, so no "
        f"charge was made. Any questions? Call {appeal.helpline}"])


def needs_amount(appeal: Appeal, shortcode: Shortcode) -> tuple[str, ...]:
    return fit_parts([
        f"To give to {appeal.name}, text {keyword_list(appeal, shortcode)} to {shortcode.number}. "
        "Texts cost your donation plus one standard rate message."])


def unknown_text(appeal: Appeal, shortcode: Shortcode) -> tuple[str, ...]:
    return fit_parts([
        f"Sorry, we did not recognise that. No charge was made. To give to {appeal.name}, text "
        f"{keyword_list(appeal, shortcode)} to {shortcode.number}. Text HELP for help."])


def help_text(appeal: Appeal) -> tuple[str, ...]:
    """The HELP reply, with the privacy notice (UK GDPR art. 13: where the number was collected)."""
    return fit_parts([
        f"{appeal.name}. {charity_statement(appeal)}",
        f"Help: {appeal.helpline}. T&Cs: {appeal.terms_url}",
        *([f"Privacy: {appeal.privacy_url}"] if appeal.privacy_url else []),
        "Text STOP to opt out."])


def stopped(appeal: Appeal, everything: bool) -> tuple[str, ...]:
    whom = "any charity on this number" if everything else appeal.beneficiary.name
    return fit_parts([
        f"You will get no more marketing texts from {whom}. Text START to opt back in. "
        f"Help: {appeal.helpline}"])


def started(appeal: Appeal) -> tuple[str, ...]:
    return fit_parts([
        f"Thank you: {appeal.beneficiary.name} may text you about its work. Text STOP at any time to opt out."])


def link_to_give(appeal: Appeal, amount_pence: int, donate_url: str) -> tuple[str, ...]:
    return fit_parts([
        f"Thank you for giving to {appeal.name} for {appeal.beneficiary.name}.",
        f"Tap to give {_money(appeal, amount_pence)}: {donate_url}",
        f"Help: {appeal.helpline}. Text STOP to opt out."])


def no_appeal(number: str) -> tuple[str, ...]:
    return fit_parts([f"Sorry, {number} is not taking donations at the moment. No charge was made."])



class MessageStatus(StrEnum):
    QUEUED = "queued"  # stored, waiting for the outbox to hand it to the provider
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the handset has it (delivery report)
    FAILED = "failed"  # the provider or network gave up (delivery report)
    REPLIED = "replied"  # answered inline in the provider's webhook response (TwiML)


@dataclass(frozen=True)
class OutboundText:
    """One free message to a donor: a receipt, a reply or a link."""

    request_id: str
    provider: str
    to: str
    sender: str
    body: str
    purpose: str
    in_reply_to: str
    donation_reference: str | None = None
    status: MessageStatus = MessageStatus.QUEUED
    status_detail: str | None = None
    txguid: str | None = None  # the aggregator's id for it, which its delivery report carries
