"""Poison work: a task that keeps failing is parked, shown on the desk and in /metrics, and an admin retries or
dismisses it from the desk or the command line (both stores)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from everypenny.adapters.db.schema import outbox_tasks
from everypenny.entrypoints.web.app import create_app
from everypenny.logs import configure_logging
from everypenny.service_layer.outbox import each_task
from tests.e2e.desk_helpers import log_in, make_user, quick_passwords, session_csrf

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]

POISON = "test.poison"
SMTP_PASSWORD = "hunter2-smtp-secret"


class Flaky:
    """A handler that fails until told to work."""

    def __init__(self) -> None:
        self.works = False
        self.ran: list[dict] = []

    def __call__(self, uow, payload) -> None:
        if not self.works:
            raise ValueError(f"EVERYPENNY_SMTP_URL must look like smtp://host:port, not "
                             f"'smtp+startls://receipts:{SMTP_PASSWORD}@mail.example:587'")
        self.ran.append(payload)


@pytest.fixture
def handler(platform) -> Flaky:
    flaky = Flaky()
    platform.handlers[POISON] = each_task(flaky)
    with platform.uow() as uow:
        uow.outbox.enqueue(POISON, {"reference": "EP-POISON001"})
        uow.commit()
    return flaky


def task_row(platform):
    with platform.engine.connect() as connection:
        return connection.execute(select(outbox_tasks).where(outbox_tasks.c.topic == POISON)).one()


def run_due(platform, worker, rounds: int) -> None:
    """Runs the worker `rounds` times, each time making every waiting task due (skipping the backoff)."""
    for _ in range(rounds):
        with platform.engine.begin() as connection:
            connection.execute(update(outbox_tasks).values(available_at=datetime.now(UTC) - timedelta(seconds=1)))
        worker.run_once()


def parked_task(platform, handler) -> int:
    run_due(platform, platform.worker(max_attempts=3), 3)
    return task_row(platform).id


def test_a_task_that_keeps_failing_is_parked_after_the_bounded_attempts_and_no_longer_claimed(platform, handler):
    worker = platform.worker(max_attempts=3)

    run_due(platform, worker, 2)
    assert task_row(platform).parked_at is None
    run_due(platform, worker, 1)
    parked = task_row(platform)
    run_due(platform, worker, 2)

    assert parked.parked_at is not None and parked.attempts == 3 and parked.done_at is None
    assert task_row(platform).attempts == 3  # never claimed again
    with platform.uow() as uow:
        assert uow.outbox.depth() == 0
        [listed] = uow.outbox.parked()
    assert (listed.id, listed.topic, listed.payload) == (parked.id, POISON, {"reference": "EP-POISON001"})


def test_the_default_bound_comes_from_the_settings(platform, handler):
    platform.settings.worker_max_attempts = 2

    run_due(platform, platform.worker(), 2)

    assert task_row(platform).parked_at is not None


def test_no_stored_error_or_log_line_shows_a_urls_password(platform, handler, capsys):
    configure_logging("INFO")

    run_due(platform, platform.worker(max_attempts=2), 2)

    stored = task_row(platform).last_error
    logged = capsys.readouterr().err
    assert "smtp+startls://receipts:***@mail.example:587" in stored
    assert "outbox task failed" in logged and "outbox task parked" in logged
    assert SMTP_PASSWORD not in stored and SMTP_PASSWORD not in logged


def test_metrics_count_parked_tasks_apart_from_the_queue(platform, handler, client):
    parked_task(platform, handler)

    metrics = client.get("/metrics").text

    assert f'everypenny_outbox_parked{{topic="{POISON}"}} 1.0' in metrics
    assert f'everypenny_outbox_depth{{topic="{POISON}"}}' not in metrics
    assert "everypenny_inbox_lag_seconds 0.0" in metrics  # a parked task is not work falling behind


def test_an_admin_retries_and_dismisses_from_the_command_line(platform, handler, cli):
    task_id = parked_task(platform, handler)

    listed = cli("tasks", "parked")
    retried = cli("tasks", "retry", task_id)
    again = cli("tasks", "retry", task_id)
    handler.works = True
    platform.worker().run_once()

    assert listed.exit_code == 0 and POISON in listed.output and "receipts:***@" in listed.output
    assert SMTP_PASSWORD not in listed.output
    assert retried.exit_code == 0 and f"task {task_id} is due again" in retried.output
    assert again.exit_code == 2 and f"no parked task has the id {task_id}" in again.output
    assert handler.ran == [{"reference": "EP-POISON001"}]
    assert task_row(platform).done_at is not None and task_row(platform).dismissed_by is None
    assert "no parked tasks" in cli("tasks", "parked").output


def test_a_dismissed_task_is_done_without_running_and_says_who_dismissed_it(platform, handler, cli):
    task_id = parked_task(platform, handler)

    dismissed = cli("tasks", "dismiss", task_id)
    handler.works = True
    run_due(platform, platform.worker(), 1)

    assert dismissed.exit_code == 0 and f"task {task_id} dismissed" in dismissed.output
    row = task_row(platform)
    assert row.done_at is not None and row.dismissed_by.startswith("cli:")
    assert handler.ran == []


def test_the_desk_shows_parked_tasks_to_admins_who_retry_or_dismiss_them_with_the_csrf_token(platform, handler):
    task_id = parked_task(platform, handler)
    with TestClient(create_app(platform)) as client:
        log_in(client, make_user(platform, "admin"))
        page = client.get("/admin/tasks")
        forged = client.post(f"/admin/tasks/{task_id}/dismiss", data={"csrf_token": "guess"})
        unchanged = task_row(platform)
        retried = client.post(f"/admin/tasks/{task_id}/retry", data={"csrf_token": session_csrf(client)},
                              follow_redirects=False)
        after_retry = task_row(platform)
        parked_task(platform, handler)
        dismissed = client.post(f"/admin/tasks/{task_id}/dismiss", data={"csrf_token": session_csrf(client)})
        twice = client.post(f"/admin/tasks/{task_id}/dismiss", data={"csrf_token": session_csrf(client)})

    assert page.status_code == 200 and POISON in page.text and "receipts:***@" in page.text
    assert SMTP_PASSWORD not in page.text
    assert re.search(rf'action="/admin/tasks/{task_id}/retry"', page.text)
    assert forged.status_code == 403 and unchanged.parked_at is not None and unchanged.done_at is None
    assert retried.status_code == 303 and retried.headers["location"] == f"/admin/tasks?retried={task_id}"
    assert after_retry.parked_at is None and after_retry.attempts == 0
    assert dismissed.status_code == 200 and f"Task {task_id} dismissed" in dismissed.text
    assert "No parked tasks" in dismissed.text
    assert task_row(platform).dismissed_by == "desk:admin@desk.example.org"
    assert twice.status_code == 404 and "retried or dismissed already" in twice.text


def test_finance_and_viewers_cannot_see_or_answer_parked_tasks(platform, handler):
    task_id = parked_task(platform, handler)
    with TestClient(create_app(platform)) as client:
        log_in(client, make_user(platform, "finance"))
        page = client.get("/admin/tasks")
        retry = client.post(f"/admin/tasks/{task_id}/retry", data={"csrf_token": session_csrf(client)})

    assert page.status_code == retry.status_code == 403
    assert task_row(platform).parked_at is not None
