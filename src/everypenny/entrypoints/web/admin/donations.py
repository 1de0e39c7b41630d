"""The desk's donation search and each donation's history."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.pages import page
from everypenny.entrypoints.web.admin.security import allowed
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer import desk
from everypenny.service_layer.desk_ports import DeskSession

router = APIRouter()


def typed_day(text: str, field: str) -> date | None:
    """A date typed in the search form (a date picker sends 2026-11-26)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise desk.SearchNotUnderstood(f"{field} date {text!r} is not a date: use the date picker or write it as "
                                       "2026-11-26") from None


@router.get("/donations", response_class=HTMLResponse)
def donation_search(request: Request, platform: PlatformDep, q: str = Query("", max_length=200),
                    made_from: str = Query("", alias="from", max_length=10),
                    made_to: str = Query("", alias="to", max_length=10),
                    session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    form: dict[str, Any] = {"q": q, "made_from": made_from, "made_to": made_to}
    if not (q.strip() or made_from or made_to):
        return page(request, "donations.html", **form, result=None, error=None)
    try:
        since, until = typed_day(made_from, "From"), typed_day(made_to, "To")
        result = desk.search_donations(platform.uow(), q, since, until)
    except desk.SearchNotUnderstood as error:
        return page(request, "donations.html", 400, **form, result=None, error=str(error))
    return page(request, "donations.html", **form, result=result, error=None)


@router.get("/donations/{reference}", response_class=HTMLResponse)
def donation_detail(request: Request, reference: str, platform: PlatformDep,
                    session: DeskSession = Depends(allowed(Permission.VIEW))) -> HTMLResponse:
    history = desk.donation_history(platform.uow(), reference)
    if history is None:
        raise HTTPException(404, f"no donation has the reference {reference!r}")
    return page(request, "donation.html", history=history)
