"""Argon2id password hashing (argon2-cffi's defaults follow RFC 9106's recommended low-memory profile)."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    """Each hash takes 64 MiB for its duration: at most `max_concurrent` run at once in a process, so a burst
    of logins waits its turn instead of taking the server's memory (30 at once took 1.9 GB)."""

    def __init__(self, hasher: PasswordHasher | None = None, max_concurrent: int = 2) -> None:
        self._hasher = hasher or PasswordHasher()
        self._turns = threading.BoundedSemaphore(max_concurrent)

    def hash(self, password: str) -> str:
        with self._turns:
            return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._turns:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
