"""The ledger's rules hold in the database itself, so no code path, not even raw SQL, can break them."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation, DonationStatus, new_reference
from everypenny.domain.ledger import (
    AccountCode,
    IdempotencyConflict,
    PendingAlreadyResolved,
    Phase,
    TransferKind,
    TransferRequest,
)
from everypenny.service_layer.ledger import apply_transfer, apply_transfers, record_transfer

SMS = AccountCode.receivable(Channel.CARRIER_SMS)
SLUG = "sun-ukraine-fund"


def donation(key: str, amount: int = 500, phase: Phase = Phase.SINGLE, reference: str = "EP-1") -> TransferRequest:
    return TransferRequest(key, SLUG, SMS, AccountCode.RESTRICTED_FUND, amount, "GBP", TransferKind.DONATION,
                           phase, reference=reference)


@pytest.fixture
def posted(platform, seed_appeal):
    return record_transfer(platform.uow(), donation("text-1"))


def raw(platform, sql: str, **params):
    with platform.engine.begin() as connection:
        return connection.execute(text(sql), params)


def totals(platform):
    with platform.uow() as uow:
        return uow.ledger.totals(SLUG)


def test_a_replay_returns_the_original_and_changes_nothing(platform, posted):
    again = record_transfer(platform.uow(), donation("text-1"))

    assert again == posted
    assert totals(platform).raised_pence == 500


def test_the_same_key_for_another_transfer_is_refused(platform, posted):
    with pytest.raises(IdempotencyConflict, match="text-1"):
        record_transfer(platform.uow(), donation("text-1", amount=1000))
    assert totals(platform).raised_pence == 500


def test_pending_money_is_not_raised_until_posted(platform, seed_appeal):
    pending = record_transfer(platform.uow(), donation("charge-1", 2000, Phase.PENDING))
    assert (totals(platform).raised_pence, totals(platform).pending_pence) == (0, 2000)
    assert totals(platform).pending_by_channel == {"carrier_sms": 2000, "text_to_link": 0, "online": 0}

    record_transfer(platform.uow(), TransferRequest.post(pending, "charge-1:post", 1000))

    figures = totals(platform)
    assert (figures.raised_pence, figures.pending_pence) == (1000, 0)
    assert figures.by_channel == {"carrier_sms": 1000, "text_to_link": 0, "online": 0}


def test_a_voided_transfer_raises_nothing_and_cannot_then_be_posted(platform, seed_appeal):
    pending = record_transfer(platform.uow(), donation("charge-2", 500, Phase.PENDING))
    record_transfer(platform.uow(), TransferRequest.void(pending, "charge-2:void"))

    with pytest.raises(PendingAlreadyResolved):
        record_transfer(platform.uow(), TransferRequest.post(pending, "charge-2:post"))
    assert (totals(platform).raised_pence, totals(platform).pending_pence) == (0, 0)


def test_transfers_recorded_together_follow_the_same_rules_as_one_at_a_time(platform, seed_appeal):
    pending = record_transfer(platform.uow(), donation("charge-3", 500, Phase.PENDING))

    # A post and a void of one pending transfer, side by side in one batch:
    with platform.uow() as uow, pytest.raises(PendingAlreadyResolved):
        apply_transfers(uow, [TransferRequest.post(pending, "charge-3:post"),
                              TransferRequest.void(pending, "charge-3:void")])
    with platform.uow() as uow:  # a replay and a new gift together: the replay changes nothing
        recorded = apply_transfers(uow, [donation("charge-3", 500, Phase.PENDING), donation("text-9", 300),
                                         donation("text-9", 300)])
        uow.commit()

    assert recorded[0] == pending and recorded[1] == recorded[2]
    assert (totals(platform).raised_pence, totals(platform).pending_pence) == (300, 500)


def test_a_refund_is_a_new_transfer_that_lowers_the_total(platform, posted):
    record_transfer(platform.uow(), posted.reversal("text-1:refund", TransferKind.REFUND))

    figures = totals(platform)
    assert figures.raised_pence == 0
    with platform.uow() as uow:
        assert uow.ledger.balances(SLUG)[SMS] == (0, 0)


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_transfers SET amount_pence = 1 WHERE idempotency_key = 'text-1'",
    "DELETE FROM ledger_transfers WHERE idempotency_key = 'text-1'",
    "UPDATE ledger_accounts SET currency = 'EUR'",
    "DELETE FROM ledger_accounts",
])
def test_raw_sql_cannot_change_or_remove_posted_money(platform, posted, statement):
    with pytest.raises(DBAPIError, match=r"immutable|cannot be changed"):
        raw(platform, statement)
    assert totals(platform).raised_pence == 500


def test_raw_sql_cannot_wipe_the_ledger(platform, posted):
    wipe = {"postgresql": "TRUNCATE ledger_transfers CASCADE", "sqlite": "DELETE FROM ledger_transfers"}
    with pytest.raises(DBAPIError, match="immutable"):
        raw(platform, wipe[platform.engine.dialect.name])
    assert totals(platform).raised_pence == 500


INSERT = """
INSERT INTO ledger_transfers (idempotency_key, fingerprint, appeal_id, debit_account_id, credit_account_id,
    amount_pence, currency, kind, phase, pending_id, description, created_at)
SELECT :key, 'x', a.id, d.id, c.id, :amount, :currency, 'donation', :phase,
    (SELECT id FROM ledger_transfers WHERE idempotency_key = :pending), '', CURRENT_TIMESTAMP
FROM appeals a JOIN ledger_accounts d ON d.appeal_id = a.id AND d.code = :debit
JOIN ledger_accounts c ON c.appeal_id = a.id AND c.code = :credit
"""


@pytest.mark.parametrize(("fields", "refusal"), [
    ({"amount": 0}, "amount_positive"),
    ({"amount": -500}, "amount_positive"),
    ({"credit": SMS}, "two_accounts|two accounts"),
    ({"currency": "EUR"}, "own appeal and currency"),
    ({"phase": "post"}, "resolution_names_pending|resolve a pending transfer"),
    ({"phase": "post", "pending": "charge-9", "amount": 600}, "posting no more than was pending"),
    ({"phase": "void", "pending": "charge-9", "amount": 200}, "voiding all of it"),
    ({"phase": "post", "pending": "charge-9", "debit": "bank"}, "same accounts"),
    ({"phase": "post", "pending": "text-1", "amount": 100}, "resolve a pending transfer"),
])
def test_raw_sql_cannot_insert_an_unbalanced_or_mismatched_transfer(platform, posted, fields, refusal):
    record_transfer(platform.uow(), donation("charge-9", 500, Phase.PENDING))
    values = {"key": "forged", "amount": 500, "currency": "GBP", "phase": "single", "pending": None,
              "debit": SMS, "credit": AccountCode.RESTRICTED_FUND, **fields}

    with pytest.raises(DBAPIError, match=refusal):
        raw(platform, INSERT, **values)
    assert (totals(platform).raised_pence, totals(platform).pending_pence) == (500, 500)


def test_a_pending_transfer_cannot_be_resolved_twice_even_by_raw_sql(platform, seed_appeal):
    record_transfer(platform.uow(), donation("charge-7", 500, Phase.PENDING))
    values = {"amount": 500, "currency": "GBP", "phase": "post", "pending": "charge-7", "debit": SMS,
              "credit": AccountCode.RESTRICTED_FUND}
    raw(platform, INSERT, key="first", **values)

    with pytest.raises(DBAPIError, match=r"pending_id|UNIQUE|unique"):
        raw(platform, INSERT, key="second", **values)
    assert totals(platform).raised_pence == 500


def test_the_donation_count_counts_each_paid_donation_once(platform, seed_appeal):
    def save(donation, new=False):
        with platform.uow() as uow:
            (uow.donations.add if new else uow.donations.save)(donation)
            uow.commit()
        return totals(platform).donation_count

    split = Donation(new_reference(), SLUG, Channel.CARRIER_SMS, 2000, "GBP", datetime.now(UTC))
    assert save(split, new=True) == 0
    assert save(replace(split, paid_pence=1000, status=DonationStatus.PART_PAID)) == 1  # first of two £10 charges
    assert save(split.settled(2000)) == 1
    online = Donation(new_reference(), SLUG, Channel.ONLINE, 500, "GBP", datetime.now(UTC)).settled(500)
    assert save(online, new=True) == 2
    failed = Donation(new_reference(), SLUG, Channel.CARRIER_SMS, 500, "GBP", datetime.now(UTC)).settled(0)
    assert save(failed, new=True) == 2


def test_running_sums_agree_with_the_transfers_they_summarise(platform, posted):
    pending = record_transfer(platform.uow(), donation("charge-3", 1500, Phase.PENDING))
    record_transfer(platform.uow(), TransferRequest.post(pending, "charge-3:post", 1000))
    record_transfer(platform.uow(), donation("charge-4", 700, Phase.PENDING))
    scanned = raw(platform, """
        SELECT a.code,
               sum(CASE WHEN t.phase IN ('single', 'post') THEN
                   CASE WHEN t.debit_account_id = a.id THEN t.amount_pence ELSE -t.amount_pence END ELSE 0 END),
               sum(CASE WHEN t.phase = 'pending' AND NOT EXISTS (
                       SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id) THEN
                   CASE WHEN t.debit_account_id = a.id THEN t.amount_pence ELSE -t.amount_pence END ELSE 0 END)
        FROM ledger_accounts a JOIN ledger_transfers t ON a.id IN (t.debit_account_id, t.credit_account_id)
        GROUP BY a.code""").all()

    with platform.uow() as uow:
        balances = uow.ledger.balances(SLUG)
    assert {code: (posted_, pending_) for code, posted_, pending_ in scanned} == {
        code: sums for code, sums in balances.items() if sums != (0, 0)}
    assert balances[SMS] == (500 + 1000, 700)


def test_a_batch_of_transfers_adds_to_one_running_sum_row_per_account_so_batches_do_not_deadlock(
        platform, seed_appeal, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its sums need no sharding by transaction")
    with platform.uow() as uow:  # a worker's batch: many texts' transfers in one transaction
        for n in range(40):
            apply_transfer(uow, donation(f"batch-{n}", 300, Phase.PENDING, reference=f"EP-B{n}"))
        uow.commit()

    assert raw(platform, """SELECT count(DISTINCT s.shard) FROM ledger_account_sums s
                            JOIN ledger_accounts a ON a.id = s.account_id WHERE a.code = :code""",
               code=SMS).scalar() == 1
    with platform.uow() as uow:
        assert uow.ledger.balances(SLUG)[SMS] == (0, 40 * 300)


def test_transfers_loaded_in_one_statement_are_all_summed(platform, posted):
    pending = record_transfer(platform.uow(), donation("charge-5", 800, Phase.PENDING))
    raw(platform, """
        INSERT INTO ledger_transfers (idempotency_key, fingerprint, appeal_id, debit_account_id, credit_account_id,
                                      amount_pence, currency, kind, phase, pending_id, reference, description,
                                      created_at)
        SELECT k.key, k.key, p.appeal_id, p.debit_account_id, p.credit_account_id, k.amount, 'GBP', 'donation',
               k.phase, CASE WHEN k.phase = 'post' THEN p.id END, 'EP-BULK', '', p.created_at
        FROM ledger_transfers p,
             (SELECT 'bulk-1' AS key, 300 AS amount, 'single' AS phase UNION ALL
              SELECT 'bulk-2', 200, 'pending' UNION ALL
              SELECT 'charge-5:post', 800, 'post') k
        WHERE p.id = :pending""", pending=pending.id)

    with platform.uow() as uow:
        assert uow.ledger.balances(SLUG)[SMS] == (500 + 300 + 800, 200)


def test_transactions_in_flight_side_by_side_each_hold_a_running_sum_shard_of_their_own(
        platform, seed_appeal, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: its sums need no sharding by transaction")
    writers = [platform.engine.connect() for _ in range(17)]
    try:
        shards = []
        for writer in writers[:16]:
            writer.begin()
            shards.append(writer.exec_driver_sql("SELECT everypenny_shard()").scalar())
        assert sorted(shards) == list(range(16))  # no two writers ever share a counter row

        seventeenth = writers[16]
        seventeenth.begin()
        seventeenth.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
        with pytest.raises(DBAPIError, match="lock timeout"):  # all sixteen busy: it waits for one to end
            seventeenth.exec_driver_sql("SELECT everypenny_shard()")
    finally:
        for writer in writers:
            writer.close()
