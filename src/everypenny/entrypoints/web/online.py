"""Online giving on the web: the donation page, its JSON API, Stripe's webhook and the Gift Aid page.

Thin: each route turns HTTP into a call to service_layer.online_donations and its answer back into HTTP.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import stripe
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from everypenny.bootstrap import Platform
from everypenny.config import STRIPE_API_VERSION
from everypenny.domain.appeal import Appeal, AppealStatus
from everypenny.domain.donation import DonationStatus
from everypenny.domain.gift_aid import GiftAidInvalid, GiftAidScope, declaration_wording, gift_aid_pence
from everypenny.domain.money import CURRENCY_SYMBOLS, format_pence, pounds_and_pence
from everypenny.domain.privacy import mask_phone
from everypenny.entrypoints.web.contract import UNKNOWN_APPEAL, field_problems, problem
from everypenny.entrypoints.web.edge import client_address
from everypenny.service_layer import links
from everypenny.service_layer.online_donations import (
    AppealNotFound,
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
from everypenny.service_layer.online_ports import CheckoutStatus
from everypenny.service_layer.rate_limits import count_attempt

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def sentence(text: str) -> str:
    """A message as the start of a sentence: first letter capital, the rest as written (unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


TEMPLATES.env.filters["money"] = lambda pence, currency="GBP": format_pence(pence, currency)
TEMPLATES.env.filters["sentence"] = sentence
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


def mask_email(email: str) -> str:
    """r••••@example.org: enough for donors to recognise their address, not enough to harvest it from a URL."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}••••@{domain}"


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


def online_router(platform: Platform) -> APIRouter:
    router = APIRouter()

    def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)

    def message(request: Request, title: str, text: str, status_code: int) -> HTMLResponse:
        return page(request, "online/message.html", {"title": title, "text": text}, status_code)

    def load_appeal(slug: str) -> Appeal | None:
        with platform.uow() as uow:
            stored = uow.appeals.get(slug)
        return stored.appeal if stored else None

    def donate_page(request: Request, appeal: Appeal, values: dict[str, Any], errors: dict[str, str],
                    status_code: int = 200, notice: str | None = None) -> HTMLResponse:
        with platform.uow() as uow:
            totals = uow.ledger.totals(appeal.slug)
        return page(request, "online/donate.html", {
            "appeal": appeal, "values": values, "errors": errors, "notice": notice, "totals": totals,
            "symbol": CURRENCY_SYMBOLS[appeal.currency], "poll_seconds": platform.settings.widget_poll_seconds,
            "masked_phone": mask_phone(_prefilled_phone(platform, values.get("from"))),
            "wordings": _wordings(appeal), "honeypot": HONEYPOT}, status_code)

    @router.get("/donate/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def donate_form(slug: str, request: Request, amount_pence: int | None = None):
        appeal = load_appeal(slug)
        if appeal is None:
            return message(request, "Appeal not found", "We could not find this appeal. Please check the link.", 404)
        if appeal.status is AppealStatus.CLOSED:
            with platform.uow() as uow:
                totals = uow.ledger.totals(slug)
            return page(request, "online/closed.html", {"appeal": appeal, "totals": totals}, 410)
        if not appeal.takes_money:
            return message(request, appeal.name, f"{appeal.name} is not taking donations at the moment.", 410)
        token = request.query_params.get("from")
        values: dict[str, Any] = {"from": token or ""}
        if amount_pence in appeal.suggested_amounts_pence:
            values["amount"] = str(amount_pence)
        elif amount_pence:
            values["amount"], values["other_amount"] = "other", pounds_and_pence(amount_pence)
        if token and _prefilled_phone(platform, token) is None:
            values["from"] = ""
        return donate_page(request, appeal, values, {})

    @router.post("/donate/{slug}", response_class=HTMLResponse, include_in_schema=False)
    async def donate_submit(slug: str, request: Request):
        appeal = load_appeal(slug)
        if appeal is None:
            return message(request, "Appeal not found", "We could not find this appeal. Please check the link.", 404)
        values = {k: str(v) for k, v in (await request.form()).items()}
        if values.get(HONEYPOT):
            log.info("honeypot field filled: donation refused", appeal=slug)
            return donate_page(request, appeal, {}, {}, 400, "We could not start your donation. Please try again.")
        amount, amount_problem = chosen_amount(values.get("amount", ""), values.get("other_amount", ""))
        errors = {"amount_pence": amount_problem} if amount_problem else {}
        gift_aid = _gift_aid_answers(values) if values.get("gift_aid") == "yes" else None
        form = DonationForm(amount_pence=amount or 0, email=values.get("email"),
                            marketing_consent=values.get("marketing_consent") == "yes", gift_aid=gift_aid,
                            prefill_token=values.get("from") or None)
        try:
            started = start_online_donation(platform.uow, platform.payment_gateway(), _context(platform), slug,
                                            form, client_address(request))
        except DonationRefused as refused:
            return donate_page(request, appeal, values, {**refused.problems, **errors}, 422)
        except RateLimited as limited:
            response = donate_page(request, appeal, values, {}, 429,
                                   "There have been too many donation attempts from here. Please wait "
                                   f"{limited.retry_after_s // 60 + 1} minutes and try again.")
            response.headers["Retry-After"] = str(limited.retry_after_s)
            return response
        except CheckoutUnavailable as unavailable:
            return donate_page(request, appeal, values, {}, 503, sentence(str(unavailable)) + ".")
        except AppealNotTakingDonations as closed:
            return message(request, appeal.name, str(closed) + ".", 410)
        return RedirectResponse(started.checkout_url, status_code=303)

    def refused_link(request: Request, title: str, problem: links.InvalidLink) -> HTMLResponse:
        """A wrong or expired token: counted per client, so guessing links soon meets a 429."""
        settings = platform.settings
        wait_s = count_attempt(platform.uow(), "donor-link:ip", client_address(request), settings.link_probes_per_ip,
                               timedelta(seconds=settings.link_probe_window_s), datetime.now(UTC))
        if wait_s is not None:
            response = message(request, title, "There have been too many attempts from your connection. Please "
                                                f"wait {wait_s // 60 + 1} minutes and try again.", 429)
            response.headers["Retry-After"] = str(wait_s)
            return response
        return message(request, title, sentence(str(problem)) + ": please use the link from your receipt.", 404)

    def donation_and_appeal(slug: str, reference: str):
        with platform.uow() as uow:
            donation = uow.donations.get(reference)
            if donation is None or donation.appeal != slug:
                return None
            appeal = uow.appeals.get(slug).appeal
            declaration = uow.gift_aid.for_donation(reference)
            checkout = uow.checkouts.by_reference(reference)
        return donation, appeal, declaration, checkout

    def donation_view(slug: str, reference: str, request: Request, render) -> HTMLResponse:
        """A donation's page for whoever holds its receipt key; anyone else learns nothing, not even that it
        exists."""
        key = request.query_params.get(links.RECEIPT_KEY_PARAM, "")
        try:
            if links.reference_from_receipt_key(platform.settings.secret_key, key,
                                                _link_lifetime(platform)) != reference:
                raise links.InvalidLink("this donation link is not valid")
        except links.InvalidLink as invalid:
            return refused_link(request, "Donation not found", invalid)
        found = donation_and_appeal(slug, reference)
        if found is None:
            return message(request, "Donation not found", "We could not find this donation.", 404)
        return _private(render(*found))

    @router.get("/donate/{slug}/thank-you/{reference}", response_class=HTMLResponse, include_in_schema=False)
    def thank_you(slug: str, reference: str, request: Request):
        def render(donation, appeal, declaration, checkout) -> HTMLResponse:
            # Stripe sends donors here only after a successful payment. A donation that failed on an earlier
            # card while its session is still payable is therefore awaiting the success event, not failed.
            confirming = donation.status is DonationStatus.PENDING or (
                donation.status is DonationStatus.FAILED and checkout is not None
                and checkout.status is CheckoutStatus.FAILED)
            return page(request, "online/thank_you.html", {
                "donation": donation, "appeal": appeal, "declaration": declaration, "statuses": DonationStatus,
                "confirming": confirming, "check_again_url": f"{request.url.path}?{request.url.query}",
                "masked_email": mask_email(donation.email) if donation.email else None,
                "gift_aid_extra": gift_aid_pence(donation.amount_pence),
                "gift_aid_url": links.gift_aid_url("", platform.settings.secret_key, reference)})

        return donation_view(slug, reference, request, render)

    @router.get("/donate/{slug}/cancelled/{reference}", response_class=HTMLResponse, include_in_schema=False)
    def cancelled(slug: str, reference: str, request: Request):
        def render(donation, appeal, _declaration, checkout) -> HTMLResponse:
            return page(request, "online/cancelled.html", {
                "donation": donation, "appeal": appeal,
                "checkout_url": checkout.url if checkout and checkout.status in PAYABLE else None})

        return donation_view(slug, reference, request, render)

    @router.post("/api/v1/appeals/{slug}/donations", tags=["online donations"], status_code=201,
                 response_model=DonationCreated,
                 openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/DonationIn"}}}}},
                 responses={**UNKNOWN_APPEAL, 409: problem("the appeal is not taking donations"),
                            422: field_problems("a field is wrong: each, and why"),
                            429: problem("too many attempts from this client or email: see Retry-After"),
                            503: problem("the card processor is unavailable")})
    async def create_donation(slug: str, request: Request) -> Response:
        """Starts a donation and returns the hosted checkout URL to send the donor to."""
        try:
            body = DonationIn.model_validate(json.loads(await request.body() or b"null"))
        except ValidationError as error:
            return _problems({".".join(str(p) for p in item["loc"]) or "body": item["msg"]
                              for item in error.errors()})
        except ValueError:  # not UTF-8, or not JSON
            return _problems({"body": "is not valid JSON"})
        except RecursionError:  # arrays or objects nested past Python's recursion limit
            return _problems({"body": "is nested too deeply"})
        form = DonationForm(amount_pence=body.amount_pence, email=body.email,
                            marketing_consent=body.marketing_consent,
                            gift_aid=GiftAidAnswers(**body.gift_aid.model_dump()) if body.gift_aid else None)
        try:
            started = start_online_donation(platform.uow, platform.payment_gateway(), _context(platform), slug,
                                            form, client_address(request))
        except AppealNotFound as missing:
            return JSONResponse({"detail": str(missing)}, status_code=404)
        except AppealNotTakingDonations as closed:
            return JSONResponse({"detail": str(closed)}, status_code=409)
        except DonationRefused as refused:
            return _problems(refused.problems)
        except RateLimited as limited:
            return JSONResponse({"detail": str(limited)}, status_code=429,
                                headers={"Retry-After": str(limited.retry_after_s)})
        except CheckoutUnavailable as unavailable:
            return JSONResponse({"detail": str(unavailable)}, status_code=503)
        with platform.uow() as uow:
            donation = uow.donations.get(started.reference)
        return JSONResponse(DonationCreated(
            id=started.reference, status=donation.status.value, amount_pence=donation.amount_pence,
            currency=donation.currency, checkout_url=started.checkout_url).model_dump(), status_code=201)

    @router.post("/webhooks/stripe", tags=["webhooks"],
                 responses={400: problem("the signature check failed, or the body is not a Stripe event")})
    async def stripe_webhook(request: Request) -> JSONResponse:
        """Verified with Stripe's signature scheme, refused unless in our pinned API version, stored once by event
        id and queued; applied by the outbox."""
        payload = await request.body()
        signature = request.headers.get("stripe-signature") or ""
        try:
            if not signature.isascii():  # Stripe's check compares strings, which fails on non-ASCII ones
                raise stripe.SignatureVerificationError("the signature header is not ASCII", signature, payload)
            stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature,
                                                  platform.settings.stripe_webhook_secret,
                                                  tolerance=platform.settings.stripe_webhook_tolerance_s)
        except stripe.SignatureVerificationError as error:
            log.warning("refused a Stripe webhook", reason=str(error))
            return JSONResponse({"detail": f"signature check failed: {error}"}, status_code=400)
        except UnicodeDecodeError:
            return JSONResponse({"detail": "the body is not UTF-8"}, status_code=400)
        try:
            event = json.loads(payload)
        except ValueError:
            return JSONResponse({"detail": "the body is not a JSON event"}, status_code=400)
        problem = stripe_event_problem(event)
        if problem:
            return JSONResponse({"detail": f"the body is not a Stripe event: {problem}"}, status_code=400)
        if event.get("api_version") != STRIPE_API_VERSION:
            # Another version's objects have other shapes: reading them as ours could book money wrongly.
            log.warning("refused a Stripe event of another API version", event_id=event["id"],
                        api_version=event.get("api_version"))
            return JSONResponse({"detail": (
                f"event {event['id']} is in Stripe API version {event.get('api_version')}, but this endpoint "
                f"reads version {STRIPE_API_VERSION}: create the webhook endpoint with api_version "
                f"{STRIPE_API_VERSION} (see docs/going-live-stripe.md)")}, status_code=400)
        accepted = accept_stripe_event(platform.uow, event)
        return JSONResponse({"received": True, "duplicate": not accepted})

    def gift_aid_donation(token: str, request: Request):
        """The donation a Gift Aid link is for, or the page that says why the link does not work."""
        try:
            reference = links.reference_from_gift_aid_token(platform.settings.secret_key, token,
                                                            _link_lifetime(platform))
        except links.InvalidLink as invalid:
            return None, refused_link(request, "Gift Aid link not valid", invalid)
        with platform.uow() as uow:
            donation = uow.donations.get(reference)
            if donation is None:
                return None, message(request, "Gift Aid link not valid",
                                     "We could not find the donation this link is for.", 404)
            appeal = uow.appeals.get(donation.appeal).appeal
            declaration = uow.gift_aid.for_donation(reference)
        return (donation, appeal, declaration), None

    def gift_aid_page(request: Request, found, values: dict[str, Any], errors: dict[str, str],
                      status_code: int = 200) -> HTMLResponse:
        donation, appeal, declaration = found
        return _private(page(request, "online/gift_aid.html", {
            "donation": donation, "appeal": appeal, "declaration": declaration, "values": values,
            "errors": errors, "wordings": _wordings(appeal), "gift_aid_extra": gift_aid_pence(donation.amount_pence)},
            status_code))

    @router.get("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
    def gift_aid_form(token: str, request: Request):
        found, refusal = gift_aid_donation(token, request)
        if found is None:
            return refusal
        return gift_aid_page(request, found, {}, {})

    @router.post("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def gift_aid_submit(token: str, request: Request):
        found, refusal = gift_aid_donation(token, request)
        if found is None:
            return refusal
        values = {k: str(v) for k, v in (await request.form()).items()}
        donation = found[0]
        try:
            declaration = declare_gift_aid(platform.uow, donation.reference, _gift_aid_answers(values),
                                           "online:gift-aid-link")
        except GiftAidInvalid as invalid:
            return gift_aid_page(request, found, values,
                                 {f"gift_aid.{k}": v for k, v in invalid.problems.items()}, 422)
        except GiftAidAlreadyDeclared as already:
            return message(request, "Gift Aid", sentence(str(already)) + ".", 409)
        return gift_aid_page(request, (donation, found[1], declaration), {}, {})

    return router




def _private(response: HTMLResponse) -> HTMLResponse:
    """A page opened with a donor's key: the key in its URL goes to no other site, and no cache keeps the page."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# Stripe's event ids are "evt_" and a few dozen letters and digits (docs.stripe.com/api/events/object); the
# inbox keeps up to 255 characters of one.
_STRIPE_EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,200}$")


def stripe_event_problem(event: Any) -> str | None:
    """What stops a signed body being an event we can store and apply, or None: checked before storing it.
    Every Stripe event carries the object it is about (data.object); one without it could never be applied."""
    if not isinstance(event, dict):
        return "not a JSON object"
    if not isinstance(event.get("id"), str) or not _STRIPE_EVENT_ID.match(event["id"]):
        return "id is not a Stripe event id (evt_...)"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "type is missing"
    if not isinstance(event.get("data"), dict) or not isinstance(event["data"].get("object"), dict):
        return "data.object is missing"
    return None


def _problems(problems: dict[str, str]) -> JSONResponse:
    return JSONResponse({"detail": [{"field": field, "reason": reason} for field, reason in problems.items()]},
                        status_code=422)


def install(app: FastAPI, platform: Platform) -> None:
    """Adds the online-giving pages, API and webhook to the app."""
    app.include_router(online_router(platform))
    app.mount("/static/online", StaticFiles(directory=str(HERE / "static" / "online")), name="online_static")
