"""Online giving on the web: the donation page, its JSON API, Stripe's webhook and the Gift Aid page.

Thin: each route turns HTTP into a call to service_layer.online_donations and its answer back into HTTP.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
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
from everypenny.domain.appeal import Appeal
from everypenny.domain.donation import DonationStatus
from everypenny.domain.gift_aid import GiftAidInvalid, GiftAidScope, declaration_wording, gift_aid_pence
from everypenny.domain.money import format_pence
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
GIFT_AID_FIELDS = ("title", "first_name", "last_name", "house", "address", "postcode")


class GiftAidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = ""
    first_name: str
    last_name: str
    house: str = Field(description="house name or number")
    address: str = ""
    postcode: str
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
        checkout_expiry=timedelta(seconds=settings.stripe_checkout_expiry_s))


def parse_pounds(raw: str) -> int | None:
    """"7.50" or "£7.5" → 750 pence, read as text so no float is ever involved."""
    match = _POUNDS.match(raw.strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


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
        return page(request, "online/donate.html", {
            "appeal": appeal, "values": values, "errors": errors, "notice": notice,
            "wordings": _wordings(appeal), "honeypot": HONEYPOT}, status_code)

    @router.get("/donate/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def donate_form(slug: str, request: Request, amount_pence: int | None = None):
        appeal = load_appeal(slug)
        if appeal is None:
            return message(request, "Appeal not found", "We could not find this appeal. Please check the link.", 404)
        if not appeal.takes_money:
            return message(request, appeal.name, f"{appeal.name} is not taking donations at the moment.", 410)
        token = request.query_params.get("from")
        values: dict[str, Any] = {"from": token or ""}
        if amount_pence in appeal.suggested_amounts_pence:
            values["amount"] = str(amount_pence)
        elif amount_pence:
            values["amount"], values["other_amount"] = "other", f"{amount_pence // 100}.{amount_pence % 100:02d}"
        if token:
            try:
                values["phone"] = links.phone_from_prefill_token(platform.settings.secret_key, token)
            except links.InvalidLink:
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
        choice = values.get("amount", "")
        other = values.get("other_amount", "").strip()
        # A typed amount wins over a ticked one: typing is the more deliberate act.
        amount = parse_pounds(other) if other else (int(choice) if choice.isdigit() else None)
        errors: dict[str, str] = {}
        if amount is None:
            errors["amount_pence"] = ("enter an amount in pounds, such as 7 or 7.50" if other
                                      else "choose an amount or enter your own")
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
        found = donation_and_appeal(slug, reference)
        if found is None:
            return message(request, "Donation not found", "We could not find this donation.", 404)
        return render(*found)

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
                "confirming": confirming, "masked_email": mask_email(donation.email) if donation.email else None,
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
        """Verified with Stripe's signature scheme, stored once by event id and queued; applied by the outbox."""
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
        accepted = accept_stripe_event(platform.uow, event)
        return JSONResponse({"received": True, "duplicate": not accepted})

    def gift_aid_donation(token: str):
        try:
            reference = links.reference_from_gift_aid_token(platform.settings.secret_key, token)
        except links.InvalidLink as invalid:
            return None, str(invalid)
        with platform.uow() as uow:
            donation = uow.donations.get(reference)
            if donation is None:
                return None, "We could not find the donation this link is for."
            appeal = uow.appeals.get(donation.appeal).appeal
            declaration = uow.gift_aid.for_donation(reference)
        return (donation, appeal, declaration), None

    def gift_aid_page(request: Request, found, values: dict[str, Any], errors: dict[str, str],
                      status_code: int = 200) -> HTMLResponse:
        donation, appeal, declaration = found
        return page(request, "online/gift_aid.html", {
            "donation": donation, "appeal": appeal, "declaration": declaration, "values": values,
            "errors": errors, "wordings": _wordings(appeal), "gift_aid_extra": gift_aid_pence(donation.amount_pence)},
            status_code)

    @router.get("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
    def gift_aid_form(token: str, request: Request):
        found, problem = gift_aid_donation(token)
        if found is None:
            return message(request, "Gift Aid link not valid", sentence(problem), 404)
        return gift_aid_page(request, found, {}, {})

    @router.post("/gift-aid/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def gift_aid_submit(token: str, request: Request):
        found, problem = gift_aid_donation(token)
        if found is None:
            return message(request, "Gift Aid link not valid", sentence(problem), 404)
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


# Stripe's event ids are "evt_" and a few dozen letters and digits (docs.stripe.com/api/events/object); the
# inbox keeps up to 255 characters of one.
_STRIPE_EVENT_ID = re.compile(r"^evt_[A-Za-z0-9_]{1,200}$")


def stripe_event_problem(event: Any) -> str | None:
    """What stops a signed body being an event we can store and apply, or None: checked before storing it."""
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
