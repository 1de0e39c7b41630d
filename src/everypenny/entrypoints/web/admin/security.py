"""Who may reach a desk route: a live session, a role with the route's permission, and a CSRF token on
every request that changes something."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from everypenny.domain.users import Permission
from everypenny.service_layer.auth import current_session
from everypenny.service_layer.desk_ports import DeskSession

SESSION_COOKIE = "everypenny_desk"
LOGIN_CSRF_COOKIE = "everypenny_desk_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE_PATH = "/admin"


class LoginRequired(Exception):
    """No live session: pages redirect to the login form, HTMX and API calls get 401."""

    def __init__(self, wants_page: bool, next_path: str) -> None:
        self.wants_page = wants_page
        self.next_path = next_path


def now() -> datetime:
    return datetime.now(UTC)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def cookie_is_secure(request: Request) -> bool:
    """Secure cookies whenever the desk is served over HTTPS (directly or per its public URL)."""
    platform = request.app.state.platform
    return request.url.scheme == "https" or platform.settings.public_url.startswith("https://")


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given and expected and hmac.compare_digest(given.encode(), expected.encode()))


async def submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def allowed(permission: Permission) -> Callable:
    """A dependency that yields the caller's session, or refuses: 401/redirect, 403, or 403 for a bad CSRF."""

    async def check(request: Request) -> DeskSession:
        platform = request.app.state.platform
        # The store is reached synchronously; keep it off the event loop that serves every other request.
        session = await run_in_threadpool(current_session, platform.uow(), request.cookies.get(SESSION_COOKIE), now())
        if session is None:
            wants_page = request.method in SAFE_METHODS and not is_htmx(request)
            raise LoginRequired(wants_page, request.url.path)
        if not session.user.can(permission):
            raise HTTPException(403, f"Your role ({session.user.role.value}) does not allow this: "
                                     f"it needs the {permission.value.replace('_', ' ')} permission.")
        if request.method not in SAFE_METHODS and not same_token(await submitted_csrf(request), session.csrf_token):
            raise HTTPException(403, "This form has expired or did not come from the desk (CSRF check failed). "
                                     "Reload the page and try again.")
        request.state.desk_session = session
        return session

    return check
