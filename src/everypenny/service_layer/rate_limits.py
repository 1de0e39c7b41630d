"""Fixed-window attempt limits counted in the database (uow.rate_limits, the store's RateLimitCounter), so every
app process sees one count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everypenny.service_layer.unit_of_work import UnitOfWork


def window_start(moment: datetime, window: timedelta) -> datetime:
    """The window `moment` falls in: windows start at whole multiples of their length since 1970, so every
    process agrees on them without talking to each other."""
    window_s = int(window.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // window_s * window_s, UTC)


def seconds_left(moment: datetime, start: datetime, window: timedelta) -> int:
    """Whole seconds until the window that started at `start` ends (at least 1): a Retry-After."""
    return int((start + window - moment).total_seconds()) + 1


def count_attempt(uow: UnitOfWork, scope: str, subject: str, allowed: int, window: timedelta,
                  moment: datetime) -> int | None:
    """Counts one attempt (committed, so a flood keeps counting); the seconds to wait when over the limit."""
    start = window_start(moment, window)
    with uow:
        uow.rate_limits.prune((scope,), before=start)
        attempts = uow.rate_limits.hit(scope, subject, start)
        uow.commit()
    return seconds_left(moment, start, window) if attempts > allowed else None
