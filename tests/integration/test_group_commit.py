"""Group commit: many webhook callbacks stored in one transaction, each answered only once it is durable."""

import threading

import pytest
from sqlalchemy import text as sql
from sqlalchemy.exc import OperationalError

from everypenny.adapters.db.unit_of_work import HeldConnection
from everypenny.service_layer.group_commit import GroupCommit
from everypenny.service_layer.outbox import OutboxWorker, each_task
from everypenny.service_layer.text_giving import (
    TEXT_RECEIVED,
    ChargeReport,
    InboundText,
    accept_callbacks,
    charge_report_callback,
    text_callback,
)
from tests.eventually import eventually


def text(message_id: str, body: str = "SUN5") -> InboundText:
    return InboundText("aggregator", message_id, "447400000001", "70141", body, "EE")


def rows(platform, sql):
    with platform.engine.connect() as connection:
        return connection.exec_driver_sql(sql).all()


def test_a_batch_stores_each_new_callback_once_and_queues_its_work(platform):
    callbacks = [text_callback(text("m1")), text_callback(text("m2")), text_callback(text("m1")),
                 charge_report_callback(ChargeReport("c1", "charged"))]

    assert accept_callbacks(platform.uow(), callbacks) == [True, True, False, True]
    assert accept_callbacks(platform.uow(), [text_callback(text("m2")), text_callback(text("m3"))]) == [False, True]

    assert rows(platform, "SELECT message_id FROM inbox_messages ORDER BY message_id") == [
        ("charge:c1:charged",), ("m1",), ("m2",), ("m3",)]
    assert rows(platform, "SELECT topic, count(*) FROM outbox_tasks GROUP BY topic ORDER BY topic") == [
        ("sms.charge_reported", 1), ("sms.text_received", 3)]


def test_concurrent_requests_share_transactions_and_each_learns_whether_its_callback_was_new(platform):
    committer = GroupCommit(platform.uow)
    answers: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def send(message_id: str) -> None:
        answer = committer.submit(text_callback(text(message_id))).result(timeout=30)
        with lock:
            answers.setdefault(message_id, []).append(answer)

    threads = [threading.Thread(target=send, args=(f"m{n % 50}",)) for n in range(100)]  # each sent twice
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.close()

    assert all(sorted(found) == [False, True] for found in answers.values()) and len(answers) == 50
    assert rows(platform, "SELECT count(*) FROM inbox_messages") == [(50,)]
    assert rows(platform, "SELECT count(*) FROM outbox_tasks") == [(50,)]


def test_a_callback_that_cannot_be_stored_fails_alone_and_its_batch_mates_are_stored(platform):
    def store(uow, callbacks):
        if any(c.payload["body"] == "POISON" for c in callbacks):
            raise ValueError("cannot store a poisoned callback")
        return accept_callbacks(uow, callbacks)

    committer = GroupCommit(platform.uow, store=store)
    committer.submit(text_callback(text("first")))  # starts the thread; the next ones may share a batch
    futures = [committer.submit(text_callback(text(f"m{n}", "POISON" if n == 3 else "SUN5"))) for n in range(6)]

    with pytest.raises(ValueError, match="poisoned"):
        futures[3].result(timeout=30)
    assert [f.result(timeout=30) for n, f in enumerate(futures) if n != 3] == [True] * 5
    committer.close()
    assert rows(platform, "SELECT count(*) FROM inbox_messages") == [(6,)]


def test_a_closed_committer_refuses_new_callbacks(platform):
    committer = GroupCommit(platform.uow)
    assert committer.submit(text_callback(text("m1"))).result(timeout=30) is True
    committer.close()

    with pytest.raises(RuntimeError, match="closed"):
        committer.submit(text_callback(text("m2")))


def test_a_worker_running_tasks_on_threads_runs_each_exactly_once(platform):
    accept_callbacks(platform.uow(), [text_callback(text(f"m{n}")) for n in range(40)])
    seen: list[str] = []
    lock = threading.Lock()

    def handle(uow, payload):
        with lock:
            seen.append(payload["message_id"])

    OutboxWorker(platform.uow, {TEXT_RECEIVED: each_task(handle)}, threads=4, batch_size=15).drain()

    assert sorted(seen) == sorted(f"m{n}" for n in range(40))
    assert rows(platform, "SELECT count(*) FROM outbox_tasks WHERE done_at IS NULL") == [(0,)]


def test_a_worker_survives_a_database_outage_and_carries_on(platform):
    accept_callbacks(platform.uow(), [text_callback(text("m1"))])
    outage = {"left": 2}
    seen: list[str] = []

    def flaky_uow():
        if outage["left"]:
            outage["left"] -= 1
            raise ConnectionError("the database is restarting")
        return platform.uow()

    stop = threading.Event()
    worker = OutboxWorker(flaky_uow, {TEXT_RECEIVED: each_task(lambda uow, payload: (
        seen.append(payload["message_id"]), stop.set()))})
    worker.run_until(stop, outage_sleep_s=0.01)

    assert seen == ["m1"]


def test_the_inbox_and_the_outbox_keep_the_same_payload_and_tasks_queue_in_arrival_order(platform):
    callbacks = [text_callback(text(f"m{n}", f"SUN{n}")) for n in (3, 1, 2)]

    assert accept_callbacks(platform.uow(), callbacks) == [True, True, True]

    inbox = dict(rows(platform, "SELECT message_id, payload FROM inbox_messages"))
    outbox = rows(platform, "SELECT dedupe_key, payload FROM outbox_tasks ORDER BY id")
    assert [key for key, _ in outbox] == ["aggregator:mo:m3", "aggregator:mo:m1", "aggregator:mo:m2"]
    assert {key.rsplit(":", 1)[1]: payload for key, payload in outbox} == inbox


@pytest.mark.parametrize("size", [1, 7, 500])
def test_batches_of_any_size_store_once_and_answer_in_order(platform, size):
    first = [text_callback(text(f"m{n}")) for n in range(size)]
    assert accept_callbacks(platform.uow(), first) == [True] * size

    again = [text_callback(text(f"m{n}")) for n in range(size, size + 2)] + first[:1] + first[:1]
    assert accept_callbacks(platform.uow(), again) == [True, True, False, False]
    assert rows(platform, "SELECT count(*) FROM outbox_tasks") == [(size + 2,)]


def drop_connection(platform, held: HeldConnection) -> None:
    """What a restart of PostgreSQL does to a connection, which waits unaware until it is next used."""
    with platform.engine.connect() as connection:
        connection.execute(sql("SELECT pg_terminate_backend(:pid)"),
                           {"pid": held.connection().connection.dbapi_connection.info.backend_pid})


def test_on_its_held_connection_a_batch_the_database_dropped_fails_and_the_next_one_reconnects(platform):
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("a restart of PostgreSQL drops connections; a SQLite file has none to drop")
    held = HeldConnection(platform.engine, platform.settings.secret_key)
    committer = GroupCommit(held.uow)
    assert committer.submit(text_callback(text("m1"))).result(timeout=30) is True
    drop_connection(platform, held)

    with pytest.raises(OperationalError):
        committer.submit(text_callback(text("m2"))).result(timeout=30)  # answered with an error: no hang
    assert committer.submit(text_callback(text("m2"))).result(timeout=30) is True
    assert committer.submit(text_callback(text("m1"))).result(timeout=30) is False
    committer.close()
    held.close()
    assert rows(platform, "SELECT message_id FROM inbox_messages ORDER BY message_id") == [("m1",), ("m2",)]


def test_on_its_held_connection_a_commit_that_failed_leaves_the_next_batch_a_clean_connection(platform):
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("a restart of PostgreSQL drops connections; a SQLite file has none to drop")
    held = HeldConnection(platform.engine, platform.settings.secret_key)

    def dropped_at_commit(uow, callbacks):
        if callbacks[0].message_id == "dropped":
            commit = uow.commit
            uow.commit = lambda: (drop_connection(platform, held), commit())
        return accept_callbacks(uow, callbacks)

    committer = GroupCommit(held.uow, store=dropped_at_commit)
    with pytest.raises(OperationalError):
        committer.submit(text_callback(text("dropped"))).result(timeout=30)
    assert committer.submit(text_callback(text("m1"))).result(timeout=30) is True
    committer.close()
    held.close()
    assert rows(platform, "SELECT message_id FROM inbox_messages") == [("m1",)]


def test_the_committer_lets_its_held_connection_go_once_nothing_is_waiting(platform):
    held = HeldConnection(platform.engine, platform.settings.secret_key)
    committer = GroupCommit(held.uow, idle=held.close)

    assert committer.submit(text_callback(text("m1"))).result(timeout=30) is True

    eventually(lambda: platform.engine.pool.checkedout() == 0, every_s=0.01,
               failure="the committer still holds its connection")
    assert platform.engine.pool.checkedout() == 0  # back in the pool: an idle app holds nothing
    assert committer.submit(text_callback(text("m2"))).result(timeout=30) is True
    committer.close()
