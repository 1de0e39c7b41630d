"""Fixed-window attempt counting, as the store's RateLimitCounter keeps it (online_ports.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def window_start(moment: datetime, window: timedelta) -> datetime:
    """The window `moment` falls in: windows start at whole multiples of their length since 1970, so every
    process agrees on them without talking to each other."""
    window_s = int(window.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // window_s * window_s, UTC)


def seconds_left(moment: datetime, start: datetime, window: timedelta) -> int:
    """Whole seconds until the window that started at `start` ends (at least 1): a Retry-After."""
    return int((start + window - moment).total_seconds()) + 1
