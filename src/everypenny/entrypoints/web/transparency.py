"""The public transparency page: where every penny of an appeal went, and a donor's check of their own gift."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from everypenny.bootstrap import Platform
from everypenny.domain.money import format_pence
from everypenny.domain.promotion import charity_statement
from everypenny.entrypoints.web.contract import UNKNOWN_APPEAL, html_page
from everypenny.entrypoints.web.edge import client_address
from everypenny.service_layer import views
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.proof import ReceiptCheck, check_receipt, transparency_report

CHANNEL_NAMES = {"carrier_sms": "Text, on the phone bill", "text_to_link": "Text, then card online",
                 "online": "Online, by card"}

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["money"] = format_pence
templates.env.globals["charity_statement"] = charity_statement
templates.env.globals["channel_names"] = CHANNEL_NAMES
# Money not yet counted, named by why it is waiting: each channel's pending money waits on someone else.
templates.env.globals["pending_names"] = {
    "carrier_sms": "in texts awaiting confirmation from mobile networks",
    "text_to_link": "in card payments started from a text and not yet completed",
    "online": "in card checkouts started but not yet paid (released if the donor does not pay)"}


class RateLimiter:
    """At most `limit` receipt checks per client in any `window_s` seconds, kept in this process's memory.

    Guessing references is hopeless (32^10 of them), and this keeps anyone from trying at speed.
    """

    MAX_CLIENTS = 10_000

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after_s(self, client: str) -> int:
        """0 when the client may check now (and counts the check); else seconds to wait."""
        moment = self.clock()
        hits = self._hits.pop(client, deque())
        while hits and moment - hits[0] >= self.window_s:
            hits.popleft()
        self._hits[client] = hits
        if len(self._hits) > self.MAX_CLIENTS:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return max(1, int(self.window_s - (moment - hits[0])) + 1)
        hits.append(moment)
        return 0


class ChainHead(BaseModel):
    date: date
    seq: int
    hash: str


class ChainHeads(BaseModel):
    slug: str
    heads: list[ChainHead]


def router(platform: Platform) -> APIRouter:
    routes = APIRouter(tags=["transparency"])
    limiter = RateLimiter(platform.settings.receipt_checks_per_minute)

    def page(request: Request, slug: str, check: ReceiptCheck | None = None, status_code: int = 200,
             notice: str | None = None) -> HTMLResponse:
        report = transparency_report(platform.uow(), slug)
        if report is None:
            raise UnknownAppeal(slug)
        response = templates.TemplateResponse(
            request, "transparency/page.html", {"report": report, "appeal": report.appeal, "check": check,
                                                "notice": notice},
            status_code=status_code)
        # A receipt reference is the donor's own: keep answers out of caches and other sites' logs.
        response.headers["Cache-Control"] = "no-store" if check or notice else "public, max-age=60"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @routes.get("/transparency/{slug}", response_class=HTMLResponse, responses=UNKNOWN_APPEAL)
    def transparency(request: Request, slug: str) -> HTMLResponse:
        """Money in by channel, allocations, payouts and the daily chain head: no donor's data."""
        return page(request, slug)

    @routes.post("/transparency/{slug}/check", response_class=HTMLResponse,
                 responses={**UNKNOWN_APPEAL, 429: html_page("too many checks from this client: see Retry-After")})
    def check(request: Request, slug: str, reference: str = Form("", max_length=60)) -> HTMLResponse:
        """Is the donation with this receipt reference counted? The same answer shape for any reference."""
        wait_s = limiter.retry_after_s(client_address(request))
        if wait_s:
            response = page(request, slug, status_code=429,
                            notice=f"Too many checks from your connection: please try again in {wait_s} seconds.")
            response.headers["Retry-After"] = str(wait_s)
            return response
        return page(request, slug, check=check_receipt(platform.uow(), slug, reference))

    @routes.get("/api/v1/appeals/{slug}/chain-heads", responses=UNKNOWN_APPEAL)
    def chain_heads(slug: str) -> ChainHeads:
        """The last ledger-chain entry of each recent day, newest first: archive them to check the ledger later
        with `everypenny ledger verify --published-head SEQ:HASH`."""
        heads = views.chain_heads(platform.uow(), slug)
        return ChainHeads(slug=slug, heads=[ChainHead(date=day, seq=e.seq, hash=e.hash) for day, e in heads])

    return routes
