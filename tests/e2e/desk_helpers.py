"""Logging test users in to the desk through its real login form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

from everypenny.adapters.passwords import Argon2Passwords
from everypenny.service_layer.auth import add_user

PASSWORD = "a long enough passphrase"


@pytest.fixture
def quick_passwords(platform):
    """Argon2id as in production but with tiny costs, so tests do not spend seconds stretching keys."""
    platform.passwords = Argon2Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def make_user(platform, role: str, email: str | None = None) -> str:
    email = email or f"{role}@desk.example.org"
    add_user(platform.uow(), platform.passwords, email, role, PASSWORD, datetime.now(UTC))
    return email


def login_csrf(client) -> str:
    page = client.get("/admin/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def log_in(client, email: str, password: str = PASSWORD):
    return client.post("/admin/login", data={"email": email, "password": password,
                                             "csrf_token": login_csrf(client)}, follow_redirects=False)


def session_csrf(client) -> str:
    page = client.get("/admin/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
