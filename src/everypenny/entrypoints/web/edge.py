"""What every request meets first on the internet: who the client is, how much body it may send, and the
headers every answer carries. docs/security.md says what each defends."""

from __future__ import annotations

import contextlib
import ipaddress
from functools import lru_cache

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from everypenny.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def networks_from(setting: str) -> tuple[Network, ...]:
    """A setting listing addresses and networks ("10.0.0.1, 10.1.0.0/16") as networks; a single address is a
    /32 or /128. A mistyped entry raises ValueError."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in setting.split(",") if entry.strip())


def address_in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(connection: HTTPConnection) -> str:
    """The address of the client a request comes from: the one every per-client limit counts.

    The connection's peer, unless the peer is a trusted proxy (EVERYPENNY_TRUSTED_PROXIES): then the
    X-Forwarded-For chain is read from the right, skipping trusted proxies, and the first address not
    trusted is the client. Nobody's X-Forwarded-For is believed otherwise, a loopback peer's included, so a
    client cannot choose its own address.
    """
    peer = connection.client.host if connection.client else "unknown"
    networks = networks_from(connection.app.state.platform.settings.trusted_proxies)
    if not address_in(peer, networks):
        return peer
    forwarded = ",".join(connection.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        client = hop
        if not address_in(hop, networks):
            break
    return client


class BodyTooLarge(Exception):
    pass


def body_limit(settings: Settings, path: str) -> int:
    """The most body a request to `path` may send: webhooks carry providers' whole objects, forms do not."""
    return settings.max_webhook_body_bytes if path.startswith("/webhooks/") else settings.max_body_bytes


def declared_over(scope: Scope, limit: int) -> bool:
    """Whether the request declares (Content-Length) a body over `limit`, or a length that is no number."""
    declared = Headers(scope=scope).get("content-length")
    return declared is not None and (not declared.isdigit() or int(declared) > limit)


async def body_within(receive: Receive, limit: int) -> bytes | None:
    """The request's body, or None as soon as it passes `limit` bytes (the rest is never read)."""
    chunks = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def too_large(limit: int) -> PlainTextResponse:
    return PlainTextResponse(f"The request body is larger than this address accepts ({limit} bytes).",
                             status_code=413, headers={"Connection": "close"})


class BodySizeLimit:
    """Refuses a body over the limit with 413 before reading it (by Content-Length), and stops reading a
    streamed one as soon as it passes the limit, so no request can make the process hold more than that."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(self.settings, scope["path"])
        if declared_over(scope, limit):
            await too_large(limit)(scope, receive, send)
            return
        received = 0
        too_large_body = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large_body
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large_body = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if too_large_body:  # whatever the app made of the cut-off body, the answer is 413
                return
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyTooLarge):  # the app stopped reading: the answer is ours
            await self.app(scope, counted_receive, guarded_send)
        if too_large_body and not response_started:
            await too_large(limit)(scope, receive, send)


# Pages that set their own Content-Security-Policy (the desk, the embeddable widget) keep it.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
# FastAPI's Swagger UI page (only when EVERYPENNY_API_DOCS is on) runs an inline script and loads its bundle
# from jsDelivr, as fastapi.openapi.docs.get_swagger_ui_html writes it.
DOCS_POLICY = ("default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
               "style-src 'self' https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def secure(headers: MutableHeaders, policy: str) -> None:
    """Adds the security headers to an answer's: CSP and framing unless it set its own policy, nosniff and
    the referrer policy unless it set its own."""
    if "content-security-policy" not in headers:
        headers["Content-Security-Policy"] = policy
        headers["X-Frame-Options"] = "DENY"
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")


# Browsers that reached us over https once keep to https for a year (RFC 6797); not includeSubDomains, since
# the charity's other sites on its domain are not ours to vouch for.
HSTS = "max-age=31536000"


def secured(send: Send, policy: str, https: bool = False) -> Send:
    """`send`, adding the security headers to the answer it starts (and HSTS when served over https)."""

    async def with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            secure(headers, policy)
            if https:
                headers.setdefault("Strict-Transport-Security", HSTS)
        await send(message)

    return with_headers


class SecurityHeaders:
    """CSP, framing, nosniff, referrer policy and (with an https public URL) HSTS on every answer, whichever
    route or error made it. It wraps the whole app, Starlette's error handler too (EdgeApp), so a 500 has them."""

    def __init__(self, app: ASGIApp, settings: Settings, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.https = settings.public_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in self.docs_paths else PAGE_POLICY
        await self.app(scope, receive, secured(send, policy, self.https))


def headers_too_large(max_headers: int, max_header_bytes: int) -> str:
    return (f"The request's headers are more than this server accepts (at most {max_headers} headers, "
            f"{max_header_bytes} bytes).")


class RequestLimits:
    """Refuses a request before any route sees it: more headers than `max_headers`, or more than
    `max_header_bytes` of them (431, RFC 6585), which the server's own bounds (edge_server.py) stop before
    they are read; and an address with a NUL in its path or query (400), which no address of ours has and
    PostgreSQL cannot even compare."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_headers = settings.max_headers
        self.max_header_bytes = settings.max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if len(headers) > self.max_headers or sum(len(name) + len(value) for name, value in headers) > \
                self.max_header_bytes:
            refusal = PlainTextResponse(headers_too_large(self.max_headers, self.max_header_bytes),
                                        status_code=431, headers={"Connection": "close"})
        elif "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            refusal = PlainTextResponse("The address holds a NUL character (%00), which no address here has.",
                                        status_code=400)
        else:
            await self.app(scope, receive, send)
            return
        await refusal(scope, receive, send)


class EdgeApp(FastAPI):
    """FastAPI with the edge around everything: Starlette puts its error handler (the page a 500 gets) outside
    every middleware added with add_middleware, so answers it makes would miss the security headers."""

    def __init__(self, settings: Settings, **options) -> None:
        super().__init__(**options)
        self.edge_settings = settings

    def build_middleware_stack(self) -> ASGIApp:
        docs_paths = frozenset(path for path in (self.docs_url, self.swagger_ui_oauth2_redirect_url) if path) \
            if self.docs_url else frozenset()
        return SecurityHeaders(RequestLimits(super().build_middleware_stack(), self.edge_settings),
                               self.edge_settings, docs_paths)
