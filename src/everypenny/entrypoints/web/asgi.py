"""The app for process managers: `uvicorn --factory --workers N everypenny.entrypoints.web.asgi:app`.

Each worker process builds its own platform (engine and pool) from EVERYPENNY_* settings, so app nodes stay
stateless and any number of them can sit behind a load balancer; outbox workers run apart
(`everypenny worker`).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import structlog
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from everypenny import bootstrap
from everypenny.config import get_settings
from everypenny.entrypoints.web.app import create_app
from everypenny.production import is_loopback_host, require_production_secrets

log = structlog.get_logger(__name__)


def app() -> ASGIApp:
    """Refuses (UnsafeSettings) to serve a public URL on development or weak secrets; on a loopback URL with
    such secrets, the app serves only requests that arrive at a loopback address."""
    settings = get_settings()
    problems = require_production_secrets(settings)
    served = create_app(bootstrap.build(settings))
    return LoopbackOnly(served, problems) if problems else served


class LoopbackOnly:
    """A factory's server may be bound to every interface (`--host 0.0.0.0`), which the factory cannot see; so
    while a secret is weak, a request that arrived at an address other than loopback is refused with a 503
    (and logged for the operator), and nothing from another machine is taken on development secrets."""

    def __init__(self, app: ASGIApp, problems: list[str]) -> None:
        self.app = app
        self.problems = problems

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] == "http" and server and not arrived_locally(server[0]):
            log.error("refused a request from another machine: this server runs on development or weak secrets",
                      problems=self.problems, address=server[0])
            refusal = PlainTextResponse("This server is not set up to serve other machines yet.", status_code=503)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


@lru_cache(maxsize=64)
def arrived_locally(server_host: str) -> bool:
    """Whether the address a request arrived at (the ASGI scope's "server") is this machine's loopback; a name
    rather than an address (an in-process test client's "testserver") is no socket anyone else can reach."""
    try:
        ipaddress.ip_address(server_host)
    except ValueError:
        return True
    return is_loopback_host(server_host)
