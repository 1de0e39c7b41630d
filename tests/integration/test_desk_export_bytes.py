"""PostgreSQL writes exports itself (COPY) and SQLite's rows are written by Python: for the same records the two
files are the same, byte for byte, awkward text included."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from everypenny import bootstrap
from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db import online_repositories, repositories, text_giving_repository
from everypenny.adapters.db.engine import make_engine
from everypenny.config import Settings
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import ConsentRecord, Donation, Medium
from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
from everypenny.domain.text_giving import ChargeStatus, SmsCharge
from everypenny.service_layer import desk
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.desk_ports import EXPORT_COLUMNS
from everypenny.service_layer.ledger import apply_transfer
from everypenny.service_layer.online_ports import Checkout, CheckoutStatus
from tests.conftest import SEED_APPEAL, _postgres_database_from

SLUG = "sun-ukraine-fund"
MORNING = datetime(2026, 10, 25, 0, 59, 50, tzinfo=UTC)  # seconds before British Summer Time ends
# Text a spreadsheet would run, text the CSV must quote, and text that needs neither.
AWKWARD = ["=HYPERLINK(\"http://x\")", "@SUM(A1)", "+1+1", "-", "\tindented", "\rcarriage", "say \"hi\", then go",
           "two\nlines", " leading space", "Łódź café", "+447700900123", "-12", ""]


@pytest.fixture
def both_stores(sqlite_template, postgres_template, tmp_path):
    sqlite_path = tmp_path / "everypenny.db"
    shutil.copy(sqlite_template, sqlite_path)
    with _postgres_database_from(postgres_template) as postgres_url:
        platforms = []
        for url in (f"sqlite:///{sqlite_path}", postgres_url):
            platform = bootstrap.build(Settings(database_url=url), make_engine(url))
            appeal, definition = load_appeal_file(SEED_APPEAL)
            load_appeal(platform.uow(), appeal, definition, str(SEED_APPEAL))
            platforms.append(platform)
        yield platforms
        for platform in platforms:
            platform.engine.dispose()


def record_the_same_awkward_appeal(platform, monkeypatch) -> None:
    """Donations, charges, checkouts, transfers and consents whose text and times test every kind of cell."""
    clock = iter(MORNING + timedelta(seconds=n, microseconds=n * 12_345 % 1_000_000) for n in range(1000))
    for module in (repositories, text_giving_repository, online_repositories):
        monkeypatch.setattr(module, "now", lambda: next(clock))
    with platform.uow() as uow:
        for number, text in enumerate(AWKWARD):
            reference = f"EP-{number:010d}"
            texted = number % 2 == 0
            donation = Donation(reference, SLUG, Channel.CARRIER_SMS if texted else Channel.ONLINE, 500 + number,
                                "GBP", next(clock), phone=f"+447700900{number:03d}" if texted else None,
                                email=None if texted else f"{text}@example.org", keyword=text if texted else None,
                                marketing_consent=number % 3 == 0)
            uow.donations.add(donation)
            uow.donations.save(donation.settled(0 if number % 4 else donation.amount_pence, text or None))
            if texted:
                uow.texts.add_charges([SmsCharge(f"{text}-c1", reference, 1, 250, "GBP", text or "EE"),
                                       SmsCharge(f"{text}-c2", reference, 2, 250 + number, "GBP", "O2")])
                uow.texts.save_charges([SmsCharge(f"{text}-c1", reference, 1, 250, "GBP", text or "EE",
                                                  ChargeStatus.FAILED, text or "OTHER")])
            else:
                uow.checkouts.add(Checkout(f"cs_{text}", reference, "https://checkout.example/"))
                uow.checkouts.save(Checkout(f"cs_{text}", reference, "https://checkout.example/",
                                            CheckoutStatus.FAILED, payment_intent=f"pi_{text}"))
            apply_transfer(uow, TransferRequest(
                f"{text}:{number}", SLUG, AccountCode.receivable(donation.channel), AccountCode.RESTRICTED_FUND,
                100 + number, "GBP", TransferKind.DONATION, Phase.SINGLE, reference=reference, description=text))
            uow.consents.record(ConsentRecord(f"{text}{number}@example.org", Medium.EMAIL, True, text or "test",
                                              next(clock), SLUG))
        uow.commit()


def test_both_stores_write_every_export_byte_for_byte_alike(both_stores, monkeypatch):
    for platform in both_stores:
        record_the_same_awkward_appeal(platform, monkeypatch)

    for kind in EXPORT_COLUMNS:
        sqlite_file, postgres_file = ("".join(chunk.text for chunk in desk.export_csv(platform.uow(), kind, SLUG))
                                      for platform in both_stores)
        assert postgres_file == sqlite_file, kind
        assert sqlite_file.count("\r\n") > len(AWKWARD), kind  # a header and rows, some with a quoted line break
    assert "'=HYPERLINK(\"\"http://x\"\")" in sqlite_file and "\"two\nlines" in sqlite_file
