"""Desk logins under attack: concurrent guesses, per-client limits, and a lockout outsiders cannot turn on the admin."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from everypenny.adapters.passwords import Argon2Passwords
from everypenny.domain.users import FAILED_LOGINS_BEFORE_LOCKOUT
from everypenny.service_layer import auth

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PASSWORD = "a long passphrase"
GENEROUS = auth.LoginLimits(per_client=1000, window=timedelta(minutes=10))


class CountingPasswords(Argon2Passwords):
    """Argon2id at tiny costs that counts the password checks it makes."""

    def __init__(self) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1), max_concurrent=30)
        self.checks = 0
        self._lock = threading.Lock()

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
        return super().verify(password_hash, password)


@pytest.fixture
def passwords(platform) -> CountingPasswords:
    platform.passwords = CountingPasswords()
    auth.add_user(platform.uow(), platform.passwords, "admin@desk.example.org", "admin", PASSWORD, NOW)
    platform.passwords.checks = 0
    return platform.passwords


def attempt(platform, email: str, password: str, client: str, limits: auth.LoginLimits = GENEROUS,
            at: datetime = NOW):
    """The login's outcome: a session, None for a wrong password, or the refusal raised."""
    try:
        return auth.log_in(platform.uow(), platform.passwords, email, password, at, HOUR, client=client,
                           limits=limits)
    except (auth.LoginLocked, auth.TooManyLogins) as refused:
        return refused


def test_thirty_concurrent_wrong_passwords_get_only_five_checks(platform, passwords):
    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(lambda _: attempt(platform, "admin@desk.example.org", "a wrong guess!",
                                                   "198.51.100.66"), range(30)))

    assert passwords.checks == FAILED_LOGINS_BEFORE_LOCKOUT
    assert outcomes.count(None) == FAILED_LOGINS_BEFORE_LOCKOUT
    assert all(isinstance(outcome, auth.LoginLocked) for outcome in outcomes if outcome is not None)


def test_an_outsider_guessing_cannot_lock_the_admin_out_of_their_own_desk(platform, passwords):
    for _ in range(FAILED_LOGINS_BEFORE_LOCKOUT + 3):
        attempt(platform, "admin@desk.example.org", "a wrong guess!", "198.51.100.66")

    assert isinstance(attempt(platform, "admin@desk.example.org", PASSWORD, "198.51.100.66"), auth.LoginLocked)
    assert isinstance(attempt(platform, "admin@desk.example.org", PASSWORD, "192.0.2.10"), auth.LoggedIn)


def test_an_email_nobody_has_is_locked_exactly_like_a_real_one(platform, passwords):
    def answers(email: str) -> list[str]:
        return [type(attempt(platform, email, "a wrong guess!", f"client-for-{email}")).__name__
                for _ in range(FAILED_LOGINS_BEFORE_LOCKOUT + 1)]

    assert answers("nobody@desk.example.org") == answers("admin@desk.example.org")
    assert answers("admin@desk.example.org")[-1] == "LoginLocked"


def test_one_client_trying_many_emails_is_held_to_its_allowance(platform, passwords):
    limits = auth.LoginLimits(per_client=3, window=timedelta(minutes=10))

    outcomes = [attempt(platform, f"guess{n}@desk.example.org", "a wrong guess!", "198.51.100.66", limits)
                for n in range(4)]

    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], auth.TooManyLogins) and 0 < outcomes[3].retry_after_s <= 601
    assert passwords.checks == 3
    assert isinstance(attempt(platform, "admin@desk.example.org", PASSWORD, "192.0.2.10", limits), auth.LoggedIn)


def test_a_lockout_ends_with_its_window(platform, passwords):
    for _ in range(FAILED_LOGINS_BEFORE_LOCKOUT):
        attempt(platform, "admin@desk.example.org", "a wrong guess!", "198.51.100.66")

    locked = attempt(platform, "admin@desk.example.org", PASSWORD, "198.51.100.66")
    assert isinstance(locked, auth.LoginLocked) and locked.until == NOW + timedelta(minutes=15)
    later = attempt(platform, "admin@desk.example.org", PASSWORD, "198.51.100.66", at=locked.until)
    assert isinstance(later, auth.LoggedIn)


def test_no_more_password_hashes_run_at_once_than_allowed():
    running = peak = 0
    lock = threading.Lock()

    class SlowHasher:
        def verify(self, password_hash: str, password: str) -> bool:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return False

    passwords = Argon2Passwords(SlowHasher(), max_concurrent=2)
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: passwords.verify("hash", "guess"), range(10)))

    assert peak == 2
