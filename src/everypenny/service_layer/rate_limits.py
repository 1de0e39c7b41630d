"""Fixed-window attempt limits counted in the database (uow.rate_limits), so every app process sees one count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everypenny.service_layer.unit_of_work import UnitOfWork


def fixed_window(moment: datetime, window: timedelta) -> tuple[datetime, int]:
    """The start of the window holding `moment`, and the seconds until the next one opens."""
    window_s = int(window.total_seconds())
    start = datetime.fromtimestamp(int(moment.timestamp()) // window_s * window_s, UTC)
    return start, int((start + window - moment).total_seconds()) + 1


def count_attempt(uow: UnitOfWork, scope: str, subject: str, allowed: int, window: timedelta,
                  moment: datetime) -> int | None:
    """Counts one attempt (committed, so a flood keeps counting); the seconds to wait when over the limit."""
    start, retry_after_s = fixed_window(moment, window)
    with uow:
        uow.rate_limits.prune(before=start)
        attempts = uow.rate_limits.hit(scope, subject, start)
        uow.commit()
    return retry_after_s if attempts > allowed else None
