"""What a text-to-give promotion says: the call to action and, next to it, its small print.

One function (`small_print`) writes the small print from the appeal file, so the widget, the donation page and
the desk's promotion copy (print, on-air script, web snippet) can never say different things. The rules and
their sources are listed in docs/appeal-rules.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from everypenny.domain.appeal import Appeal, Billing
from everypenny.domain.money import format_pence


@dataclass(frozen=True)
class CallToAction:
    """`Text SUN10 to 70141 to give £10`: one keyword and amount on a carrier-billed shortcode."""

    keyword: str
    number: str
    amount_pence: int

    @property
    def text(self) -> str:
        return f"{self.keyword}{self.amount_pence // 100}"


def calls_to_action(appeal: Appeal) -> tuple[CallToAction, ...]:
    """Every keyword and amount a donor can text to be charged on the phone bill, as the file lists them."""
    return tuple(CallToAction(keyword.word, shortcode.number, amount)
                 for shortcode in appeal.shortcodes if shortcode.billing is Billing.CARRIER
                 for keyword in shortcode.keywords for amount in keyword.amounts_pence)


def _either(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def cost_statement(appeal: Appeal, amounts_pence: Sequence[int]) -> str:
    """The price next to the call to action (BCAP Code 22.2; Ofcom's premium-rate rules, transparency)."""
    amounts = _either([format_pence(amount, appeal.currency) for amount in sorted(set(amounts_pence))])
    return f"Texts cost {amounts} + one standard rate message."


def charity_statement(appeal: Appeal) -> str:
    """Who receives the money, as the Code of Fundraising Practice asks donors be told before they give: the
    charity's numbers (Beneficiary.registered_as) and any commercial participator's statement (Charities Act
    1992 s.60). Everywhere the charity number is printed, this is what is printed."""
    statement = f"Donations go to {appeal.beneficiary.name}, {appeal.beneficiary.registered_as}."
    participator = appeal.commercial_participator_statement
    return f"{statement} {participator}" if participator else statement


def refunds_and_complaints(appeal: Appeal) -> str:
    """How to get a refund and complain, which donors are told before they give (Code of Fundraising Practice,
    "Processing donations" and "Complaints"); the Fundraising Regulator hears what the charity does not settle."""
    route = appeal.refunds_wording or (
        f"To ask for a refund or to complain, see {appeal.refunds_url} or call {appeal.helpline}."
        if appeal.refunds_url else f"To ask for a refund or to complain, call {appeal.helpline}.")
    return (f"{route} If you are not happy with the answer, you can complain to the Fundraising Regulator: "
            "https://www.fundraisingregulator.org.uk/complaints")


def small_print(appeal: Appeal, amounts_pence: Sequence[int]) -> str:
    """The small print a text-to-give call to action carries next to it (BCAP 22.2, Ofcom PRS rules; the
    usual wording of UK donation platforms): cost, UK mobiles only, 16 or over with the bill payer's
    permission, the charity's name and number, the marketing consent words (PECR reg. 22 as amended by DUAA
    2025 s.114: a simple way to refuse where the number is collected), the helpline and the terms."""
    return " ".join([
        cost_statement(appeal, amounts_pence),
        "UK mobiles only.",
        "You must be 16 or over and have the bill payer's permission.",
        charity_statement(appeal),
        appeal.consent_wording.text,
        f"Helpline: {appeal.helpline}.",
        f"T&Cs: {appeal.terms_url}",
    ])


@dataclass(frozen=True)
class PromotionCopy:
    """Ready-to-use words for the media partner: a printed panel and a script read on air."""

    calls: tuple[CallToAction, ...]
    small_print: str
    print_text: str
    on_air: str


def promotion_copy(appeal: Appeal) -> PromotionCopy:
    calls = calls_to_action(appeal)
    fine = small_print(appeal, [call.amount_pence for call in calls])
    prices = [format_pence(call.amount_pence, appeal.currency) for call in calls]
    lines = [f"Text {call.text} to {call.number} to give {price}." for call, price in zip(calls, prices, strict=True)]
    spoken = _either([f"{call.text} to give {price}" for call, price in zip(calls, prices, strict=True)])
    number = _either(sorted({call.number for call in calls}))
    return PromotionCopy(
        calls=calls, small_print=fine,
        print_text="\n".join([f"{appeal.name}: give to {appeal.beneficiary.name}.", *lines, fine]),
        on_air=f"To give to {appeal.name}, text {spoken}, to {number}. {fine}")
