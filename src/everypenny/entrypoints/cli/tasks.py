"""`everypenny tasks …`: outbox work that failed too often and was parked, retried or dismissed by an admin."""

from __future__ import annotations

import getpass

import typer

from everypenny.domain.redaction import redact_secrets
from everypenny.entrypoints.cli.shared import console, fail, opened_platform
from everypenny.service_layer.parked_tasks import NotParked, dismiss_parked, parked_tasks, retry_parked

tasks_app = typer.Typer(help="Parked outbox tasks: work that kept failing and waits for an admin.",
                        no_args_is_help=True)


@tasks_app.command("parked")
def tasks_parked() -> None:
    """List parked tasks, oldest first, with why each last failed."""
    with opened_platform() as running:
        parked = parked_tasks(running.uow)
    if not parked:
        console.print("no parked tasks: every task is running or done")
        return
    for task in parked:
        console.print(f"task {task.id}  {task.topic}  {task.attempts} attempts  "
                          f"queued {task.created_at:%Y-%m-%d %H:%M}  parked {task.parked_at:%Y-%m-%d %H:%M} UTC",
                          highlight=False)
        console.print(f"  last error: {redact_secrets(task.last_error or 'none recorded')}", highlight=False,
                          markup=False)


@tasks_app.command("retry")
def tasks_retry(task_id: int = typer.Argument(..., help="The parked task's id (see `everypenny tasks parked`).")):
    """Run a parked task again, with a fresh count of attempts, once its cause is fixed."""
    with opened_platform() as running:
        try:
            retry_parked(running.uow, task_id)
        except NotParked as error:
            fail(str(error), code=2)
    console.print(f"task {task_id} is due again; a worker will run it shortly")


@tasks_app.command("dismiss")
def tasks_dismiss(task_id: int = typer.Argument(..., help="The parked task's id (see `everypenny tasks parked`).")):
    """Give up on a parked task: it is marked done without running, and your user name is recorded."""
    with opened_platform() as running:
        try:
            dismiss_parked(running.uow, task_id, f"cli:{getpass.getuser()}")
        except NotParked as error:
            fail(str(error), code=2)
    console.print(f"task {task_id} dismissed: it will not run")
