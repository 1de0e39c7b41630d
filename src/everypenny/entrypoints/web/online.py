"""Online giving on the web: the donation page, its JSON API, Stripe's webhook and the Gift Aid page.

Thin: each route turns HTTP into a call to service_layer.online_donations (or a read of service_layer.views)
and its answer back into HTTP. The routes are module-level and take the platform from the app (dependencies.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from everypenny.bootstrap import Platform
from everypenny.domain.appeal import Appeal, AppealStatus
from everypenny.domain.consent import email_opt_in
from everypenny.domain.donation import DonationStatus
from everypenny.domain.gift_aid import GiftAidInvalid, GiftAidScope, declaration_wording, gift_aid_pence
from everypenny.domain.money import CURRENCY_SYMBOLS, format_pence, pounds_and_pence
from everypenny.domain.privacy import mask_email, mask_phone
from everypenny.domain.promotion import charity_statement, promotion_copy, refunds_and_complaints
from everypenny.entrypoints.web.contract import UNKNOWN_APPEAL, problem
from everypenny.entrypoints.web.contract import field_problems as field_problems_doc
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.entrypoints.web.edge import client_address
from everypenny.entrypoints.web.errors import field_problems, refusal_headers, status_of
from everypenny.service_layer import links, views
from everypenny.service_layer.appeals import UnknownAppeal, UnknownPartner
from everypenny.service_layer.gift_aid_claims import GiftAidCancelRefused, cancel_gift_aid
from everypenny.service_layer.online_donations import (
    AppealNotTakingDonations,
    CheckoutUnavailable,
    DonationForm,
    DonationRefused,
    GiftAidAlreadyDeclared,
    GiftAidAnswers,
    OnlineContext,
    RateLimited,
    RateLimits,
    accept_stripe_event,
    declare_gift_aid,
    start_online_donation,
)
from everypenny.service_layer.online_ports import CheckoutStatus, EventRefused
from everypenny.service_layer.protection import GivingProtected
from everypenny.service_layer.rate_limits import count_attempt
from everypenny.service_layer.views import AppealFigures, DonorDonation

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def sentence(text: str) -> str:
    """A message as the start of a sentence: first letter capital, the rest as written (unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


TEMPLATES.env.filters["money"] = lambda pence, currency="GBP": format_pence(pence, currency)
TEMPLATES.env.filters["sentence"] = sentence
TEMPLATES.env.globals.update(promotion_copy=promotion_copy, email_opt_in=email_opt_in,
                             refunds_and_complaints=refunds_and_complaints, charity_statement=charity_statement)
HONEYPOT = "website"  # a field people never see or fill in; form-filling bots do
_POUNDS = re.compile(r"^£?\s*(\d{1,7})(?:\.(\d{1,2}))?$")
GIFT_AID_FIELDS = ("title", "first_name", "last_name", "first_name_latin", "last_name_latin", "house", "address",
                   "postcode")


class GiftAidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field("", description="empty, or 2 to 4 letters (HMRC's pattern): Mr, Ms, Dr (a full stop is "
                                         "dropped)")
    first_name: str = Field(description="at most 35 characters, in any script")
    last_name: str = Field(description="at most 35 characters, in any script")
    first_name_latin: str = Field("", description="the first name in Latin letters, required when `first_name` has "
                                                  "letters HMRC's schedule cannot take (e.g. Cyrillic)")
    last_name_latin: str = Field("", description="the surname in Latin letters, as for `first_name_latin`")
    house: str = Field(description="house name or number, at most 40 characters (HMRC's limit)")
    address: str = Field("", description="the rest of the home address; required with postcode X")
    postcode: str = Field(description="a UK postcode, or X for a donor living outside the UK")
    scope: GiftAidScope = GiftAidScope.THIS_DONATION


class DonationIn(BaseModel):
    """A donation started from a media partner's own page; the donor pays on the returned checkout URL."""

    model_config = ConfigDict(extra="forbid")
    amount_pence: int = Field(description="whole pence, at least the appeal's online minimum")
    email: str | None = Field(None, description="where the receipt goes")
    marketing_consent: bool = False
    gift_aid: GiftAidIn | None = Field(None, description="a Gift Aid declaration, in HMRC's required content")


class DonationCreated(BaseModel):
    id: str
    status: str
    amount_pence: int
    currency: str
    checkout_url: str


# A session stays payable at Stripe after a declined card, until it completes or expires.
PAYABLE = (CheckoutStatus.OPEN, CheckoutStatus.FAILED)
# The refusals the donation form shows beside its fields or above them; a closed appeal gets a page of its own.
FORM_REFUSALS = (DonationRefused, RateLimited, CheckoutUnavailable, GivingProtected)
GONE = 410  # a page whose appeal no longer takes money is gone for good, as its GET says (the API answers 409)

router = APIRouter()


def _context(platform: Platform) -> OnlineContext:
    settings = platform.settings
    return OnlineContext(
        public_url=settings.public_url, secret_key=settings.secret_key,
        limits=RateLimits(per_ip=settings.donation_limit_per_ip, per_email=settings.donation_limit_per_email,
                          window=timedelta(seconds=settings.donation_limit_window_s)),
        checkout_expiry=timedelta(seconds=settings.stripe_checkout_expiry_s),
        link_lifetime=_link_lifetime(platform))


def _link_lifetime(platform: Platform) -> timedelta:
    return timedelta(days=platform.settings.donor_link_days)


def parse_pounds(raw: str) -> int | None:
    """"7.50" or "£7.5" → 750 pence, read as text so no float is ever involved."""
    match = _POUNDS.match(raw.strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def chosen_amount(choice: str, other: str) -> tuple[int | None, str | None]:
    """(pence, problem) from the amount radios and the "Other amount" box, as the page words the rule: the
    chosen radio decides, and the box counts only with "Other amount" chosen (or when no radio is)."""
    other = other.strip()
    if choice.isascii() and choice.isdigit():  # "²" is a digit to str.isdigit, but no number to int()
        return int(choice), None
    if choice == "other" or other:
        if not other:
            return None, "type the amount you would like to give, or choose one of ours"
        pence = parse_pounds(other)
        return pence, None if pence is not None else "enter an amount in pounds, such as 7 or 7.50"
    return None, "choose an amount or enter your own"


def prefilled_values(appeal: Appeal, amount_pence: int | None, token: str | None,
                     phone_known: bool) -> dict[str, Any]:
    """The form's starting values: a suggested amount chosen, or any other put in the box; the text-to-link
    token kept only when it names a phone (`phone_known`)."""
    values: dict[str, Any] = {"from": token if token and phone_known else ""}
    if amount_pence in appeal.suggested_amounts_pence:
        values["amount"] = str(amount_pence)
    elif amount_pence:
        values["amount"], values["other_amount"] = "other", pounds_and_pence(amount_pence)
    return values


def _prefilled_phone(platform: Platform, token: str | None) -> str | None:
    """The donor's phone from a text-to-link token, or None when there is no valid token."""
    if not token:
        return None
    try:
        return links.phone_from_prefill_token(platform.settings.secret_key, token, _link_lifetime(platform))
    except links.InvalidLink:
        return None


def _gift_aid_answers(values: dict[str, Any]) -> GiftAidAnswers:
    try:
        scope = GiftAidScope(values.get("scope") or GiftAidScope.THIS_DONATION)
    except ValueError:
        scope = GiftAidScope.THIS_DONATION
    return GiftAidAnswers(scope=scope, **{name: str(values.get(name) or "") for name in GIFT_AID_FIELDS})


def _wordings(appeal: Appeal) -> dict[str, str]:
    return {scope.value: declaration_wording(appeal.beneficiary.name, scope) for scope in GiftAidScope}


def _wait_minutes(retry_after_s: int) -> int:
    return retry_after_s // 60 + 1


# --- the pages' parts --------------------------------------------------------------------------------------

def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def message(request: Request, title: str, text: str, status_code: int) -> HTMLResponse:
    return page(request, "online/message.html", {"title": title, "text": text}, status_code)


def appeal_not_found(request: Request) -> HTMLResponse:
    return message(request, "Appeal not found", "We could not find this appeal. Please check the link.", 404)


def donate_page(request: Request, platform: Platform, figures: AppealFigures, values: dict[str, Any],
                errors: dict[str, str], status_code: int = 200, notice: str | None = None,
                partner: str | None = None) -> HTMLResponse:
    appeal = figures.appeal
    return page(request, "online/donate.html", {
        "appeal": appeal, "values": values, "errors": errors, "notice": notice, "totals": figures.totals,
        "form_action": f"/donate/{appeal.slug}" + (f"/{partner}" if partner else ""),
        "symbol": CURRENCY_SYMBOLS[appeal.currency], "poll_seconds": platform.settings.widget_poll_seconds,
        "masked_phone": mask_phone(_prefilled_phone(platform, values.get("from"))),
        "wordings": _wordings(appeal), "honeypot": HONEYPOT}, status_code)


def refused_form(request: Request, platform: Platform, figures: AppealFigures, values: dict[str, Any],
                 errors: dict[str, str], refused: Exception, partner: str | None = None) -> HTMLResponse:
    """The form again, saying why the donation did not start: beside each field, or above the form."""
    problems, notice = {}, None
    if isinstance(refused, DonationRefused):
        problems = refused.problems
    elif isinstance(refused, RateLimited):
        notice = ("There have been too many donation attempts from here. Please wait "
                  f"{_wait_minutes(refused.retry_after_s)} minutes and try again.")
    else:
        notice = sentence(str(refused)) + "."
    response = donate_page(request, platform, figures, values, {**problems, **errors}, status_of(refused), notice,
                           partner)
    response.headers.update(refusal_headers(refused))
    return response


def refused_link(request: Request, platform: Platform, title: str, problem: links.InvalidLink) -> HTMLResponse:
    """A wrong or expired token: counted per client, so guessing links soon meets a 429."""
    settings = platform.settings
    wait_s = count_attempt(platform.uow(), "donor-link:ip", client_address(request), settings.link_probes_per_ip,
                           timedelta(seconds=settings.link_probe_window_s), datetime.now(UTC))
    if wait_s is not None:
        response = message(request, title, "There have been too many attempts from your connection. Please "
                                            f"wait {_wait_minutes(wait_s)} minutes and try again.", 429)
        response.headers["Retry-After"] = str(wait_s)
        return response
    return message(request, title, sentence(str(problem)) + ": please use the link from your receipt.", 404)


def donation_view(request: Request, platform: Platform, slug: str, reference: str,
                  render: Callable[[DonorDonation], HTMLResponse]) -> HTMLResponse:
    """A donation's page for whoever holds its receipt key; anyone else learns nothing, not even that it
    exists."""
    key = request.query_params.get(links.RECEIPT_KEY_PARAM, "")
    try:
        if links.reference_from_receipt_key(platform.settings.secret_key, key,
                                            _link_lifetime(platform)) != reference:
            raise links.InvalidLink("this donation link is not valid")
    except links.InvalidLink as invalid:
        return refused_link(request, platform, "Donation not found", invalid)
    found = views.donor_donation(platform.uow(), reference)
    if found is None or found.donation.appeal != slug:
        return message(request, "Donation not found", "We could not find this donation.", 404)
    return _private(render(found))


def awaiting_success_event(found: DonorDonation) -> bool:
    """Stripe sends donors to the thank-you page only after a successful payment. A donation that failed on an
    earlier card while its session is still payable is therefore awaiting the success event, not failed."""
    donation, checkout = found.donation, found.checkout
    return donation.status is DonationStatus.PENDING or (
        donation.status is DonationStatus.FAILED and checkout is not None
        and checkout.status is CheckoutStatus.FAILED)


def gift_aid_donation(request: Request, platform: Platform,
                      token: str) -> tuple[DonorDonation, None] | tuple[None, HTMLResponse]:
    """The donation a Gift Aid link is for, or the page that says why the link does not work."""
    try:
        reference = links.reference_from_gift_aid_token(platform.settings.secret_key, token,
                                                        _link_lifetime(platform))
    except links.InvalidLink as invalid:
        return None, refused_link(request, platform, "Gift Aid link not valid", invalid)
    found = views.donor_donation(platform.uow(), reference)
    if found is None:
        return None, message(request, "Gift Aid link not valid", "We could not find the donation this link is for.",
                             404)
    return found, None


def gift_aid_page(request: Request, found: DonorDonation, values: dict[str, Any], errors: dict[str, str],
                  status_code: int = 200) -> HTMLResponse:
    donation, appeal = found.donation, found.appeal
    return _private(page(request, "online/gift_aid.html", {
        "donation": donation, "appeal": appeal, "declaration": found.declaration, "values": values,
        "errors": errors, "wordings": _wordings(appeal), "gift_aid_extra": gift_aid_pence(donation.amount_pence)},
        status_code))


# --- the routes ----------------------------------------------------------------------------------------------

def _figures(request: Request, platform: Platform, slug: str, partner: str | None) -> AppealFigures | HTMLResponse:
    """The appeal's figures, on a partner's page shown as that partner presents it (its name and any branding
    of its own); or the 404 page for an unknown appeal or partner."""
    try:
        figures = views.appeal_figures(platform.uow(), slug)
    except UnknownAppeal:
        return appeal_not_found(request)
    if partner is None:
        return figures
    presenter = figures.appeal.partner(partner)
    if presenter is None:
        return message(request, "Page not found", f"{sentence(str(UnknownPartner(figures.appeal, partner)))}: "
                                                        "please check the link.", 404)
    presented = replace(figures.appeal, media_partner=presenter.name,
                        branding=presenter.branding or figures.appeal.branding)
    return replace(figures, appeal=presented)


def _donate_form(request: Request, platform: Platform, slug: str, partner: str | None,
                 amount_pence: int | None) -> HTMLResponse:
    figures = _figures(request, platform, slug, partner)
    if isinstance(figures, HTMLResponse):
        return figures
    appeal = figures.appeal
    if appeal.status is AppealStatus.CLOSED:
        return page(request, "online/closed.html", {"appeal": appeal, "totals": figures.totals}, GONE)
    if not appeal.takes_money:
        return message(request, appeal.name, f"{appeal.name} is not taking donations at the moment.", GONE)
    token = request.query_params.get("from")
    values = prefilled_values(appeal, amount_pence, token, _prefilled_phone(platform, token) is not None)
    return donate_page(request, platform, figures, values, {}, partner=partner)


async def _donate_submit(request: Request, platform: Platform, slug: str, partner: str | None) -> Response:
    figures = _figures(request, platform, slug, partner)
    if isinstance(figures, HTMLResponse):
        return figures
    values = {k: str(v) for k, v in (await request.form()).items()}
    if values.get(HONEYPOT):
        log.info("honeypot field filled: donation refused", appeal=slug)
        return donate_page(request, platform, figures, {}, {}, 400,
                           "We could not start your donation. Please try again.", partner=partner)
    amount, amount_problem = chosen_amount(values.get("amount", ""), values.get("other_amount", ""))
    errors = {"amount_pence": amount_problem} if amount_problem else {}
    gift_aid = _gift_aid_answers(values) if values.get("gift_aid") == "yes" else None
    form = DonationForm(amount_pence=amount or 0, email=values.get("email"),
                        marketing_consent=values.get("marketing_consent") == "yes", gift_aid=gift_aid,
                        prefill_token=values.get("from") or None, partner=partner)
    try:
        started = start_online_donation(platform.uow, platform.payment_gateway(), _context(platform), slug,
                                        form, client_address(request))
    except FORM_REFUSALS as refused:
        return refused_form(request, platform, figures, values, errors, refused, partner)
    except AppealNotTakingDonations as closed:
        return message(request, figures.appeal.name, str(closed) + ".", GONE)
    return RedirectResponse(started.checkout_url, status_code=303)


@router.get("/donate/{slug}", response_class=HTMLResponse, include_in_schema=False)
def donate_form(slug: str, request: Request, platform: PlatformDep, amount_pence: int | None = None):
    """The appeal's own page: its gifts belong to no media partner."""
    return _donate_form(request, platform, slug, None, amount_pence)


@router.post("/donate/{slug}", response_class=HTMLResponse, include_in_schema=False)
async def donate_submit(slug: str, request: Request, platform: PlatformDep):
    return await _donate_submit(request, platform, slug, None)


@router.get("/donate/{slug}/{partner}", response_class=HTMLResponse, include_in_schema=False)
def partner_donate_form(slug: str, partner: str, request: Request, platform: PlatformDep,
                        amount_pence: int | None = None):
    """A media partner's page for the appeal: its gifts count towards that partner's part."""
    return _donate_form(request, platform, slug, partner, amount_pence)


@router.post("/donate/{slug}/{partner}", response_class=HTMLResponse, include_in_schema=False)
async def partner_donate_submit(slug: str, partner: str, request: Request, platform: PlatformDep):
    return await _donate_submit(request, platform, slug, partner)


@router.get("/donate/{slug}/thank-you/{reference}", response_class=HTMLResponse, include_in_schema=False)
def thank_you(slug: str, reference: str, request: Request, platform: PlatformDep):
    def render(found: DonorDonation) -> HTMLResponse:
        donation = found.donation
        return page(request, "online/thank_you.html", {
            "donation": donation, "appeal": found.appeal, "declaration": found.declaration,
            "statuses": DonationStatus, "confirming": awaiting_success_event(found),
            "check_again_url": f"{request.url.path}?{request.url.query}",
            "masked_email": mask_email(donation.email) if donation.email else None,
            "gift_aid_extra": gift_aid_pence(donation.amount_pence),
            "gift_aid_url": links.gift_aid_url("", platform.settings.secret_key, reference)})

    return donation_view(request, platform, slug, reference, render)


@router.get("/donate/{slug}/cancelled/{reference}", response_class=HTMLResponse, include_in_schema=False)
def cancelled(slug: str, reference: str, request: Request, platform: PlatformDep):
    def render(found: DonorDonation) -> HTMLResponse:
        checkout = found.checkout
        return page(request, "online/cancelled.html", {
            "donation": found.donation, "appeal": found.appeal,
            "checkout_url": checkout.url if checkout and checkout.status in PAYABLE else None})

    return donation_view(request, platform, slug, reference, render)


@router.post("/api/v1/appeals/{slug}/donations", tags=["online donations"], status_code=201,
             response_model=DonationCreated,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": {"$ref": "#/components/schemas/DonationIn"}}}}},
             responses={**UNKNOWN_APPEAL, 403: problem("the charity has asked not to take gifts from this donor"),
                        409: problem("the appeal is not taking donations"),
                        422: field_problems_doc("a field is wrong: each, and why"),
                        429: problem("too many attempts from this client or email: see Retry-After"),
                        503: problem("the card processor is unavailable")})
async def create_donation(slug: str, request: Request, platform: PlatformDep) -> Response:
    """Starts a donation and returns the hosted checkout URL to send the donor to."""
    try:
        body = DonationIn.model_validate(json.loads(await request.body() or b"null"))
    except ValidationError as error:
        return field_problems({".".join(str(p) for p in item["loc"]) or "body": item["msg"]
                               for item in error.errors()})
    except ValueError:  # not UTF-8, or not JSON
        return field_problems({"body": "is not valid JSON"})
    except RecursionError:  # arrays or objects nested past Python's recursion limit
        return field_problems({"body": "is nested too deeply"})
    form = DonationForm(amount_pence=body.amount_pence, email=body.email,
                        marketing_consent=body.marketing_consent,
                        gift_aid=GiftAidAnswers(**body.gift_aid.model_dump()) if body.gift_aid else None)
    # A refusal is answered by the app's handler for it (errors.py).
    started = start_online_donation(platform.uow, platform.payment_gateway(), _context(platform), slug, form,
                                    client_address(request))
    donation = views.donation(platform.uow(), started.reference)
    assert donation is not None  # stored by start_online_donation
    return JSONResponse(DonationCreated(
        id=started.reference, status=donation.status.value, amount_pence=donation.amount_pence,
        currency=donation.currency, checkout_url=started.checkout_url).model_dump(), status_code=201)


@router.post("/webhooks/stripe", tags=["webhooks"],
             responses={400: problem("the signature check failed, or the body is not a Stripe event")})
async def stripe_webhook(request: Request, platform: PlatformDep) -> JSONResponse:
    """Verified with Stripe's signature scheme, refused unless in our pinned API version, stored once by event
    id and queued; applied by the outbox."""
    try:
        event = platform.payment_events().verify(await request.body(), request.headers.get("stripe-signature") or "")
    except EventRefused as refused:
        return JSONResponse({"detail": str(refused)}, status_code=400)
    accepted = accept_stripe_event(platform.uow, event)
    return JSONResponse({"received": True, "duplicate": not accepted})


@router.get("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
def gift_aid_form(token: str, request: Request, platform: PlatformDep):
    found, refusal = gift_aid_donation(request, platform, token)
    if found is None:
        return refusal
    return gift_aid_page(request, found, {}, {})


@router.post("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
async def gift_aid_submit(token: str, request: Request, platform: PlatformDep):
    found, refusal = gift_aid_donation(request, platform, token)
    if found is None:
        return refusal
    values = {k: str(v) for k, v in (await request.form()).items()}
    try:
        declaration = declare_gift_aid(platform.uow, found.donation.reference, _gift_aid_answers(values),
                                       "online:gift-aid-link")
    except GiftAidInvalid as invalid:
        return gift_aid_page(request, found, values, {f"gift_aid.{k}": v for k, v in invalid.problems.items()}, 422)
    except GiftAidAlreadyDeclared as already:
        return message(request, "Gift Aid", sentence(str(already)) + ".", 409)
    return gift_aid_page(request, replace(found, declaration=declaration), {}, {})


@router.post("/gift-aid/{token}/cancel", response_class=HTMLResponse, include_in_schema=False)
def gift_aid_cancel(token: str, request: Request, platform: PlatformDep):
    """The donor cancels their declaration from their own link; HMRC wants it recorded with its date."""
    found, refusal = gift_aid_donation(request, platform, token)
    if found is None:
        return refusal
    try:
        declaration = cancel_gift_aid(platform.uow, found.donation.reference, "donor:gift-aid-link")
    except GiftAidCancelRefused as refused:
        return message(request, "Gift Aid", sentence(str(refused)) + ".", 409)
    return gift_aid_page(request, replace(found, declaration=declaration), {}, {})


def _private(response: HTMLResponse) -> HTMLResponse:
    """A page opened with a donor's key: the key in its URL goes to no other site, and no cache keeps the page."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    """Adds the online-giving pages, API and webhook to the app."""
    app.include_router(router)
    app.mount("/static/online", StaticFiles(directory=str(HERE / "static" / "online")), name="online_static")
