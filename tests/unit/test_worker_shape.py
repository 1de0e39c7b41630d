"""Outbox workers claim batches shaped for their store, unless the operator says otherwise."""

from everypenny.config import Settings


def test_postgresql_workers_claim_big_batches_on_few_threads():
    assert Settings(database_url="postgresql+psycopg://db/everypenny").worker_shape() == (2, 300)


def test_sqlite_workers_keep_each_transaction_short_so_acknowledgements_are_not_held_back():
    assert Settings(database_url="sqlite:///./everypenny.db").worker_shape() == (8, 100)


def test_the_operators_settings_win(monkeypatch):
    monkeypatch.setenv("EVERYPENNY_WORKER_THREADS", "4")
    monkeypatch.setenv("EVERYPENNY_WORKER_BATCH_SIZE", "50")

    assert Settings(database_url="postgresql+psycopg://db/everypenny").worker_shape() == (4, 50)
