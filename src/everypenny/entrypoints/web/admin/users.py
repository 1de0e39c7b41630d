"""The desk's users: who may log in, and with which role (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from everypenny.bootstrap import Platform
from everypenny.domain.users import Permission, Role, UserRuleBroken
from everypenny.entrypoints.web.admin.pages import page
from everypenny.entrypoints.web.admin.security import allowed, now
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer import auth
from everypenny.service_layer.desk_ports import DeskSession

router = APIRouter()
may_manage_users = allowed(Permission.MANAGE_USERS)


def users_page(request: Request, platform: Platform, status_code: int = 200, error: str | None = None,
               added: str | None = None, removed: str | None = None, email: str = "",
               role: str = Role.VIEWER.value) -> HTMLResponse:
    return page(request, "users.html", status_code, users=auth.list_users(platform.uow()), roles=list(Role),
                error=error, added=added, removed=removed, email=email, role=role)


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, platform: PlatformDep,
          session: DeskSession = Depends(may_manage_users)) -> HTMLResponse:
    return users_page(request, platform)


@router.post("/users", response_class=HTMLResponse)
def add_user(request: Request, platform: PlatformDep, email: str = Form(""), role: str = Form(""),
             password: str = Form(""), session: DeskSession = Depends(may_manage_users)) -> HTMLResponse:
    try:
        user = auth.add_user(platform.uow(), platform.passwords, email, role, password, now())
    except (UserRuleBroken, auth.UserExists) as error:
        return users_page(request, platform, 400, error=str(error), email=email, role=role)
    return users_page(request, platform, added=user.email)


@router.post("/users/remove", response_class=HTMLResponse)
def remove_user(request: Request, platform: PlatformDep, email: str = Form(""),
                session: DeskSession = Depends(may_manage_users)) -> HTMLResponse:
    try:
        removed = auth.remove_user(platform.uow(), email, removed_by=session.user)
    except auth.RemovalRefused as error:
        return users_page(request, platform, 400, error=str(error))
    return users_page(request, platform, removed=removed.email)
