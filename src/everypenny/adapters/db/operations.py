"""Operational figures read from the database at scrape time, for /metrics.

The database is the one place every app node and worker writes to, so figures read from it are the same
whichever node Prometheus scrapes, count work done by processes that have since been killed, and need no
per-process state (see entrypoints/web/metrics.py for why this beats PROMETHEUS_MULTIPROC_DIR here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from everypenny.adapters.db.schema import inbox_messages, outbox_tasks, sms_charges


@dataclass(frozen=True)
class OperationalFigures:
    callbacks_received: dict[str, int]  # by kind (mo, charge_report, delivery_report, ...): ever stored
    outbox_depth: dict[str, int]  # by topic: tasks not yet done (parked ones apart)
    outbox_parked: dict[str, int]  # by topic: tasks parked after failing too often, waiting for an admin
    oldest_pending_task_age_s: float  # how far behind the workers are; 0 when nothing waits
    charges: dict[str, int]  # by status: requested, charged, failed


def operational_figures(engine: Engine) -> OperationalFigures:
    with engine.connect() as connection:
        received: dict[str, int] = dict(connection.execute(
            select(inbox_messages.c.kind, func.count()).group_by(inbox_messages.c.kind)).all())
        undone = outbox_tasks.c.done_at.is_(None)
        waiting = undone & outbox_tasks.c.parked_at.is_(None)
        depth: dict[str, int] = dict(connection.execute(
            select(outbox_tasks.c.topic, func.count()).where(waiting).group_by(outbox_tasks.c.topic)).all())
        parked: dict[str, int] = dict(connection.execute(
            select(outbox_tasks.c.topic, func.count()).where(undone, outbox_tasks.c.parked_at.is_not(None))
            .group_by(outbox_tasks.c.topic)).all())
        oldest = connection.scalar(select(func.min(outbox_tasks.c.created_at)).where(waiting))
        charges: dict[str, int] = dict(connection.execute(
            select(sms_charges.c.status, func.count()).group_by(sms_charges.c.status)).all())
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return OperationalFigures(received, depth, parked, max(age, 0.0), charges)
