"""Operational figures read from the database at scrape time, for /metrics.

The database is the one place every app node and worker writes to, so figures read from it are the same
whichever node Prometheus scrapes, count work done by processes that have since been killed, and need no
per-process state (entrypoints/web/metrics.py adds what only a process sees: requests, worker batches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select

from everypenny.adapters.db.schema import (
    appeals,
    broadcast_markers,
    donations,
    inbox_messages,
    outbox_tasks,
    settlement_statements,
    sms_charges,
)

POSTED = ("paid", "part_paid", "refunded")  # donations whose money came in (a refund is a later, separate event)


@dataclass(frozen=True)
class OperationalFigures:
    callbacks_received: dict[str, int]  # by kind (mo, charge_report, delivery_report, ...): ever stored
    outbox_depth: dict[str, int]  # by topic: tasks not yet done (parked ones apart)
    outbox_parked: dict[str, int]  # by topic: tasks parked after failing too often, waiting for an admin
    oldest_pending_task_age_s: float  # how far behind the workers are; 0 when nothing waits
    charges: dict[str, int]  # by status: requested, charged, failed
    network_charges: dict[tuple[str, str], int]  # by (network, status)
    outbox_lag_s: dict[str, float]  # by topic: how long the longest-due task has waited for a worker
    donations_posted: dict[str, tuple[int, int]]  # by channel: (donations, pence paid)
    appeals_live: int
    # Since when a statement from the aggregator is awaited: its last statement's import, or the first charge
    # if none came yet (None: nothing charged, nothing awaited).
    statement_awaited_since: datetime | None
    last_marker_at: datetime | None  # when any appeal last went on air


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
        network_charges = {(network, status): count for network, status, count in connection.execute(
            select(sms_charges.c.network, sms_charges.c.status, func.count())
            .group_by(sms_charges.c.network, sms_charges.c.status))}
        moment = datetime.now(UTC)
        due = connection.execute(
            select(outbox_tasks.c.topic, func.min(outbox_tasks.c.available_at))
            .where(waiting, outbox_tasks.c.available_at <= moment).group_by(outbox_tasks.c.topic)).all()
        posted = {channel: (count, pence or 0) for channel, count, pence in connection.execute(
            select(donations.c.channel, func.count(), func.sum(donations.c.paid_pence))
            .where(donations.c.status.in_(POSTED)).group_by(donations.c.channel))}
        live = connection.scalar(select(func.count()).select_from(appeals).where(appeals.c.status == "live"))
        awaited = _statement_awaited_since(connection)
        last_marker = connection.scalar(select(func.max(broadcast_markers.c.at)))
    charges: dict[str, int] = {}
    for (_, status), count in network_charges.items():
        charges[status] = charges.get(status, 0) + count
    age = (moment - oldest).total_seconds() if oldest is not None else 0.0
    lag = {topic: max((moment - since).total_seconds(), 0.0) for topic, since in due}
    return OperationalFigures(received, depth, parked, max(age, 0.0), charges, network_charges, lag, posted,
                              live or 0, awaited, last_marker)


def _statement_awaited_since(connection: Connection) -> datetime | None:
    last = connection.scalar(select(func.max(settlement_statements.c.imported_at))
                             .where(settlement_statements.c.source == "aggregator"))
    if last is not None:
        return last
    first: datetime | None = connection.scalar(select(func.min(sms_charges.c.reported_at))
                                               .where(sms_charges.c.status == "charged"))
    return first
