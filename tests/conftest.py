"""Shared fixtures: every store-backed test runs once on SQLite and once on the real PostgreSQL.

PostgreSQL tests never skip: an unreachable server fails them loudly. Each test gets a fresh database
cloned from a template migrated once per test process, so tests are isolated and the ledger's
no-delete rules never need bypassing.
"""

from __future__ import annotations

import itertools
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from everypenny import bootstrap
from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db.engine import make_engine, upgrade
from everypenny.config import Settings
from everypenny.service_layer.appeals import load_appeal

ROOT = Path(__file__).resolve().parent.parent
SEED_APPEAL = ROOT / "appeals" / "sun-ukraine-fund.toml"
POSTGRES_ADMIN_URL = os.environ.get(
    "EVERYPENNY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/postgres")

_counter = itertools.count()


def _worker() -> str:
    """Unique per test process, so concurrent runs on one server never drop each other's databases."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"everypenny_test_template_{_worker()}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error}); "
                    "start it (see .ci/run) or set EVERYPENNY_TEST_POSTGRES_URL", pytrace=False)
    upgrade(_database_url(name))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _database_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "everypenny.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    with _postgres_database_from(request.getfixturevalue("postgres_template")) as url:
        yield url


@contextmanager
def _postgres_database_from(template: str):
    """A fresh database cloned from the migrated template, dropped afterwards."""
    name = f"everypenny_test_{_worker()}_{next(_counter)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _database_url(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, public_url="http://testserver")


@pytest.fixture
def platform(settings):
    engine = make_engine(settings.database_url)
    yield bootstrap.build(settings, engine)
    engine.dispose()


@pytest.fixture
def seed_appeal(platform):
    appeal, definition = load_appeal_file(SEED_APPEAL)
    load_appeal(platform.uow(), appeal, definition, str(SEED_APPEAL))
    return appeal


@pytest.fixture
def client(platform):
    from fastapi.testclient import TestClient

    from everypenny.entrypoints.web.app import create_app

    with TestClient(create_app(platform)) as test_client:
        yield test_client


# --- Online donations: a card processor double, a real SMTP server, Stripe events ----------------------------


class FakePaymentGateway:
    """Records the checkouts asked for; `fail` makes the processor unreachable."""

    def __init__(self) -> None:
        self.requests = []
        self.refunds = []
        self.fail = False

    def create_checkout(self, request):
        from everypenny.service_layer.online_ports import HostedCheckout

        if self.fail:
            raise ConnectionError("card processor unreachable")
        self.requests.append(request)
        session_id = f"cs_test_{request.reference}"
        return HostedCheckout(session_id=session_id, url=f"https://checkout.example/{session_id}")

    def refund(self, payment_intent, amount_pence, idempotency_key):
        self.refunds.append((payment_intent, amount_pence, idempotency_key))
        return f"re_fake_{len(self.refunds)}"


@pytest.fixture
def fake_gateway(platform) -> FakePaymentGateway:
    platform.payments = FakePaymentGateway()
    return platform.payments


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port, keeping what it receives; with `login_required`, it
    offers AUTH and takes any user and password, kept in `logins`."""

    def __init__(self, login_required: bool = False) -> None:
        self.messages = []
        self.login_required = login_required
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpSink:
        import asyncio
        import threading

        from aiosmtpd.smtp import SMTP

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(lambda: SMTP(self, **self.login_options()), "127.0.0.1", 0), self.loop).result(10)
        self.url = f"smtp://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    def login_options(self) -> dict:
        if not self.login_required:
            return {}
        return {"authenticator": self.authenticate, "auth_require_tls": False}

    def __exit__(self, *exc_info) -> None:
        import asyncio

        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def smtp_sink(platform):
    """Receipts from `platform` go to this server."""
    with SmtpSink() as sink:
        platform.settings.smtp_url = sink.url
        yield sink


@pytest.fixture
def stripe_event():
    """Builds a Stripe event as Stripe sends it: {"id", "type", "data": {"object": ...}}."""
    import secrets
    import time

    from everypenny.config import STRIPE_API_VERSION

    def make(type_: str, obj: dict, event_id: str | None = None, created: int | None = None) -> dict:
        return {"id": event_id or f"evt_{secrets.token_hex(8)}", "object": "event", "type": type_,
                "api_version": STRIPE_API_VERSION, "created": int(time.time()) if created is None else created,
                "livemode": False, "data": {"object": obj}}

    return make
@pytest.fixture
def record_donation(platform, seed_appeal):
    """Records a paid donation to the seed appeal (its row and posted ledger transfer) as a channel would."""
    from datetime import UTC, datetime

    from everypenny.domain.appeal import Channel
    from everypenny.domain.donation import Donation, new_reference
    from everypenny.domain.ledger import AccountCode, TransferKind, TransferRequest
    from everypenny.service_layer.ledger import apply_transfer

    def record(pence: int, channel: Channel = Channel.ONLINE, phone: str | None = None,
               email: str | None = None, created_at: datetime | None = None) -> Donation:
        donation = Donation(new_reference(), seed_appeal.slug, channel, pence, "GBP",
                            created_at or datetime.now(UTC), phone=phone, email=email).settled(pence)
        with platform.uow() as uow:
            uow.donations.add(donation)
            apply_transfer(uow, TransferRequest(
                f"donation:{donation.reference}", seed_appeal.slug, AccountCode.receivable(channel),
                AccountCode.RESTRICTED_FUND, pence, "GBP", TransferKind.DONATION, reference=donation.reference))
            uow.commit()
        return donation

    return record


@pytest.fixture
def record_refund(platform, seed_appeal):
    """Gives back part or all of a donation: a REFUND transfer the other way, and the donation's row."""
    from dataclasses import replace

    from everypenny.domain.ledger import TransferKind
    from everypenny.service_layer.ledger import apply_transfer

    def refund(reference: str, pence: int) -> None:
        with platform.uow() as uow:
            donation = uow.donations.get(reference)
            gift = uow.ledger.get(f"donation:{reference}")
            uow.donations.save(donation.refunded(pence))
            request = gift.reversal(f"refund:{reference}:{donation.refunded_pence}", TransferKind.REFUND)
            apply_transfer(uow, replace(request, amount_pence=pence))
            uow.commit()

    return refund


@pytest.fixture
def cli(platform, monkeypatch):
    """Runs `everypenny ARGS…` in-process against the test's platform; returns typer's Result."""
    from typer.testing import CliRunner

    from everypenny.entrypoints.cli import app

    monkeypatch.setattr("everypenny.bootstrap.build", lambda *args, **kwargs: platform)
    return lambda *args: CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def load_seed_variant(platform):
    """Loads the seed appeal's file with some settings changed (a table's keys are merged); returns the appeal."""
    from everypenny.adapters.appeal_file import parse_definition

    def load(**changes):
        _, definition = load_appeal_file(SEED_APPEAL)
        for key, value in changes.items():
            definition[key] = definition.get(key, {}) | value if isinstance(value, dict) else value
        appeal, normalised = parse_definition(definition, "test variant")
        load_appeal(platform.uow(), appeal, normalised, "test variant")
        return appeal

    return load


@pytest.fixture
def postgres_database_url(postgres_template):
    """A fresh PostgreSQL database only: for tests of several processes sharing one server (SKIP LOCKED)."""
    with _postgres_database_from(postgres_template) as url:
        yield url


# Hypothesis on a loaded 2-core CI machine: no per-example deadline, and no health check about generation speed.
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

hypothesis_settings.register_profile("everypenny", deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.filter_too_much])
hypothesis_settings.load_profile("everypenny")
