"""Logging test users in to the desk through its real login form, and fixtures for desk tests."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from everypenny.adapters.passwords import Argon2Passwords
from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer.auth import add_user
from tests.builders import DonationBuilder

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


def csrf_in(page) -> str:
    """The CSRF token a desk page's forms carry."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def session_csrf(client) -> str:
    return csrf_in(client.get("/admin/"))


@pytest.fixture
def donations(platform, seed_appeal):
    return DonationBuilder(platform)


@pytest.fixture
def as_role(platform, seed_appeal):
    """A desk client logged in as a new user of the given role; closed at the end of the test."""
    clients = []

    def client_for(role: str) -> TestClient:
        client = TestClient(create_app(platform))
        clients.append(client)
        log_in(client, make_user(platform, role))
        return client

    yield client_for
    for client in clients:
        client.close()
