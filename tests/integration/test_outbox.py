"""Queued work runs at least once and takes effect exactly once, whatever fails or crashes."""

import threading
from datetime import UTC, datetime, timedelta

from everypenny.domain.donation import ConsentRecord, Medium
from everypenny.service_layer.outbox import CallsFailed, CallsOut, EachBatch, OutboxWorker, backoff, each_task
from everypenny.service_layer.text_giving import TEXT_RECEIVED


def enqueue(platform, topic, payload, **options) -> bool:
    with platform.uow() as uow:
        queued = uow.outbox.enqueue(topic, payload, **options)
        uow.commit()
    return queued


def opt_out(uow, payload):
    """A handler with a visible effect: one consent row per run that committed."""
    uow.consents.record(ConsentRecord(payload["phone"], Medium.SMS, False, "test", datetime.now(UTC)))


def opt_outs(platform, phone) -> bool | None:
    with platform.uow() as uow:
        return uow.consents.current(phone, Medium.SMS)


def rows(platform, sql):
    with platform.engine.connect() as connection:
        return connection.exec_driver_sql(sql).all()


def test_a_task_takes_effect_once_and_is_marked_done(platform, seed_appeal):
    enqueue(platform, "opt-out", {"phone": "+447700900001"})
    worker = OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)})

    worker.drain()
    worker.drain()

    assert opt_outs(platform, "+447700900001") is False
    assert rows(platform, "SELECT count(*) FROM consents") == [(1,)]
    assert rows(platform, "SELECT attempts, done_at IS NOT NULL FROM outbox_tasks") == [(1, True)]


def test_a_failing_task_rolls_back_its_effects_and_is_retried_later(platform, seed_appeal):
    enqueue(platform, "flaky", {"phone": "+447700900002"})
    calls = []

    def flaky(uow, payload):
        opt_out(uow, payload)
        calls.append(payload)
        if len(calls) == 1:
            raise ConnectionError("aggregator unreachable")

    worker = OutboxWorker(platform.uow, {"flaky": each_task(flaky)})
    worker.drain()

    assert rows(platform, "SELECT count(*) FROM consents") == [(0,)]
    [(attempts, error, done)] = rows(platform, "SELECT attempts, last_error, done_at FROM outbox_tasks")
    assert (attempts, done) == (1, None) and "aggregator unreachable" in error

    with platform.engine.begin() as connection:  # let the backoff pass
        connection.exec_driver_sql("UPDATE outbox_tasks SET available_at = '2000-01-01 00:00:00'")
    worker.drain()
    assert len(calls) == 2
    assert rows(platform, "SELECT count(*) FROM consents") == [(1,)]


def test_a_task_nobody_can_handle_is_kept_not_dropped(platform):
    enqueue(platform, "from-a-newer-version", {})

    OutboxWorker(platform.uow, {}).drain()

    [(error, done)] = rows(platform, "SELECT last_error, done_at FROM outbox_tasks")
    assert "no handler for outbox topic 'from-a-newer-version'" in error and done is None


def test_work_promised_twice_under_one_key_is_queued_once(platform):
    assert enqueue(platform, "receipt", {"n": 1}, dedupe_key="receipt:EP-1") is True
    assert enqueue(platform, "receipt", {"n": 1}, dedupe_key="receipt:EP-1") is False
    assert rows(platform, "SELECT count(*) FROM outbox_tasks") == [(1,)]


def test_a_crashed_workers_task_is_taken_up_again_after_its_lease(platform, seed_appeal):
    enqueue(platform, "opt-out", {"phone": "+447700900003"})
    with platform.uow() as uow:  # a worker claims the task, then dies before finishing
        assert len(uow.outbox.claim(10, lease=timedelta(seconds=-1))) == 1
        uow.commit()

    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).drain()

    assert opt_outs(platform, "+447700900003") is False
    assert rows(platform, "SELECT attempts, done_at IS NOT NULL FROM outbox_tasks") == [(2, True)]


def test_a_leased_task_is_not_run_by_a_second_worker(platform, seed_appeal):
    enqueue(platform, "opt-out", {"phone": "+447700900004"})
    with platform.uow() as uow:
        uow.outbox.claim(10, lease=timedelta(minutes=5))
        uow.commit()

    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).drain()

    assert opt_outs(platform, "+447700900004") is None


def test_a_provider_message_is_accepted_once(platform):
    with platform.uow() as uow:
        assert uow.inbox.accept("aggregator", "MO-1", "mo", {"body": "SUN5"}) is True
        assert uow.inbox.accept("aggregator", "MO-1", "mo", {"body": "SUN5"}) is False
        assert uow.inbox.accept("twilio", "MO-1", "mo", {"body": "SUN5"}) is True
        uow.commit()


def test_backoff_grows_and_is_capped_at_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [0.5, 1, 2, 4]
    assert backoff(40) == timedelta(hours=1)


def test_several_workers_share_the_queue_without_doing_any_task_twice(platform, seed_appeal):
    tasks = 120
    with platform.uow() as uow:
        for n in range(tasks):
            uow.outbox.enqueue("opt-out", {"phone": f"+4477009{n:05d}"})
        uow.commit()
    workers = [OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}, batch_size=5) for _ in range(4)]

    threads = [threading.Thread(target=worker.drain) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert rows(platform, "SELECT count(*), count(DISTINCT contact) FROM consents") == [(tasks, tasks)]
    assert rows(platform, "SELECT max(attempts), count(*) FROM outbox_tasks WHERE done_at IS NOT NULL") == [
        (1, tasks)]


def test_a_failing_task_is_retried_without_undoing_the_tasks_run_beside_it(platform, seed_appeal):
    for n in range(5):
        enqueue(platform, "opt-out" if n != 2 else "flaky", {"phone": f"+44770090010{n}"})

    def flaky(uow, payload):
        opt_out(uow, payload)
        raise ConnectionError("aggregator unreachable")

    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out), "flaky": each_task(flaky)}, batch_size=10).run_once()

    assert rows(platform, "SELECT contact FROM consents ORDER BY contact") == [
        (f"+44770090010{n}",) for n in (0, 1, 3, 4)]
    assert rows(platform, "SELECT count(*) FROM outbox_tasks WHERE done_at IS NULL") == [(1,)]
    [(error,)] = rows(platform, "SELECT last_error FROM outbox_tasks WHERE done_at IS NULL")
    assert "aggregator unreachable" in error


def test_a_worker_whose_lease_ran_out_does_not_repeat_what_another_worker_finished(platform, seed_appeal):
    enqueue(platform, "opt-out", {"phone": "+447700900005"})
    with platform.uow() as uow:  # a slow worker claims the task; its lease runs out before it gets going
        stale = uow.outbox.claim(10, lease=timedelta(seconds=-1))
        uow.commit()
    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).drain()  # another worker takes it up and finishes it

    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).run_claimed(stale)  # the slow worker wakes up

    assert rows(platform, "SELECT count(*) FROM consents") == [(1,)]


def test_topics_claimed_last_wait_while_other_work_is_due(platform, seed_appeal):
    for n in range(3):
        enqueue(platform, "new-text", {"phone": f"+44770090020{n}"})
    enqueue(platform, "opt-out", {"phone": "+447700900210"})  # queued after the texts, yet done first
    seen = []

    def record(topic):
        return each_task(lambda uow, payload: seen.append((topic, payload["phone"])))

    worker = OutboxWorker(platform.uow, {"new-text": record("new-text"), "opt-out": record("opt-out")},
                          batch_size=1, claim_last=("new-text",))
    worker.drain()

    assert seen == [("opt-out", "+447700900210"), ("new-text", "+447700900200"), ("new-text", "+447700900201"),
                    ("new-text", "+447700900202")]


def test_a_worker_books_charged_money_before_taking_up_new_texts(platform):
    assert platform.worker().claim_last == (TEXT_RECEIVED,)


def test_a_retry_scheduled_for_a_task_another_worker_finished_leaves_it_finished(platform, seed_appeal):
    enqueue(platform, "opt-out", {"phone": "+447700900006"})
    with platform.uow() as uow:  # a slow worker's lease runs out ...
        [stale] = uow.outbox.claim(10, lease=timedelta(seconds=-1))
        uow.commit()
    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).drain()  # ... another worker finishes the task ...

    with platform.uow() as uow:  # ... and the slow worker, failing, asks for it to be retried
        uow.outbox.retry_later(stale.id, "ConnectionError('too late')", timedelta(seconds=1))
        uow.commit()

    assert rows(platform, "SELECT done_at IS NOT NULL, last_error FROM outbox_tasks") == [(True, None)]
    OutboxWorker(platform.uow, {"opt-out": each_task(opt_out)}).drain()
    assert rows(platform, "SELECT count(*) FROM consents") == [(1,)]


def test_a_batch_handler_gets_its_topics_tasks_together_in_the_order_they_were_queued(platform, seed_appeal):
    for n in range(4):
        enqueue(platform, "opt-outs", {"phone": f"+44770090030{n}"})
    batches = []

    def opt_outs_at_once(uow, payloads):
        batches.append([payload["phone"] for payload in payloads])
        for payload in payloads:
            opt_out(uow, payload)

    OutboxWorker(platform.uow, {"opt-outs": EachBatch(opt_outs_at_once)}, batch_size=10).drain()

    assert batches == [[f"+44770090030{n}" for n in range(4)]]
    assert rows(platform, "SELECT count(*) FROM consents") == [(4,)]


def test_a_failing_batch_handler_retries_only_the_task_that_fails(platform, seed_appeal):
    for n in range(3):
        enqueue(platform, "opt-outs", {"phone": f"+44770090040{n}"})
    bad = "+447700900401"

    def opt_outs_at_once(uow, payloads):
        for payload in payloads:
            if payload["phone"] == bad:
                raise ConnectionError("aggregator unreachable")
            opt_out(uow, payload)

    OutboxWorker(platform.uow, {"opt-outs": EachBatch(opt_outs_at_once)}, batch_size=10).run_once()

    assert rows(platform, "SELECT contact FROM consents ORDER BY contact") == [
        ("+447700900400",), ("+447700900402",)]
    [(payload, error)] = rows(platform, "SELECT payload, last_error FROM outbox_tasks WHERE done_at IS NULL")
    assert bad in payload and "aggregator unreachable" in error


def _writers_besides_me(platform) -> int:
    """PostgreSQL transactions that have written something, other than the one asking."""
    return rows(platform, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                          "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")[0][0]


def test_calls_to_a_provider_are_made_while_the_worker_holds_no_transaction(platform, seed_appeal):
    enqueue(platform, "charge", {"phone": "+447700900500"})
    writers_during_the_call = []

    def call(phones):
        # A donor's STOP stored while the provider answers: on SQLite it needs the write lock, which must be free.
        with platform.uow() as uow:
            opt_out(uow, {"phone": "+447700900501"})
            uow.commit()
        if platform.engine.dialect.name == "postgresql":
            writers_during_the_call.append(_writers_besides_me(platform))
        return phones

    def record(uow, phones):
        for phone in phones:
            opt_out(uow, {"phone": phone})

    handler = CallsOut(lambda uow, tasks: [task.payload["phone"] for task in tasks], call, record)
    OutboxWorker(platform.uow, {"charge": handler}).drain()

    assert rows(platform, "SELECT contact FROM consents ORDER BY contact") == [("+447700900500",), ("+447700900501",)]
    assert writers_during_the_call in ([], [0])
    assert rows(platform, "SELECT count(*) FROM outbox_tasks WHERE done_at IS NULL") == [(0,)]


def test_a_failed_call_to_a_provider_is_retried_later_with_nothing_recorded(platform, seed_appeal):
    enqueue(platform, "charge", {"phone": "+447700900502"})

    def call(phones):
        raise ConnectionError("aggregator unreachable")

    OutboxWorker(platform.uow, {"charge": CallsOut(lambda uow, tasks: tasks, call)}).run_once()

    [(done, error)] = rows(platform, "SELECT done_at, last_error FROM outbox_tasks")
    assert done is None and "aggregator unreachable" in error


def test_calls_made_for_a_batch_that_then_fails_are_recorded_not_made_again(platform, seed_appeal):
    enqueue(platform, "send", {"phone": "+447700900503"})
    enqueue(platform, "send", {"phone": "+447700900504"})
    enqueue(platform, "opt-out", {"phone": "+447700900505"})
    sent = []

    def send(phones):
        sent.extend(phones)  # a text that cannot be taken back
        return phones

    def record(uow, phones):
        for phone in phones:
            opt_out(uow, {"phone": phone})

    def failing(uow, payload):
        raise LookupError("not yet")

    handlers = {"send": CallsOut(lambda uow, tasks: [task.payload["phone"] for task in tasks], send, record),
                "opt-out": each_task(failing)}
    OutboxWorker(platform.uow, handlers, batch_size=10).run_once()

    assert sent == ["+447700900503", "+447700900504"]
    assert rows(platform, "SELECT contact FROM consents ORDER BY contact") == [("+447700900503",), ("+447700900504",)]
    [(payload, error)] = rows(platform, "SELECT payload, last_error FROM outbox_tasks WHERE done_at IS NULL")
    assert "+447700900505" in payload and "not yet" in error


def test_a_call_failing_among_many_puts_back_only_its_own_task(platform, seed_appeal):
    phones = ["+447700900510", "+447700900511", "+447700900512"]
    for phone in phones:
        enqueue(platform, "charge", {"phone": phone})
    calls = []

    def call(work):  # each phone with the task it is called for
        phones = [phone for _, phone in work]
        calls.extend(phones)
        made = [phone for phone in phones if phone != "+447700900511"]
        if len(made) < len(phones):
            raise CallsFailed(made, [task for task, phone in work if phone == "+447700900511"],
                              ConnectionError("aggregator busy"))
        return made

    def record(uow, made):
        for phone in made:
            opt_out(uow, {"phone": phone})

    handler = CallsOut(lambda uow, tasks: [(task, task.payload["phone"]) for task in tasks], call, record)
    OutboxWorker(platform.uow, {"charge": handler}, batch_size=10).run_once()

    assert calls == phones  # the failed call is not made again at once, nor are the others
    assert rows(platform, "SELECT contact FROM consents ORDER BY contact") == [("+447700900510",), ("+447700900512",)]
    [(payload, attempts, error)] = rows(platform, "SELECT payload, attempts, last_error FROM outbox_tasks "
                                                  "WHERE done_at IS NULL")
    assert "+447700900511" in payload and attempts == 1 and "aggregator busy" in error
