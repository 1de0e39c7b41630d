"""Waiting in a test for something another thread or process does: one helper instead of a loop in each test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

Seen = TypeVar("Seen")


def eventually(check: Callable[[], Seen], timeout_s: float = 10, every_s: float = 0.05,
               failure: str | Callable[[], str] = "the awaited state never came") -> Seen:
    """Asks `check` until it answers something true, and returns that answer; fails the test with `failure` (or
    what the function given as `failure` says, read then) once `timeout_s` has passed without one."""
    deadline = time.monotonic() + timeout_s
    while not (seen := check()):
        if time.monotonic() >= deadline:
            raise AssertionError(failure() if callable(failure) else failure)
        time.sleep(every_s)
    return seen
