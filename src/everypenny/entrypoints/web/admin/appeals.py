"""The desk's appeals: the list, each appeal's dashboard and activity chart, its status, finance's
reconciliation, and the CSV exports."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from everypenny.bootstrap import Platform
from everypenny.domain.appeal import AppealStatus
from everypenny.domain.appeal_lifecycle import ALLOWED_TRANSITIONS
from everypenny.domain.promotion import promotion_copy
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.charts import activity_svg
from everypenny.entrypoints.web.admin.pages import TEMPLATES, page
from everypenny.entrypoints.web.admin.security import allowed, now
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer import broadcast, desk, gift_aid_claims, settlement
from everypenny.service_layer.charge_corrections import contradictions
from everypenny.service_layer.desk_ports import DeskSession

PROBLEM_NAMES = {"short": "Short-paid", "over": "Over-paid", "unknown": "Paid for nothing we know of",
                 "failed_charge": "Paid for a failed charge", "duplicate": "Paid twice"}

ON_AIR = "On air"  # the label when the desk's button gives none

router = APIRouter()


def same_words(typed: str, expected: str) -> bool:
    """A typed confirmation matches whatever its case, spacing or apostrophe (phones type ’ for ')."""
    def plain(text: str) -> str:
        return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split()).casefold()
    return plain(typed) == plain(expected)


def closing_refused(name: str, typed: str) -> str | None:
    """Why closing the appeal named `name` with `typed` as its confirmation is refused, or None."""
    if same_words(typed, name):
        return None
    said = f"You typed {typed.strip()!r}. " if typed.strip() else ""
    return f"{said}To close the appeal, type its name exactly as shown: {name}. Nothing has changed."


def dashboard_page(request: Request, platform: Platform, slug: str, status_code: int = 200,
                   close_error: str | None = None) -> HTMLResponse:
    board = desk.dashboard(platform.uow(), slug)
    return page(request, "dashboard.html", status_code, board=board, shown_at=now(), close_error=close_error,
                transitions={status.value for status in ALLOWED_TRANSITIONS[board.appeal.status]},
                effects=broadcast.marker_effects(platform.uow(), slug))


@router.get("/", response_class=HTMLResponse)
def home(request: Request, platform: PlatformDep,
         session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    return page(request, "appeals.html", appeals=desk.appeals(platform.uow()))


@router.get("/appeals/{slug}", response_class=HTMLResponse)
def appeal_dashboard(request: Request, slug: str, platform: PlatformDep,
                     session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    return dashboard_page(request, platform, slug)


@router.get("/appeals/{slug}/live", response_class=HTMLResponse)
def appeal_dashboard_live(request: Request, slug: str, platform: PlatformDep,
                          session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    """The dashboard's figures alone, polled by HTMX while a spike runs."""
    return page(request, "_live.html", board=desk.dashboard(platform.uow(), slug),
                effects=broadcast.marker_effects(platform.uow(), slug))


@router.get("/appeals/{slug}/activity.svg")
def appeal_activity_chart(slug: str, platform: PlatformDep,
                          session: DeskSession = Depends(allowed(Permission.VIEW))) -> Response:
    return Response(activity_svg(desk.activity(platform.uow(), slug), broadcast.markers(platform.uow(), slug)),
                    media_type="image/svg+xml")


@router.post("/appeals/{slug}/markers")
def appeal_on_air(slug: str, platform: PlatformDep, label: str = Form(ON_AIR),
                  session: DeskSession = Depends(allowed(Permission.MANAGE_APPEALS))) -> Response:
    """"On air now": marks this moment, so the chart and the table of effects show what it brought in."""
    broadcast.add_marker(platform.uow(), slug, label, now())
    return RedirectResponse(f"/admin/appeals/{slug}#markers", status_code=303)


@router.post("/appeals/{slug}/status")
def appeal_status(request: Request, slug: str, platform: PlatformDep, status: str = Form(""),
                  confirm_name: str = Form(""),
                  session: DeskSession = Depends(allowed(Permission.MANAGE_APPEALS))) -> Response:
    """Closing is final, so it needs the appeal's name typed out: a slip of the mouse cannot close it."""
    name = desk.appeal(platform.uow(), slug).name
    refused = closing_refused(name, confirm_name) if status.strip().lower() == AppealStatus.CLOSED.value else None
    if refused:
        return dashboard_page(request, platform, slug, 400, close_error=refused)
    desk.change_appeal_status(platform.uow(), slug, status, f"desk:{session.user.email}")
    return RedirectResponse(f"/admin/appeals/{slug}", status_code=303)


@router.get("/appeals/{slug}/promotion", response_class=HTMLResponse)
def appeal_promotion(request: Request, slug: str, platform: PlatformDep,
                     session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    """The call to action with its small print for print, on air and the web (domain/promotion.py)."""
    appeal = desk.appeal(platform.uow(), slug)
    copy = promotion_copy(appeal)
    snippet = TEMPLATES.get_template("promotion_snippet.html").render(appeal=appeal, promotion=copy)
    return page(request, "promotion.html", appeal=appeal, promotion=copy, snippet=snippet.strip())


def reconciliation_page(request: Request, platform: Platform, slug: str, status_code: int = 200,
                        resolved: str | None = None, resolve_error: str | None = None) -> HTMLResponse:
    settings = platform.settings
    report = settlement.reconcile(platform.uow, slug, settings.settlement_window_days,
                                  settings.card_settlement_window_days)
    return page(request, "reconciliation.html", status_code, board=desk.dashboard(platform.uow(), slug),
                report=report, problem_names=PROBLEM_NAMES,
                gift_aid=gift_aid_claims.gift_aid_schedule(platform.uow, slug),
                contradictions=contradictions(platform.uow, slug), resolved=resolved, resolve_error=resolve_error)


@router.get("/appeals/{slug}/reconciliation", response_class=HTMLResponse)
def appeal_reconciliation(request: Request, slug: str, platform: PlatformDep, resolved: str | None = None,
                          session: DeskSession = Depends(allowed(Permission.EXPORT))) -> HTMLResponse:
    """Finance's view: settlement lines against charges, contradicted charges, and what is still owed or wrong."""
    return reconciliation_page(request, platform, slug, resolved=resolved)


@router.get("/appeals/{slug}/exports/{kind}.csv")
def export(slug: str, kind: str, platform: PlatformDep,
           session: DeskSession = Depends(allowed(Permission.EXPORT))) -> Response:
    desk.check_export(platform.uow(), kind, slug)
    chunks = (chunk.text for chunk in desk.export_csv(platform.uow(), kind, slug))
    filename = desk.export_filename(kind, slug, now())
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
