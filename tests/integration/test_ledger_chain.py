"""The hash-chained ledger on both stores: sealing, verifying, and catching tampering done by raw SQL."""

import itertools
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from everypenny.domain.appeal import Channel
from everypenny.service_layer.proof import seal_appeal, verify_appeal

SLUG = "sun-ukraine-fund"


def verify(platform, **options):
    with platform.uow() as uow:
        return verify_appeal(uow, SLUG, **options)


def tamper(platform, *statements: str) -> None:
    """What an attacker with the database's superuser could do: switch the guards off, then edit."""
    if platform.engine.dialect.name == "postgresql":
        with platform.engine.begin() as connection:
            for table in ("ledger_transfers", "ledger_chain"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
            for statement in statements:
                connection.execute(text(statement))
        return
    connection = platform.engine.raw_connection()  # outside a transaction, where SQLite obeys the pragma
    try:
        connection.execute("PRAGMA foreign_keys=OFF")
        for table, event in itertools.product(("ledger_transfers", "ledger_chain"), ("update", "delete")):
            connection.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_{event}")
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


def test_the_worker_that_serve_runs_seals_new_transfers(platform, record_donation):
    for pence in (300, 500, 1000):
        record_donation(pence)

    platform.worker().run_due_jobs()

    result = verify(platform)
    assert result.intact
    assert result.entries_checked == 3 and result.head.seq == 3


def test_sealing_twice_seals_nothing_more(platform, record_donation):
    record_donation(500)

    assert seal_appeal(platform.uow, SLUG) == 1
    assert seal_appeal(platform.uow, SLUG) == 0


def test_an_amount_changed_behind_the_ledgers_back_is_named(platform, record_donation):
    gifts = [record_donation(pence) for pence in (300, 500, 1000)]
    seal_appeal(platform.uow, SLUG)

    tamper(platform, f"UPDATE ledger_transfers SET amount_pence = 50 WHERE reference = '{gifts[1].reference}'")

    result = verify(platform)
    assert not result.intact
    assert result.first_break.seq == 2
    assert "altered" in result.first_break.reason


def test_a_deleted_transfer_is_named(platform, record_donation):
    gifts = [record_donation(pence) for pence in (300, 500)]
    seal_appeal(platform.uow, SLUG)

    tamper(platform, f"DELETE FROM ledger_transfers WHERE reference = '{gifts[0].reference}'")

    assert "removed" in verify(platform).first_break.reason


def test_a_transfer_never_sealed_is_reported_once_overdue(cli, platform, record_donation):
    from datetime import timedelta

    record_donation(500)

    assert verify(platform).intact  # new: still within the grace period
    overdue = verify(platform, grace=timedelta(0))
    assert not overdue.intact and len(overdue.unsealed_overdue) == 1
    recent = cli("ledger", "verify", "--appeal", SLUG)
    late = cli("ledger", "verify", "--appeal", SLUG, "--grace-minutes", 0)
    assert recent.exit_code == 0 and "1 new transfer awaiting sealing" in recent.output
    assert late.exit_code == 1 and f"1 transfer never sealed (older than 0 minutes): {overdue.unsealed_overdue[0]}" \
        in late.output


def test_chain_entries_cannot_be_changed_or_removed(platform, record_donation):
    record_donation(500)
    seal_appeal(platform.uow, SLUG)

    for statement in ("UPDATE ledger_chain SET hash = 'x'", "DELETE FROM ledger_chain"):
        with pytest.raises(DBAPIError, match="append-only"), platform.engine.begin() as connection:
            connection.execute(text(statement))


def test_concurrent_sealers_never_fork_the_chain(platform, record_donation):
    stop = threading.Event()
    failures: list[BaseException] = []

    def sealer():
        try:
            while not stop.is_set():
                seal_appeal(platform.uow, SLUG, batch_size=3)
        except BaseException as error:  # surfaced below
            failures.append(error)

    sealers = [threading.Thread(target=sealer) for _ in range(3)]
    for thread in sealers:
        thread.start()
    for i in range(30):
        record_donation(300 + i, channel=list(Channel)[i % 3])
    stop.set()
    for thread in sealers:
        thread.join()
    seal_appeal(platform.uow, SLUG)

    assert failures == []
    result = verify(platform)
    assert result.intact and result.entries_checked == 30
    with platform.engine.connect() as connection:
        seqs = connection.execute(text("SELECT seq FROM ledger_chain ORDER BY seq")).scalars().all()
    assert seqs == list(range(1, 31))


def test_verify_on_the_command_line(cli, platform, record_donation):
    gift = record_donation(500)
    assert cli("ledger", "seal", "--appeal", SLUG).exit_code == 0

    intact = cli("ledger", "verify", "--appeal", SLUG)
    assert intact.exit_code == 0, intact.output
    assert "intact: 1 entry checked, head #1" in intact.output

    tamper(platform, f"UPDATE ledger_transfers SET description = 'edited' WHERE reference = '{gift.reference}'")
    broken = cli("ledger", "verify", "--appeal", SLUG)
    assert broken.exit_code == 1
    assert "BROKEN at chain entry 1" in broken.output


def test_verify_names_an_unknown_appeal(cli, seed_appeal):
    result = cli("ledger", "verify", "--appeal", "no-such-appeal")

    assert result.exit_code == 2 and "no-such-appeal" in result.output


def test_a_transfer_committed_late_is_reported_then_sealed_by_a_full_pass(platform, record_donation):
    """As if two transfers' transactions committed after a later one was sealed, and beyond the lookback."""
    from datetime import timedelta

    from everypenny.domain.chain import seal
    from everypenny.service_layer.proof import utc_now

    for pence in (300, 500, 1000):
        record_donation(pence)
    with platform.uow() as uow:
        transfers = uow.chain.unsealed(SLUG, 10)
        uow.chain.append(SLUG, seal(SLUG, None, [transfers[-1]], utc_now()))
        uow.commit()

    assert seal_appeal(platform.uow, SLUG, lookback_ids=0) == 0  # the worker's cheap pass misses them
    missed = verify(platform, grace=timedelta(0))
    assert missed.unsealed_overdue == [transfers[0].id, transfers[1].id]

    assert seal_appeal(platform.uow, SLUG) == 2  # `everypenny ledger seal` looks at everything
    assert verify(platform, grace=timedelta(0)).intact


def test_the_published_daily_heads_are_each_days_last_entry(platform, record_donation):
    from datetime import UTC, datetime

    for day, gifts in ((24, 2), (25, 3)):
        for _ in range(gifts):
            record_donation(500)
        seal_appeal(platform.uow, SLUG, clock=lambda day=day: datetime(2026, 11, day, 23, 59, tzinfo=UTC))

    with platform.uow() as uow:
        heads = uow.chain.daily_heads(SLUG)
    assert [(str(day), entry.seq) for day, entry in heads] == [("2026-11-25", 5), ("2026-11-24", 2)]


def test_a_sealer_holding_the_chain_head_does_not_hold_up_donations(platform, record_donation):
    record_donation(300)
    inserted = threading.Event()
    donor = threading.Thread(target=lambda: (record_donation(500), inserted.set()))

    with platform.uow() as sealer:
        sealer.chain.lock_head(SLUG)
        donor.start()
        if platform.engine.dialect.name == "postgresql":  # SQLite has one writer at a time, by design
            assert inserted.wait(timeout=10), "a donation waited for the sealer's lock"
    donor.join()

    assert seal_appeal(platform.uow, SLUG) == 2


def test_a_rewritten_chain_is_caught_by_a_published_head(cli, platform, record_donation):
    from everypenny.domain.chain import entry_hash

    gifts = [record_donation(pence) for pence in (300, 500, 1000)]
    seal_appeal(platform.uow, SLUG)
    published = verify(platform).head

    # Rewrite the second gift and re-hash every entry from it on, so the chain agrees with itself again.
    tamper(platform, f"UPDATE ledger_transfers SET amount_pence = 50 WHERE reference = '{gifts[1].reference}'")
    with platform.uow() as uow:
        walked = list(uow.chain.walk(SLUG))
    prev, rewrites = walked[0][0].hash, []
    for entry, transfer in walked[1:]:
        digest = entry_hash(entry.seq, prev, transfer)
        rewrites.append(f"UPDATE ledger_chain SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {entry.seq}")
        prev = digest
    tamper(platform, *rewrites)

    assert verify(platform).intact  # consistent with itself...
    caught = cli("ledger", "verify", "--appeal", SLUG, "--published-head", f"{published.seq}:{published.hash}")
    assert caught.exit_code == 1  # ...but not with what was published
    assert "chain entry 3" in caught.output and "differs from the one published for it" in caught.output


def test_a_published_head_beyond_the_chain_or_malformed_is_named(cli, platform, record_donation):
    record_donation(300)
    seal_appeal(platform.uow, SLUG)

    beyond = cli("ledger", "verify", "--appeal", SLUG, "--published-head", f"9:{'a' * 64}")
    malformed = cli("ledger", "verify", "--appeal", SLUG, "--published-head", "9:abc")
    no_appeal = cli("ledger", "verify", "--published-head", f"1:{'a' * 64}")

    assert beyond.exit_code == 1 and "a head was published for entry 9 but the chain ends at 1" in beyond.output
    assert malformed.exit_code == 2 and "is not SEQ:HASH" in malformed.output
    assert no_appeal.exit_code == 2 and "add --appeal SLUG" in no_appeal.output
