"""Poison work: tasks the outbox parked after failing too often, and an admin's two answers to each.

Retrying makes a parked task due again with a fresh count of attempts (after the cause is fixed: a setting,
a provider's outage, a bug); dismissing marks it done without running it, recording who decided so. Both
are refused for an id that is not parked, so a typo or a second click changes nothing.
"""

from __future__ import annotations

from everypenny.service_layer.ports import ParkedTask
from everypenny.service_layer.unit_of_work import UnitOfWorkFactory


class NotParked(LookupError):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"no parked task has the id {task_id}")


def parked_tasks(uow_factory: UnitOfWorkFactory) -> list[ParkedTask]:
    with uow_factory() as uow:
        return uow.outbox.parked()


def retry_parked(uow_factory: UnitOfWorkFactory, task_id: int) -> None:
    with uow_factory() as uow:
        if not uow.outbox.unpark(task_id):
            raise NotParked(task_id)
        uow.commit()


def dismiss_parked(uow_factory: UnitOfWorkFactory, task_id: int, dismissed_by: str) -> None:
    with uow_factory() as uow:
        if not uow.outbox.dismiss(task_id, dismissed_by):
            raise NotParked(task_id)
        uow.commit()
