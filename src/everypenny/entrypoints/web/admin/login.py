"""Logging in to the desk and out of it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.pages import page, uk_time
from everypenny.entrypoints.web.admin.security import (
    COOKIE_PATH,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    allowed,
    cookie_is_secure,
    new_login_csrf,
    now,
    same_token,
)
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.entrypoints.web.edge import client_address
from everypenny.service_layer import auth
from everypenny.service_layer.desk_ports import DeskSession

router = APIRouter()


def login_page(request: Request, email: str = "", error: str | None = None, next_path: str = "",
               status_code: int = 200) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = page(request, "login.html", status_code, email=email, error=error, login_csrf=token,
                    next_path=next_path)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=COOKIE_PATH,
                        secure=cookie_is_secure(request))
    return response


def after_login(next_path: str) -> str:
    """Where a login sends the user: the desk page they were sent away from, never the login form or another
    site."""
    return next_path if next_path.startswith("/admin") and not next_path.startswith("/admin/login") else "/admin/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return login_page(request, next_path=next)


@router.post("/login")
def login(request: Request, platform: PlatformDep, email: str = Form(""), password: str = Form(""),
          csrf_token: str = Form(""), next: str = Form("")) -> Response:
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return login_page(request, email, "The login form expired. Please try again.", next, 403)
    settings = platform.settings
    lifetime = timedelta(hours=settings.desk_session_hours)
    limits = auth.LoginLimits(per_client=settings.login_attempts_per_client,
                              window=timedelta(seconds=settings.login_window_s))
    try:
        logged_in = auth.log_in(platform.uow(), platform.passwords, email, password, now(), lifetime,
                                client=client_address(request), limits=limits)
    except auth.LoginLocked as error:
        return login_page(request, email, f"Too many failed attempts for this account: try again after "
                                          f"{uk_time(error.until)}, or ask an admin.", next, 429)
    except auth.TooManyLogins as error:
        response: Response = login_page(request, email, "Too many login attempts from your connection: try "
                                                        f"again in {error.retry_after_s // 60 + 1} minutes.", next,
                                        429)
        response.headers["Retry-After"] = str(error.retry_after_s)
        return response
    if logged_in is None:
        return login_page(request, email, "That email and password do not match a desk user.", next, 401)
    response = RedirectResponse(after_login(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, logged_in.token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="lax", path=COOKIE_PATH, secure=cookie_is_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request, platform: PlatformDep,
           session: DeskSession = Depends(allowed(Permission.VIEW))) -> Response:
    auth.log_out(platform.uow(), request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response
