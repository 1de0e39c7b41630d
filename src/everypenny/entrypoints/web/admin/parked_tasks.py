"""The desk's page of parked tasks (/admin/tasks): poison work an admin retries or dismisses.

Admins only (the manage-appeals permission): a task's error may name a donor or a provider's answer.
Payloads are not shown; `everypenny tasks parked` lists the same tasks from a shell.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from everypenny.domain.redaction import redact_secrets
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.pages import page
from everypenny.entrypoints.web.admin.security import allowed
from everypenny.entrypoints.web.dependencies import PlatformDep
from everypenny.service_layer.desk_ports import DeskSession
from everypenny.service_layer.parked_tasks import NotParked, dismiss_parked, parked_tasks, retry_parked

admin = allowed(Permission.MANAGE_APPEALS)
router = APIRouter()


def answer(task_id: int, act: Callable[[], None], done: str) -> Response:
    """Back to the list, which says what was done; a task no longer parked is a 404 that says why."""
    try:
        act()
    except NotParked as error:
        raise HTTPException(404, f"{error}: it may have been retried or dismissed already.") from None
    return RedirectResponse(f"/admin/tasks?{done}={task_id}", status_code=303)


@router.get("/tasks", response_class=HTMLResponse)
def parked(request: Request, platform: PlatformDep, retried: int | None = None, dismissed: int | None = None,
           session: DeskSession = Depends(admin)) -> HTMLResponse:
    return page(request, "parked_tasks.html", tasks=parked_tasks(platform.uow), retried=retried,
                dismissed=dismissed, redact=redact_secrets)


@router.post("/tasks/{task_id}/retry")
def retry(task_id: int, platform: PlatformDep, session: DeskSession = Depends(admin)) -> Response:
    return answer(task_id, lambda: retry_parked(platform.uow, task_id), "retried")


@router.post("/tasks/{task_id}/dismiss")
def dismiss(task_id: int, platform: PlatformDep, session: DeskSession = Depends(admin)) -> Response:
    return answer(task_id, lambda: dismiss_parked(platform.uow, task_id, f"desk:{session.user.email}"),
                  "dismissed")
