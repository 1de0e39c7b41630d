"""The desk's page of parked tasks (/admin/tasks): poison work an admin retries or dismisses.

Admins only (the manage-appeals permission): a task's error may name a donor or a provider's answer.
Payloads are not shown; `everypenny tasks parked` lists the same tasks from a shell.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from everypenny.bootstrap import Platform
from everypenny.domain.redaction import redact_secrets
from everypenny.domain.users import Permission
from everypenny.entrypoints.web.admin.security import allowed
from everypenny.service_layer.desk_ports import DeskSession
from everypenny.service_layer.parked_tasks import NotParked, dismiss_parked, parked_tasks, retry_parked


def install(desk_api: FastAPI, platform: Platform, page: Callable[..., HTMLResponse]) -> None:
    admin = allowed(Permission.MANAGE_APPEALS)

    @desk_api.get("/tasks", response_class=HTMLResponse)
    def parked(request: Request, retried: int | None = None, dismissed: int | None = None,
               session: DeskSession = Depends(admin)) -> HTMLResponse:
        return page(request, "parked_tasks.html", tasks=parked_tasks(platform.uow), retried=retried,
                    dismissed=dismissed, redact=redact_secrets)

    def answer(task_id: int, act: Callable[[], None], done: str) -> Response:
        try:
            act()
        except NotParked as error:
            raise HTTPException(404, f"{error}: it may have been retried or dismissed already.") from None
        return RedirectResponse(f"/admin/tasks?{done}={task_id}", status_code=303)

    @desk_api.post("/tasks/{task_id}/retry")
    def retry(task_id: int, session: DeskSession = Depends(admin)) -> Response:
        return answer(task_id, lambda: retry_parked(platform.uow, task_id), "retried")

    @desk_api.post("/tasks/{task_id}/dismiss")
    def dismiss(task_id: int, session: DeskSession = Depends(admin)) -> Response:
        return answer(task_id, lambda: dismiss_parked(platform.uow, task_id, f"desk:{session.user.email}"),
                      "dismissed")
