"""The appeal desk at /admin: server-rendered pages for the charity's and the media partner's teams.

A FastAPI sub-application mounted at /admin, so its login redirects, error pages and security headers
apply to desk pages only. Routes are thin and module-level, one module per part of the desk (login, appeals,
donations, money, users, parked tasks); they take the platform from the app (web/dependencies.py) and call
service_layer.desk, service_layer.auth and the use cases.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from everypenny.bootstrap import Platform
from everypenny.entrypoints.web.admin import appeals, donations, login, money, parked_tasks, protection, users
from everypenny.entrypoints.web.admin.pages import HERE, STATIC_PATH, error_page
from everypenny.entrypoints.web.admin.security import LoginRequired
from everypenny.entrypoints.web.errors import answer_refusals, status_of

__all__ = ["STATIC_PATH", "desk_app", "static_files"]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def static_files() -> StaticFiles:
    """HTMX and the desk's stylesheet, vendored so the desk loads nothing from another site."""
    return StaticFiles(directory=HERE / "static")


async def security_headers(request: Request, call_next):
    response = await call_next(request)
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    return response


async def login_required(request: Request, error: LoginRequired):
    wanted = error.next_path if error.next_path.startswith("/admin") else "/admin" + error.next_path
    login_path = f"/admin/login?next={quote(wanted, safe='')}"
    if error.wants_page:
        return RedirectResponse(login_path, status_code=303)
    return HTMLResponse("Your desk session has ended: log in again.", status_code=401,
                        headers={"HX-Redirect": login_path})


async def http_error(request: Request, error: HTTPException) -> HTMLResponse:
    return error_page(request, error.status_code, error.detail)


async def refusal(request: Request, error: Exception) -> HTMLResponse:
    """A use case's refusal (an unknown appeal, a status it cannot take...) as the desk's error page."""
    return error_page(request, status_of(error), str(error))


def desk_app(platform: Platform) -> FastAPI:
    desk_api = FastAPI(title="everypenny appeal desk", docs_url=None, redoc_url=None, openapi_url=None)
    desk_api.state.platform = platform
    desk_api.middleware("http")(security_headers)
    # Starlette types a handler as taking any Exception; each of these takes the one it is registered for.
    desk_api.add_exception_handler(LoginRequired, login_required)  # type: ignore[arg-type]
    desk_api.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    answer_refusals(desk_api, refusal)
    for part in (login, appeals, donations, money, protection, users, parked_tasks):
        # The routes themselves, not the router: newer FastAPIs keep an included router whole, and the
        # desk's routes stay one flat list, as tests/e2e/test_desk_access.py walks them.
        desk_api.router.routes.extend(part.router.routes)
    return desk_api
