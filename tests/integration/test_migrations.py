"""Upgrading a database that already holds money keeps every total, on both stores."""

import itertools
import os
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from everypenny import bootstrap
from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db.engine import alembic_config, make_engine, upgrade
from everypenny.config import Settings
from everypenny.domain.appeal import Channel
from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.ledger import record_transfer
from tests.conftest import POSTGRES_ADMIN_URL, SEED_APPEAL

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"everypenny_migration_{os.getpid()}_{next(_names)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class OldAppeal:
    """The seed appeal on a database migrated only as far as `revision`, and a way to record text gifts."""

    def __init__(self, url: str, revision: str) -> None:
        upgrade(url, revision)
        self.engine = make_engine(url)
        self.platform = bootstrap.build(Settings(database_url=url), self.engine, check_schema=False)
        self.appeal, definition = load_appeal_file(SEED_APPEAL)
        load_appeal(self.platform.uow(), self.appeal, definition, "test")

    def text_gift(self, key, amount, phase=Phase.SINGLE):
        return record_transfer(self.platform.uow(), TransferRequest(
            key, self.appeal.slug, AccountCode.receivable(Channel.CARRIER_SMS), AccountCode.RESTRICTED_FUND,
            amount, "GBP", TransferKind.DONATION, phase, reference=key))

    def post(self, pending, key, amount):
        record_transfer(self.platform.uow(), TransferRequest.post(pending, key, amount))

    def raised_and_pending(self) -> tuple[int, int]:
        with self.platform.uow() as uow:
            totals = uow.ledger.totals(self.appeal.slug)
        return totals.raised_pence, totals.pending_pence


def test_running_sums_start_from_the_money_already_recorded(empty_database):
    old = OldAppeal(empty_database, "0005_ledger_proof")
    old.text_gift("a", 500)
    old.post(old.text_gift("b", 1000, Phase.PENDING), "b:post", 1000)
    old.text_gift("c", 300, Phase.PENDING)

    upgrade(empty_database)

    assert old.raised_and_pending() == (1500, 300)
    old.text_gift("d", 1000)
    assert old.raised_and_pending() == (2500, 300)
    old.engine.dispose()


def test_sums_stay_exact_across_the_move_to_per_statement_triggers_and_back(empty_database):
    old = OldAppeal(empty_database, "0007_settlement")
    before = old.text_gift("a", 1000, Phase.PENDING)

    upgrade(empty_database)
    old.post(before, "a:post", 1000)
    old.text_gift("b", 300, Phase.PENDING)
    assert old.raised_and_pending() == (1000, 300)

    command.downgrade(alembic_config(empty_database), "0007_settlement")
    old.text_gift("c", 500)
    assert old.raised_and_pending() == (1500, 300)
    old.engine.dispose()


def test_desk_rollups_start_from_the_donations_already_recorded(empty_database):
    from tests.builders import DonationBuilder
    from tests.integration.test_desk_rollups import scanned_groups, scanned_minutes

    old = OldAppeal(empty_database, "0008_sums_by_transaction")
    platform, appeal = old.platform, old.appeal
    given = DonationBuilder(platform)
    given.text(500)
    given.text(1000, outcome="failed", failure_reason="insufficient credit")
    given.text(2000, outcome="part_paid", paid_pence=1000, failure_reason="spend limit reached")
    pending = given.text(300, outcome="pending")
    given.refund(given.online(2500), 500)

    upgrade(empty_database)

    with platform.uow() as uow:
        groups = uow.reporting.donation_groups(appeal.slug)
    assert len(groups) == 5
    assert sorted(groups, key=repr) == scanned_groups(platform, appeal.slug)
    with platform.uow() as uow:  # a donation recorded before the upgrade still moves between groups after it
        uow.donations.save(pending.settled(300))
        uow.commit()
    given.text(500, at=given.clock + timedelta(hours=1))
    with platform.uow() as uow:
        groups = uow.reporting.donation_groups(appeal.slug)
        minutes = uow.reporting.donations_per_bucket(appeal.slug, given.clock.replace(hour=8, minute=0, second=0), 60)
    assert sorted(groups, key=repr) == scanned_groups(platform, appeal.slug)
    assert minutes == scanned_minutes(platform, appeal.slug)
    assert sum(bucket.count for bucket in minutes) == 6
    old.engine.dispose()


def test_the_ledger_rules_hold_on_either_side_of_the_per_statement_checks(empty_database):
    from tests.integration.test_ledger_store import INSERT

    old = OldAppeal(empty_database, "0013_fonix")
    pending = old.text_gift("a", 500, Phase.PENDING)
    forged = {"amount": 600, "currency": "GBP", "phase": "post", "pending": "a",
              "debit": AccountCode.receivable(Channel.CARRIER_SMS), "credit": AccountCode.RESTRICTED_FUND}

    def refused(**fields) -> None:
        with (pytest.raises(DBAPIError, match=r"posting no more than was pending|own appeal and currency"),
              old.engine.begin() as connection):
            connection.execute(text(INSERT), {**forged, **fields})

    for revision in ("head", "0013_fonix", "head"):
        if revision == "head":
            upgrade(empty_database)
        else:
            command.downgrade(alembic_config(empty_database), revision)
        refused(key=f"over-{revision}")
        refused(key=f"euros-{revision}", amount=500, currency="EUR")
    old.post(pending, "a:post", 500)
    assert old.raised_and_pending() == (500, 0)
    old.engine.dispose()
