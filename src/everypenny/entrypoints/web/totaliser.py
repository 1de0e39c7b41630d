"""The public totaliser for the media partner's pages: cacheable totals with CORS, and an embeddable widget.

The totals route itself stays in app.py; this middleware adds what a newspaper's page needs from it:
Cache-Control so a spike of readers is served from caches, an ETag so a poll whose figures have not moved
costs a 304, and CORS for the origins named in EVERYPENNY_TOTALISER_ORIGINS.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from everypenny.bootstrap import Platform
from everypenny.config import Settings
from everypenny.domain.money import CURRENCY_SYMBOLS, format_pence
from everypenny.domain.promotion import small_print
from everypenny.entrypoints.web.contract import UNKNOWN_APPEAL
from everypenny.service_layer import desk

# The totals and the widget's HTML: both are polled or loaded by every reader of the newspaper's page.
PUBLIC_TOTALS_PATH = re.compile(r"^(/api/v1/appeals/[^/]+/totals|/widget/[^/.]+)$")


def allowed_origins(settings: Settings) -> frozenset[str]:
    return frozenset(origin.strip().rstrip("/") for origin in settings.totaliser_origins.split(",") if origin.strip())


def etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


class PublicTotalsHeaders:
    """ASGI middleware for GET/OPTIONS on /api/v1/appeals/{slug}/totals and /widget/{slug} only; other paths
    pass untouched."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.origins = allowed_origins(settings)
        self.max_age_seconds = settings.totaliser_max_age_seconds

    def _cors(self, request_headers: Headers) -> dict[str, str]:
        origin = request_headers.get("origin", "").rstrip("/")
        return {"Access-Control-Allow-Origin": origin} if origin and origin in self.origins else {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not PUBLIC_TOTALS_PATH.match(scope["path"]) or scope["method"] not in (
                "GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        cors = self._cors(request_headers)
        if scope["method"] == "OPTIONS":
            headers = {**cors, "Vary": "Origin"}
            if cors:
                headers.update({"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
                                "Access-Control-Allow-Headers": "If-None-Match",
                                "Access-Control-Max-Age": "600"})
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        answer = MutableHeaders(raw=list(start["headers"]))
        for name, value in cors.items():
            answer[name] = value
        if cors:
            answer["Access-Control-Expose-Headers"] = "ETag"
        answer["Vary"] = "Origin"
        status = start["status"]
        if status == 200:
            etag = etag_of(bytes(body))
            answer["ETag"] = etag
            answer["Cache-Control"] = f"public, max-age={self.max_age_seconds}"
            if _matches(request_headers.get("if-none-match"), etag):
                del answer["content-length"]
                del answer["content-type"]
                await send({"type": "http.response.start", "status": 304, "headers": answer.raw})
                await send({"type": "http.response.body", "body": b""})
                return
        else:
            answer["Cache-Control"] = "no-store"
        await send({"type": "http.response.start", "status": status, "headers": answer.raw})
        await send({"type": "http.response.body", "body": bytes(body)})


def widget_router(platform: Platform) -> APIRouter:
    router = APIRouter(tags=["totaliser"])
    templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
    templates.env.filters["money"] = format_pence
    templates.env.globals["small_print"] = small_print
    origins = allowed_origins(platform.settings)
    frame_ancestors = " ".join(sorted(origins)) if origins else "*"

    @router.get("/widget/{slug}.js", response_class=Response, responses=UNKNOWN_APPEAL)
    def widget_script(slug: str) -> Response:
        """The one line a newspaper adds: <script src=".../widget/SLUG.js" async></script>."""
        totaliser = desk.totaliser(platform.uow(), slug)
        source = f"{platform.settings.public_url.rstrip('/')}/widget/{slug}"
        script = (
            "(function(){var s=document.currentScript;var f=document.createElement('iframe');"
            f"f.src={json.dumps(source)};f.title={json.dumps(totaliser.appeal.name + ': amount raised')};"
            "f.loading='lazy';f.style.cssText='width:100%;max-width:640px;height:150px;border:0;display:block';"
            "s.parentNode.insertBefore(f,s.nextSibling);"
            # The widget reports its height (widget-live.js), so nothing is cut off on a narrow phone.
            "window.addEventListener('message',function(e){var d=e.data;"
            "if(e.source===f.contentWindow&&d&&d.type==='everypenny:height'&&d.height>0)"
            "f.style.height=Math.min(d.height,2000)+'px';});})();\n")
        return Response(script, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @router.get("/widget/{slug}", response_class=HTMLResponse, responses=UNKNOWN_APPEAL)
    def widget(request: Request, slug: str) -> HTMLResponse:
        """An iframe-able totaliser: amount raised and progress to the target, refreshed by polling."""
        totaliser = desk.totaliser(platform.uow(), slug)
        carrier = [(shortcode.number, keyword) for shortcode in totaliser.appeal.shortcodes
                   if shortcode.channel.value == "carrier_sms" for keyword in shortcode.keywords]
        response = templates.TemplateResponse(request, "widget.html", {
            "totaliser": totaliser, "appeal": totaliser.appeal, "carrier": carrier[:1],
            "symbol": CURRENCY_SYMBOLS[totaliser.appeal.currency],
            "poll_seconds": platform.settings.widget_poll_seconds})
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors {frame_ancestors}")
        return response

    return router
