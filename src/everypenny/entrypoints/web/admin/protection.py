"""The desk's "Protect someone": stop taking gifts from a number or email (Fundraising Regulator, people in
vulnerable circumstances), with a reason, as `everypenny donor block` does. Finance and admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from everypenny.bootstrap import Platform
from everypenny.domain.contact_marks import InvalidBlock
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, InvalidContact
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.pages import page
from everypenny.entrypoints.web.admin.security import allowed
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer.desk_ports import DeskSession
from everypenny.service_layer.protection import block_history, set_block

router = APIRouter()
may_protect = allowed(Permission.MANAGE_MONEY)


def protect_page(request: Request, platform: Platform, status_code: int = 200, error: str | None = None,
                 notice: str | None = None, form: dict[str, str] | None = None) -> HTMLResponse:
    with platform.uow() as uow:
        history = block_history(uow)
    return page(request, "protect.html", status_code, history=history, error=error, notice=notice,
                form=form or {"contact": "", "reason": ""})


@router.get("/protect", response_class=HTMLResponse)
def protect(request: Request, platform: PlatformDep, session: DeskSession = Depends(may_protect)) -> HTMLResponse:
    return protect_page(request, platform)


@router.post("/protect", response_class=HTMLResponse)
def protect_submit(request: Request, platform: PlatformDep, contact: str = Form(""), reason: str = Form(""),
                   action: str = Form("block"), session: DeskSession = Depends(may_protect)) -> HTMLResponse:
    form = {"contact": contact, "reason": reason}
    try:
        typed = contact.strip()
        parsed = Contact.parse(Medium.EMAIL if "@" in typed else Medium.SMS, typed)
        change = set_block(platform.uow, parsed, action != "unblock", reason, f"desk:{session.user.email}")
    except (InvalidContact, InvalidBlock) as error:
        return protect_page(request, platform, 400, error=str(error), form=form)
    effect = "is blocked from giving" if change.blocked else "may give again"
    return protect_page(request, platform, notice=f"{parsed.value} {effect}; your reason is on record.")
