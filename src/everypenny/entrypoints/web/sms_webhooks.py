"""Webhooks from SMS providers: check who is calling, store the callback, answer fast. The outbox does the work.

Aggregator callbacks are stored by the process's group committer (service_layer/group_commit.py): many
requests share one transaction, and each is answered only after its transaction commits. A TV spike sends
thousands a second, so AggregatorCallbackPath takes them in front of FastAPI's middleware, routing and
validation, with the edge's body limit and security headers (edge.py) and the same checks and answers as
the documented route (AggregatorCallbacks holds both).

Fonix signs nothing, so its callbacks are checked as its own clients do: each URL carries a secret token
(EVERYPENNY_AGGREGATOR_CALLBACK_TOKEN; a wrong one is a 404, as if the path did not exist) and the source
address may be limited to Fonix's (EVERYPENNY_AGGREGATOR_CALLBACK_IPS; lindar-open/fonix-client checks
charge reports against the addresses Fonix publishes).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from dataclasses import replace

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from everypenny import instruments, tracing
from everypenny.adapters.aggregator import fonix
from everypenny.bootstrap import Platform
from everypenny.domain.text_giving import E164
from everypenny.entrypoints.web.contract import UNSIGNED, problem
from everypenny.entrypoints.web.edge import (
    PAGE_POLICY,
    Network,
    address_in,
    body_limit,
    body_within,
    client_address,
    declared_over,
    networks_from,
    secured,
    too_large,
)
from everypenny.production import ANY_ADDRESS
from everypenny.service_layer.text_giving import TWILIO, DonorLinks, aggregator_callback, reply_by_link
from everypenny.service_layer.text_giving_ports import AGGREGATOR, BadCallback, InboundText

TWILIO_PATH = "/webhooks/twilio/sms"
# Phone numbers in E.164 and message SIDs of letters and digits (Twilio's are 34,
# www.twilio.com/docs/glossary/what-is-a-sid): anything else is refused before it is stored.
TWILIO_FIELDS = {"MessageSid": re.compile(r"^[A-Za-z0-9]{1,64}$"), "From": E164, "To": E164}
FORM = "application/x-www-form-urlencoded"
AGGREGATOR_PREFIX = "/webhooks/aggregator/"
AGGREGATOR_CALLBACKS = AGGREGATOR_PREFIX + "{token}/{kind}"


def callback_networks(setting: str) -> tuple[Network, ...]:
    """EVERYPENNY_AGGREGATOR_CALLBACK_IPS as networks (empty or `any`: any address; production refuses empty,
    production.py); a mistyped entry stops the app at start rather than letting every callback through or none."""
    if setting.strip().lower() == ANY_ADDRESS:
        return ()
    try:
        return networks_from(setting)
    except ValueError as error:
        raise ValueError(f"EVERYPENNY_AGGREGATOR_CALLBACK_IPS: {error}") from None


class AggregatorCallbacks:
    """What taking an aggregator callback means, for the fast path and the documented route alike: the
    token and kind (404), the source address (403), the body (400), then the group commit."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self.token = settings.aggregator_callback_token.encode()
        self.networks = callback_networks(settings.aggregator_callback_ips)
        self.body_limit = body_limit(settings, AGGREGATOR_PREFIX)
        self.committer = platform.group_committer()

    def check(self, token: str, kind: str, connection: HTTPConnection) -> None:
        if not hmac.compare_digest(token.encode(), self.token) or kind not in fonix.CALLBACKS:
            raise HTTPException(404, "Not Found")
        if self.networks and not address_in(client_address(connection), self.networks):
            raise HTTPException(403, "callbacks are not taken from this address")

    async def store(self, kind: str, body: bytes) -> PlainTextResponse:
        """Answers once the callback is durable: "OK", or "OK (already received)" for a repeat."""
        try:
            message = fonix.read_callback(kind, body)
        except BadCallback as error:
            raise HTTPException(400, str(error)) from None
        callback = aggregator_callback(message)
        if tracing.enabled():  # the worker's spans join this trace
            callback = replace(callback, payload=tracing.carried(callback.payload))
        stored = await asyncio.wrap_future(self.committer.submit(callback))
        return PlainTextResponse("OK" if stored else "OK (already received)")


class AggregatorCallbackPath:
    """ASGI middleware, the outermost: POSTs to an aggregator callback URL are answered here, everything else
    (a path the route would not match, such as a trailing slash) goes on to the app."""

    def __init__(self, app: ASGIApp, callbacks: AggregatorCallbacks) -> None:
        self.app = app
        self.callbacks = callbacks
        # Counters made once per kind and status, so a callback costs two increments and no allocation.
        self.answered = {kind: {status: instruments.callbacks.labels(AGGREGATOR, kind, str(status))
                                for status in (200, 400, 403, 404, 413, 500)} for kind in fonix.CALLBACKS}
        self.acked = {kind: instruments.callback_ack.labels(kind) for kind in fonix.CALLBACKS}
        self.span_names = {kind: f"aggregator callback {kind}" for kind in fonix.CALLBACKS}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" and scope["method"] == "POST" else ""
        token, _, kind = path[len(AGGREGATOR_PREFIX):].partition("/")
        if not (path.startswith(AGGREGATOR_PREFIX) and token and kind) or "/" in kind:
            await self.app(scope, receive, send)
            return
        started, answered = time.perf_counter(), self.answered.get(kind)  # a wrong kind is a 404, no series
        try:
            with tracing.span(self.span_names.get(kind, "aggregator callback")):
                response = await self._answer(scope, receive, token, kind)
        except Exception:
            if answered:
                answered[500].inc()
            raise
        await response(scope, receive, secured(send, PAGE_POLICY))
        if answered:
            answered.get(response.status_code, answered[500]).inc()
            if response.status_code == 200:
                self.acked[kind].observe(time.perf_counter() - started)

    async def _answer(self, scope: Scope, receive: Receive, token: str, kind: str) -> Response:
        limit = self.callbacks.body_limit
        response: Response
        try:
            if declared_over(scope, limit):
                response = too_large(limit)
            else:
                self.callbacks.check(token, kind, HTTPConnection(scope))
                body = await body_within(receive, limit)
                response = too_large(limit) if body is None else await self.callbacks.store(kind, body)
        except HTTPException as refusal:
            response = await http_exception_handler(Request(scope), refusal)
        return response


def sms_webhooks(platform: Platform, callbacks: AggregatorCallbacks) -> APIRouter:
    router = APIRouter(tags=["sms webhooks"])
    settings = platform.settings
    router.add_event_handler("shutdown", callbacks.committer.close)

    @router.post(AGGREGATOR_CALLBACKS, responses={
        400: problem("the body is not the aggregator's format"),
        403: problem("callbacks are not taken from this address (EVERYPENNY_AGGREGATOR_CALLBACK_IPS)"),
        404: problem("no callback address has this token, or no such callback")})
    async def aggregator_callback(token: str, kind: str, request: Request) -> Response:
        """The aggregator's callbacks: `mo`, `charge-report` and `delivery-report`, form-encoded. Served by
        AggregatorCallbackPath in front of the app; declared here for the published API."""
        callbacks.check(token, kind, request)
        return await callbacks.store(kind, await request.body())

    @router.post(TWILIO_PATH, responses={**UNSIGNED, 415: problem(f"the body is not {FORM}")})
    async def twilio_sms(request: Request) -> Response:
        """Twilio's inbound SMS webhook for text-to-link numbers; the reply goes back as TwiML."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            raise HTTPException(415, f"Twilio posts {FORM}")  # a file (multipart) is nothing Twilio sends
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
        replies = await run_in_threadpool(reply_by_link, platform.uow(), text, links, form.get("OptOutType"),
                                          settings.twilio_advanced_opt_out)
        twiml = MessagingResponse()
        for body in replies:
            twiml.message(body)
        return Response(str(twiml), media_type="application/xml")

    return router
