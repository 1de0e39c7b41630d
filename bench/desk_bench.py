"""Appeal-desk benchmark: seeds N donations with their charges, card checkouts, ledger transfers and consent
records into PostgreSQL with COPY, then times the dashboard page (target < 300 ms) and the CSV exports (target
≥ 50,000 rows/s).

    PYTHONPATH=src python bench/desk_bench.py                   # 1,000,000 donations (several minutes)
    PYTHONPATH=src python bench/desk_bench.py --donations 20000 # a quick check

It creates (and afterwards drops, unless --keep) its own database on the server named by
EVERYPENNY_TEST_POSTGRES_URL, so it never touches a real appeal.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from everypenny import bootstrap  # noqa: E402
from everypenny.adapters.appeal_file import load_appeal_file  # noqa: E402
from everypenny.adapters.db.engine import make_engine, upgrade  # noqa: E402
from everypenny.config import Settings  # noqa: E402
from everypenny.service_layer import desk  # noqa: E402
from everypenny.service_layer.appeals import load_appeal  # noqa: E402
from everypenny.service_layer.auth import add_user  # noqa: E402
from everypenny.service_layer.desk_ports import EXPORT_COLUMNS  # noqa: E402

ADMIN_URL = os.environ.get("EVERYPENNY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/postgres")
SLUG = "sun-ukraine-fund"
DASHBOARD_TARGET_MS = 300
EXPORT_TARGET_ROWS_PER_SECOND = 50_000
FAILURE_REASONS = ["insufficient credit", "premium barred", "spend limit reached", "network does not bill donations"]
START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
APPEAL_SECONDS = 48 * 3600


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def recreate(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def spiky_moment(rng: random.Random) -> datetime:
    """Most gifts arrive in the hours after the paper comes out and after a TV mention: a realistic spike."""
    if rng.random() < 0.6:
        offset = rng.expovariate(1 / 3600)
    elif rng.random() < 0.5:
        offset = 20 * 3600 + rng.expovariate(1 / 1200)
    else:
        offset = rng.uniform(0, APPEAL_SECONDS)
    return START + timedelta(seconds=min(offset, APPEAL_SECONDS - 1))


def seed(url: str, count: int) -> None:
    rng = random.Random(20261126)
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        appeal_id = connection.execute("SELECT id FROM appeals WHERE slug = %s", (SLUG,)).fetchone()[0]
        accounts = dict(connection.execute("SELECT code, id FROM ledger_accounts WHERE appeal_id = %s", (appeal_id,)))
        fund = accounts["fund:restricted"]
        donations, pendings, resolutions, singles, consents, phone_bill_charges, checkouts = [], [], [], [], [], [], []
        transfer_id = 0
        for number in range(1, count + 1):
            reference = f"EP-B{number:09d}"
            created = spiky_moment(rng)
            roll = rng.random()
            channel = "carrier_sms" if roll < 0.6 else "text_to_link" if roll < 0.7 else "online"
            if channel == "online":
                amount = rng.choice([300, 500, 1000, 2500, 5000, 10000])
                keyword, phone, email = None, None, f"donor{number}@example.org"
            else:
                amount = rng.choice([300, 500, 1000])
                keyword, phone, email = "SUN", f"+447700{number % 1_000_000:06d}", None
            outcome = rng.random()
            status = "paid" if outcome < 0.86 else "failed" if outcome < 0.95 else "pending"
            paid = amount if status == "paid" else 0
            reason = rng.choice(FAILURE_REASONS) if status == "failed" else None
            consent = rng.random() < 0.3
            donations.append((number, reference, appeal_id, channel, status, amount, paid, 0, "GBP", phone, email,
                              keyword, consent, reason, "{}", created, created))
            reported = None if status == "pending" else created + timedelta(seconds=30)
            if channel == "carrier_sms":
                charge_status = {"paid": "charged", "failed": "failed", "pending": "requested"}[status]
                phone_bill_charges.append((f"bench-{number}-c1", number, 1, amount, "GBP", "EE", charge_status,
                                           reason, created, reported))
            else:
                checkout_status = {"paid": "paid", "failed": "failed", "pending": "open"}[status]
                checkouts.append((f"cs_bench_{number}", number, f"https://checkout.example/cs_bench_{number}",
                                  checkout_status, None if status == "pending" else f"pi_bench_{number}", created,
                                  reported or created))
            if consent:
                contact, medium = (email, "email") if email else (phone, "sms")
                consents.append((contact, medium, appeal_id, True, f"bench:{channel}", created))
                if rng.random() < 0.1:  # some donors later opt out: STOP by text, unsubscribe by email
                    source = "sms:STOP" if medium == "sms" else "email:unsubscribe"
                    consents.append((contact, medium, None, False, source, created + timedelta(hours=1)))
            receivable = accounts[f"receivable:{channel}"]
            if channel == "carrier_sms":
                transfer_id += 1
                pending_id = transfer_id
                pendings.append((pending_id, f"{reference}:pending", f"{pending_id:064x}", appeal_id, receivable,
                                 fund, amount, "GBP", "donation", "pending", None, reference, "", created))
                if status != "pending":
                    transfer_id += 1
                    resolutions.append((transfer_id, f"{reference}:{'post' if paid else 'void'}",
                                        f"{transfer_id:064x}", appeal_id, receivable, fund, amount, "GBP",
                                        "donation", "post" if paid else "void", pending_id, reference, "",
                                        created + timedelta(seconds=30)))
            elif paid:
                transfer_id += 1
                singles.append((transfer_id, f"{reference}:paid", f"{transfer_id:064x}", appeal_id, receivable, fund,
                                amount, "GBP", "donation", "single", None, reference, "", created))
        with connection.cursor() as cursor:
            with cursor.copy("COPY donations (id, reference, appeal_id, channel, status, amount_pence, paid_pence, "
                             "refunded_pence, currency, phone, email, keyword, marketing_consent, failure_reason, "
                             "metadata, created_at, updated_at) FROM STDIN") as copy:
                for row in donations:
                    copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('donations', 'id'), %s)", (count,))
            with cursor.copy("COPY sms_charges (request_id, donation_id, sequence, amount_pence, currency, network, "
                             "status, failure_reason, created_at, reported_at) FROM STDIN") as copy:
                for row in phone_bill_charges:
                    copy.write_row(row)
            with cursor.copy("COPY online_checkouts (session_id, donation_id, url, status, payment_intent, "
                             "created_at, updated_at) FROM STDIN") as copy:
                for row in checkouts:
                    copy.write_row(row)
            columns = ("id, idempotency_key, fingerprint, appeal_id, debit_account_id, credit_account_id, "
                       "amount_pence, currency, kind, phase, pending_id, reference, description, created_at")
            for rows in (pendings + singles, resolutions):  # pending transfers first: a post must find its own
                with cursor.copy(f"COPY ledger_transfers ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            with cursor.copy("COPY consents (contact, medium, appeal_id, granted, source, recorded_at) "
                             "FROM STDIN") as copy:
                for row in sorted(consents, key=lambda consent: consent[-1]):  # ids follow time, as in life
                    copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('ledger_transfers', 'id'), %s)", (transfer_id,))
        connection.commit()
        connection.autocommit = True
        for table in ("donations", "sms_charges", "online_checkouts", "ledger_transfers", "consents",
                      "donation_group_sums", "donation_minute_counts"):
            connection.execute(f"VACUUM ANALYZE {table}")
    print(f"seeded {count:,} donations, {len(phone_bill_charges):,} charges to phone bills, {len(checkouts):,} card "
          f"checkouts, {transfer_id:,} ledger transfers and {len(consents):,} consent records")


def time_dashboard(platform, runs: int = 7) -> list[float]:
    from fastapi.testclient import TestClient

    from everypenny.entrypoints.web.app import create_app

    add_user(platform.uow(), platform.passwords, "bench@example.org", "admin", "benchmark passphrase",
             datetime.now(UTC))
    with TestClient(create_app(platform)) as client:
        login = client.get("/admin/login")
        token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/admin/login", data={"email": "bench@example.org", "password": "benchmark passphrase",
                                          "csrf_token": token})
        timings = {}
        for name, path in (("dashboard page", f"/admin/appeals/{SLUG}"),
                           ("live refresh (HTMX poll)", f"/admin/appeals/{SLUG}/live"),
                           ("activity chart (SVG)", f"/admin/appeals/{SLUG}/activity.svg"),
                           ("public totals API", f"/api/v1/appeals/{SLUG}/totals"),
                           ("embeddable widget", f"/widget/{SLUG}")):
            client.get(path)  # warm caches and the connection pool
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text[:300]
            timings[name] = samples
    return timings


def time_export(platform, kind: str) -> tuple[int, float]:
    started = time.perf_counter()
    rows = sum(chunk.rows for chunk in desk.export_csv(platform.uow(), kind, SLUG))
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donations", type=int, default=1_000_000)
    parser.add_argument("--database", default="everypenny_desk_bench")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()

    url = database_url(options.database)
    recreate(options.database)
    try:
        upgrade(url)
        engine = make_engine(url)
        platform = bootstrap.build(Settings(database_url=url), engine)
        appeal, definition = load_appeal_file(ROOT / "appeals" / f"{SLUG}.toml")
        load_appeal(platform.uow(), appeal, definition, "bench")
        started = time.perf_counter()
        seed(url, options.donations)
        print(f"seeding took {time.perf_counter() - started:.1f} s")

        for name, samples in time_dashboard(platform).items():
            median = statistics.median(samples)
            verdict = "ok" if median < DASHBOARD_TARGET_MS else f"OVER the {DASHBOARD_TARGET_MS} ms target"
            print(f"{name}: median {median:.0f} ms, worst {max(samples):.0f} ms ({verdict})")
        for kind in EXPORT_COLUMNS:
            rows, seconds = time_export(platform, kind)
            rate = rows / seconds if seconds else float("inf")
            verdict = "ok" if rate >= EXPORT_TARGET_ROWS_PER_SECOND or rows < 1000 else (
                f"UNDER the {EXPORT_TARGET_ROWS_PER_SECOND:,} rows/s target")
            print(f"export {kind}: {rows:,} rows in {seconds:.2f} s = {rate:,.0f} rows/s ({verdict})")
        engine.dispose()
    finally:
        if not options.keep:
            drop(options.database)


if __name__ == "__main__":
    main()
