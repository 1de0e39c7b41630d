"""The appeal desk at /admin: server-rendered pages for the charity's and the media partner's teams.

A FastAPI sub-application mounted at /admin, so its login redirects, error pages and security headers
apply to desk pages only. Routes are thin: they call service_layer.desk and service_layer.auth.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from everypenny.bootstrap import Platform
from everypenny.domain.appeal import UK_TIME, Appeal, AppealStatus
from everypenny.domain.appeal_lifecycle import ALLOWED_TRANSITIONS, TransitionRefused
from everypenny.domain.money import format_pence
from everypenny.domain.privacy import mask_email, mask_phone
from everypenny.domain.users import Permission, Role, UserRuleBroken
from everypenny.entrypoints.web.admin import parked_tasks
from everypenny.entrypoints.web.admin.charts import activity_svg
from everypenny.entrypoints.web.admin.money import add_money_routes
from everypenny.entrypoints.web.admin.security import (
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    allowed,
    cookie_is_secure,
    new_login_csrf,
    now,
    same_token,
)
from everypenny.entrypoints.web.edge import client_address
from everypenny.service_layer import auth, desk, gift_aid_claims, money_out, settlement
from everypenny.service_layer.desk_ports import DeskSession

HERE = Path(__file__).parent
STATIC_PATH = "/static/desk"
EXPORT_NAMES = {"donations": "Donations", "charges": "Charges (phone bills and cards)", "transfers": "Ledger transfers",
                "consents": "Consent list (opted in)"}
POLL_SECONDS = 3
PROBLEM_NAMES = {"short": "Short-paid", "over": "Over-paid", "unknown": "Paid for nothing we know of",
                 "failed_charge": "Paid for a failed charge", "duplicate": "Paid twice"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["money"] = format_pence
    templates.env.filters["phone"] = mask_phone
    templates.env.filters["email"] = mask_email
    templates.env.filters["when"] = uk_time
    templates.env.globals.update(searchable=desk.SEARCHABLE, card_channels=settlement.CARD_CHANNELS)
    templates.env.globals.update(channel_names=desk.CHANNEL_NAMES, static=STATIC_PATH, csrf_field=CSRF_FIELD,
                                 Permission=Permission, export_names=EXPORT_NAMES, poll_seconds=POLL_SECONDS)
    return templates


def uk_time(moment: datetime | None) -> str:
    """A moment as the charity's staff read it: UK wall-clock time, with GMT or BST named."""
    return moment.astimezone(UK_TIME).strftime("%d %b %Y %H:%M:%S %Z") if moment else ""


def same_words(typed: str, expected: str) -> bool:
    """A typed confirmation matches whatever its case, spacing or apostrophe (phones type ’ for ')."""
    def plain(text: str) -> str:
        return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split()).casefold()
    return plain(typed) == plain(expected)


def _day(text: str, field: str) -> date | None:
    """A date typed in the search form (a date picker sends 2026-11-26)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise desk.SearchNotUnderstood(f"{field} date {text!r} is not a date: use the date picker or write it as "
                                       "2026-11-26") from None


def static_files() -> StaticFiles:
    """HTMX and the desk's stylesheet, vendored so the desk loads nothing from another site."""
    return StaticFiles(directory=HERE / "static")


def desk_app(platform: Platform) -> FastAPI:
    templates = _templates()
    desk_api = FastAPI(title="everypenny appeal desk", docs_url=None, redoc_url=None, openapi_url=None)
    desk_api.state.platform = platform

    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        session = getattr(request.state, "desk_session", None)
        return templates.TemplateResponse(request, name, {"session": session, **context}, status_code=status_code)

    @desk_api.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response

    @desk_api.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired):
        wanted = error.next_path if error.next_path.startswith("/admin") else "/admin" + error.next_path
        login = f"/admin/login?next={quote(wanted, safe='')}"
        if error.wants_page:
            return RedirectResponse(login, status_code=303)
        return HTMLResponse("Your desk session has ended: log in again.", status_code=401,
                            headers={"HX-Redirect": login})

    @desk_api.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return page(request, "error.html", error.status_code, status=error.status_code, message=error.detail)

    # --- logging in and out ------------------------------------------------------------------------------

    def login_page(request: Request, email: str = "", error: str | None = None, next_path: str = "",
                   status_code: int = 200) -> HTMLResponse:
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
        response = page(request, "login.html", status_code, email=email, error=error, login_csrf=token,
                        next_path=next_path)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path=COOKIE_PATH,
                            secure=cookie_is_secure(request))
        return response

    @desk_api.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "") -> HTMLResponse:
        return login_page(request, next_path=next)

    @desk_api.post("/login")
    def login(request: Request, email: str = Form(""), password: str = Form(""),
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
            response: Response = login_page(
                request, email, "Too many login attempts from your connection: try again in "
                                f"{error.retry_after_s // 60 + 1} minutes.", next, 429)
            response.headers["Retry-After"] = str(error.retry_after_s)
            return response
        if logged_in is None:
            return login_page(request, email, "That email and password do not match a desk user.", next, 401)
        target = next if next.startswith("/admin") and not next.startswith("/admin/login") else "/admin/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, logged_in.token, max_age=int(lifetime.total_seconds()), httponly=True,
                            samesite="lax", path=COOKIE_PATH, secure=cookie_is_secure(request))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
        return response

    @desk_api.post("/logout")
    def logout(request: Request, session: DeskSession = Depends(allowed(Permission.VIEW))) -> Response:
        auth.log_out(platform.uow(), request.cookies[SESSION_COOKIE])
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
        return response

    # --- appeals and their dashboards --------------------------------------------------------------------

    @desk_api.get("/", response_class=HTMLResponse)
    def home(request: Request, session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
        return page(request, "appeals.html", appeals=desk.appeals(platform.uow()))

    def _dashboard(slug: str) -> desk.Dashboard:
        try:
            return desk.dashboard(platform.uow(), slug)
        except desk.UnknownAppeal as error:
            raise HTTPException(404, str(error)) from None

    def _appeal(slug: str) -> Appeal:
        try:
            return desk.appeal(platform.uow(), slug)
        except desk.UnknownAppeal as error:
            raise HTTPException(404, str(error)) from None

    def dashboard_page(request: Request, slug: str, status_code: int = 200,
                       close_error: str | None = None) -> HTMLResponse:
        board = _dashboard(slug)
        return page(request, "dashboard.html", status_code, board=board, shown_at=now(), close_error=close_error,
                    transitions={status.value for status in ALLOWED_TRANSITIONS[board.appeal.status]})

    @desk_api.get("/appeals/{slug}", response_class=HTMLResponse)
    def appeal_dashboard(request: Request, slug: str,
                         session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
        return dashboard_page(request, slug)

    @desk_api.get("/appeals/{slug}/live", response_class=HTMLResponse)
    def appeal_dashboard_live(request: Request, slug: str,
                              session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
        """The dashboard's figures alone, polled by HTMX while a spike runs."""
        return page(request, "_live.html", board=_dashboard(slug))

    @desk_api.get("/appeals/{slug}/activity.svg")
    def appeal_activity_chart(slug: str, session: DeskSession = Depends(allowed(Permission.VIEW))) -> Response:
        try:
            series = desk.activity(platform.uow(), slug)
        except desk.UnknownAppeal as error:
            raise HTTPException(404, str(error)) from None
        return Response(activity_svg(series), media_type="image/svg+xml")

    @desk_api.post("/appeals/{slug}/status")
    def appeal_status(request: Request, slug: str, status: str = Form(""), confirm_name: str = Form(""),
                      session: DeskSession = Depends(allowed(Permission.MANAGE_APPEALS))) -> Response:
        """Closing is final, so it needs the appeal's name typed out: a slip of the mouse cannot close it."""
        name = _appeal(slug).name
        if status.strip().lower() == AppealStatus.CLOSED.value and not same_words(confirm_name, name):
            typed = f"You typed {confirm_name.strip()!r}. " if confirm_name.strip() else ""
            return dashboard_page(request, slug, 400, close_error=f"{typed}To close the appeal, type its name "
                                                                  f"exactly as shown: {name}. Nothing has changed.")
        try:
            desk.change_appeal_status(platform.uow(), slug, status, f"desk:{session.user.email}")
        except desk.UnknownAppeal as error:
            raise HTTPException(404, str(error)) from None
        except (desk.StatusUnknown, TransitionRefused) as error:
            raise HTTPException(409, str(error)) from None
        return RedirectResponse(f"/admin/appeals/{slug}", status_code=303)

    @desk_api.get("/appeals/{slug}/reconciliation", response_class=HTMLResponse)
    def appeal_reconciliation(request: Request, slug: str,
                              session: DeskSession = Depends(allowed(Permission.EXPORT))) -> HTMLResponse:
        """Finance's view: settlement lines against charges, and what is still owed or wrong."""
        settings = platform.settings
        try:
            report = settlement.reconcile(platform.uow, slug, settings.settlement_window_days,
                                          settings.card_settlement_window_days)
        except money_out.UnknownAppeal as error:
            raise HTTPException(404, str(error)) from None
        return page(request, "reconciliation.html", board=_dashboard(slug), report=report,
                    problem_names=PROBLEM_NAMES, gift_aid=gift_aid_claims.gift_aid_schedule(platform.uow, slug))

    # --- donations ---------------------------------------------------------------------------------------

    @desk_api.get("/donations", response_class=HTMLResponse)
    def donation_search(request: Request, q: str = Query("", max_length=200),
                        made_from: str = Query("", alias="from", max_length=10),
                        made_to: str = Query("", alias="to", max_length=10),
                        session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
        form: dict[str, Any] = {"q": q, "made_from": made_from, "made_to": made_to}
        if not (q.strip() or made_from or made_to):
            return page(request, "donations.html", **form, result=None, error=None)
        try:
            since, until = _day(made_from, "From"), _day(made_to, "To")
            result = desk.search_donations(platform.uow(), q, since, until)
        except desk.SearchNotUnderstood as error:
            return page(request, "donations.html", 400, **form, result=None, error=str(error))
        return page(request, "donations.html", **form, result=result, error=None)

    @desk_api.get("/donations/{reference}", response_class=HTMLResponse)
    def donation_detail(request: Request, reference: str,
                        session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
        history = desk.donation_history(platform.uow(), reference)
        if history is None:
            raise HTTPException(404, f"no donation has the reference {reference!r}")
        return page(request, "donation.html", history=history)

    # --- exports -----------------------------------------------------------------------------------------

    @desk_api.get("/appeals/{slug}/exports/{kind}.csv")
    def export(slug: str, kind: str, session: DeskSession = Depends(allowed(Permission.EXPORT))) -> Response:
        try:
            desk.check_export(platform.uow(), kind, slug)
        except (desk.ExportRefused, desk.UnknownAppeal) as error:
            raise HTTPException(404, str(error)) from None
        chunks = (chunk.text for chunk in desk.export_csv(platform.uow(), kind, slug))
        filename = desk.export_filename(kind, slug, now())
        return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    add_money_routes(desk_api, platform, page)

    # --- users -------------------------------------------------------------------------------------------

    def users_page(request: Request, status_code: int = 200, error: str | None = None, added: str | None = None,
                   removed: str | None = None, email: str = "", role: str = Role.VIEWER.value) -> HTMLResponse:
        return page(request, "users.html", status_code, users=auth.list_users(platform.uow()), roles=list(Role),
                    error=error, added=added, removed=removed, email=email, role=role)

    @desk_api.get("/users", response_class=HTMLResponse)
    def users(request: Request, session: DeskSession = Depends(allowed(Permission.MANAGE_USERS))) -> HTMLResponse:
        return users_page(request)

    @desk_api.post("/users", response_class=HTMLResponse)
    def add_user(request: Request, email: str = Form(""), role: str = Form(""), password: str = Form(""),
                 session: DeskSession = Depends(allowed(Permission.MANAGE_USERS))) -> HTMLResponse:
        try:
            user = auth.add_user(platform.uow(), platform.passwords, email, role, password, now())
        except (UserRuleBroken, auth.UserExists) as error:
            return users_page(request, 400, error=str(error), email=email, role=role)
        return users_page(request, added=user.email)

    @desk_api.post("/users/remove", response_class=HTMLResponse)
    def remove_user(request: Request, email: str = Form(""),
                    session: DeskSession = Depends(allowed(Permission.MANAGE_USERS))) -> HTMLResponse:
        try:
            removed = auth.remove_user(platform.uow(), email, removed_by=session.user)
        except auth.RemovalRefused as error:
            return users_page(request, 400, error=str(error))
        return users_page(request, removed=removed.email)

    parked_tasks.install(desk_api, platform, page)
    return desk_api
