"""Webhooks from SMS providers: check who is calling, store the callback, answer fast. The outbox does the work.

Aggregator callbacks are stored by the process's group committer (service_layer/group_commit.py): many
requests share one transaction, and each is answered only after its transaction commits.

Fonix signs nothing, so its callbacks are checked as its own clients do: each URL carries a secret token
(EVERYPENNY_AGGREGATOR_CALLBACK_TOKEN; a wrong one is a 404, as if the path did not exist) and the source
address may be limited to Fonix's (EVERYPENNY_AGGREGATOR_CALLBACK_IPS; lindar-open/fonix-client checks
charge reports against the addresses Fonix publishes).
"""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from everypenny.adapters.aggregator import fonix
from everypenny.bootstrap import Platform
from everypenny.entrypoints.web.contract import UNSIGNED, problem
from everypenny.entrypoints.web.edge import Network, address_in, client_address, networks_from
from everypenny.service_layer.group_commit import GroupCommit
from everypenny.service_layer.text_giving import (
    TWILIO,
    DonorLinks,
    InboundText,
    charge_report_callback,
    delivery_report_callback,
    reply_by_link,
    text_callback,
)

TWILIO_PATH = "/webhooks/twilio/sms"
# Phone numbers in E.164 (at most 15 digits, ITU-T E.164 §6.1) and message SIDs of letters and digits (Twilio's
# are 34, www.twilio.com/docs/glossary/what-is-a-sid): anything else is refused before it is stored.
E164 = re.compile(r"^\+?[0-9]{1,15}$")
TWILIO_FIELDS = {"MessageSid": re.compile(r"^[A-Za-z0-9]{1,64}$"), "From": E164, "To": E164}
AGGREGATOR_CALLBACKS = "/webhooks/aggregator/{token}/{kind}"
READERS: dict[str, tuple[Callable, Callable]] = {
    "mo": (fonix.read_mo, text_callback),  # a donor's text to one of our shortcodes
    "charge-report": (fonix.read_charge_report, charge_report_callback),  # whether a charge went through
    "delivery-report": (fonix.read_delivery_report, delivery_report_callback),  # whether a message arrived
}


def callback_networks(setting: str) -> tuple[Network, ...]:
    """EVERYPENNY_AGGREGATOR_CALLBACK_IPS as networks (empty: any address); a mistyped entry stops the app at
    start rather than letting every callback through or none."""
    try:
        return networks_from(setting)
    except ValueError as error:
        raise ValueError(f"EVERYPENNY_AGGREGATOR_CALLBACK_IPS: {error}") from None


def sms_webhooks(platform: Platform) -> APIRouter:
    router = APIRouter(tags=["sms webhooks"])
    settings = platform.settings
    committer = GroupCommit(platform.uow)
    router.add_event_handler("shutdown", committer.close)
    networks = callback_networks(settings.aggregator_callback_ips)

    @router.post(AGGREGATOR_CALLBACKS, responses={
        400: problem("the body is not the aggregator's format"),
        403: problem("callbacks are not taken from this address (EVERYPENNY_AGGREGATOR_CALLBACK_IPS)"),
        404: problem("no callback address has this token, or no such callback")})
    async def aggregator_callback(token: str, kind: str, request: Request) -> Response:
        """The aggregator's callbacks: `mo`, `charge-report` and `delivery-report`, form-encoded."""
        if not hmac.compare_digest(token.encode(), settings.aggregator_callback_token.encode()) or kind not in READERS:
            raise HTTPException(404, "Not Found")
        if networks and not address_in(client_address(request), networks):
            raise HTTPException(403, "callbacks are not taken from this address")
        read, as_callback = READERS[kind]
        try:
            message = read(fonix.decode(await request.body()))
        except fonix.BadCallback as error:
            raise HTTPException(400, str(error)) from None
        stored = await asyncio.wrap_future(committer.submit(as_callback(message)))
        return Response("OK" if stored else "OK (already received)", media_type="text/plain")

    @router.post(TWILIO_PATH, responses=UNSIGNED)
    async def twilio_sms(request: Request) -> Response:
        """Twilio's inbound SMS webhook for text-to-link numbers; the reply goes back as TwiML."""
        posted = await request.form()
        # Twilio signs the URL it was configured with, query string included, then every posted field
        # (twilio.request_validator.RequestValidator; https://www.twilio.com/docs/usage/webhooks/webhooks-security).
        url = settings.twilio_webhook_url or settings.public_url.rstrip("/") + TWILIO_PATH + (
            f"?{request.url.query}" if request.url.query else "")
        validator = RequestValidator(settings.twilio_auth_token)
        if not validator.validate(url, posted, request.headers.get("X-Twilio-Signature", "")):
            raise HTTPException(403, "missing or wrong X-Twilio-Signature")
        form = {key: value for key, value in posted.multi_items() if isinstance(value, str)}
        missing = [name for name in ("MessageSid", "From", "To") if not form.get(name)]
        if missing:
            raise HTTPException(400, f"missing {', '.join(missing)}")
        wrong = [name for name, pattern in TWILIO_FIELDS.items() if not pattern.match(form[name])]
        if wrong:
            raise HTTPException(400, f"{', '.join(wrong)} not in Twilio's format")
        text = InboundText(provider=TWILIO, message_id=form["MessageSid"], msisdn=form["From"], to=form["To"],
                           body=form.get("Body", ""))
        links = DonorLinks(settings.public_url, settings.secret_key)
        replies = await run_in_threadpool(reply_by_link, platform.uow(), text, links, form.get("OptOutType"))
        twiml = MessagingResponse()
        for body in replies:
            twiml.message(body)
        return Response(str(twiml), media_type="application/xml")

    return router
