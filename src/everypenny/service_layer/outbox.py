"""Runs queued work (charges, receipts, callbacks to process) at least once, with its effects exactly once.

A task's handler and the mark that it is done commit in one transaction, so a crash either keeps both or
neither; a crashed worker's lease expires and another worker takes the task up again.

Tasks run in batches: one transaction for a claimed batch, as a commit per task would spend a TV spike's
time on commits. A batch with a failing task is rolled back and run task by task, so the failing one is
retried later without holding back its neighbours. A topic's handler may take its tasks of a batch together
(EachBatch), so a batch costs a few statements rather than a few per task, and calls to providers are made
outside the transaction (CallsOut), so no lock waits on a provider's answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, TypeVar

import structlog

from everypenny import instruments, tracing
from everypenny.domain.redaction import redact_secrets
from everypenny.service_layer.ports import NeverSucceeds, OutboxTask
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWorkFactory


@dataclass(frozen=True)
class EachBatch:
    """A topic's handler that takes all of a claimed batch's tasks of that topic at once, so that it reads and
    writes them set-wise (a few statements per batch rather than per task). It must leave the same effects as
    running its tasks one by one in order; if it fails, each task is run alone as a batch of one."""

    run: Callable[[Transaction, list[dict[str, Any]]], None]


def each_task(handle: Callable[[Transaction, dict[str, Any]], None]) -> EachBatch:
    """A topic whose tasks are handled one at a time, in claim order, in the batch's one transaction."""

    def run(tx: Transaction, payloads: list[dict[str, Any]]) -> None:
        for payload in payloads:
            handle(tx, payload)

    return EachBatch(run)


Call = TypeVar("Call")
Answer = TypeVar("Answer")
# A call to make and the queued task it is made for, so a call that fails puts back exactly that task.
ForTask = tuple[OutboxTask, Call]


@dataclass(frozen=True)
class CallsOut:
    """A topic whose work is calls to a provider, made outside any transaction so that no lock waits on the
    provider's answers (on SQLite, the only write lock, which every acknowledgement needs). `prepare` reads
    what to call for the tasks in a short transaction of its own, each call with the task it is made for;
    `call` makes the calls, and `record` stores what they changed in the transaction that marks the tasks
    done. A crash between a call and its record repeats the call, as a crash inside one transaction would:
    each call must be idempotent."""

    prepare: Callable[[Transaction, list[OutboxTask]], Any]
    call: Callable[[Any], Any]
    record: Callable[[Transaction, Any], None] = lambda tx, outcome: None


# Every topic's handler takes all of a claimed batch's tasks of its topic (each_task wraps a handler of one).
Handler = EachBatch | CallsOut


class CallsFailed(Exception):
    """Raised by a CallsOut's `call` when some of its calls failed: `made` is what the others returned (recorded
    as usual, their tasks done) and `tasks` the tasks whose calls failed, which are retried later with `error`'s
    backoff. So one provider error among many calls repeats only that call."""

    def __init__(self, made: Any, tasks: Sequence[OutboxTask], error: Exception) -> None:
        super().__init__(f"{len(tasks)} call(s) failed: {error!r}")
        self.made = made
        self.tasks = list(tasks)
        self.error = error

    @property
    def failed(self) -> list[dict[str, Any]]:
        """What the failed calls were for: their tasks' payloads, as queued."""
        return [task.payload for task in self.tasks]


log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# With the backoff below, the 20th failure comes about seven hours after the first: long enough to ride out a
# provider's outage, short enough that poison work reaches a person the same day.
DEFAULT_MAX_ATTEMPTS = 20


def backoff(attempts: int) -> timedelta:
    """0.5 s, 1 s, 2 s, ... up to an hour: money work is retried until parked (max_attempts), never dropped."""
    return min(timedelta(seconds=0.5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def call_side_by_side(calls: Executor, call: Callable[[Call], Answer], each: Sequence[ForTask[Call]],
                      in_turn: Callable[[Call], Hashable]) -> list[tuple[Call, Answer]]:
    """Makes a CallsOut's calls at once on `calls` (a batch waits for its slowest answer, not for their sum),
    except that calls with the same `in_turn` key (e.g. to one phone: a gift's charges, a reply's parts) are
    made one after another, in order, and a failure stops the rest of them so they never overtake it. Returns
    each call made with its answer, in order; if some failed or were stopped, raises CallsFailed with the
    others' answers and the tasks of those that were not made."""
    turns: dict[Hashable, list[ForTask[Call]]] = {}
    for one in each:
        turns.setdefault(in_turn(one[1]), []).append(one)

    def in_order(turn: list[ForTask[Call]]) -> list[tuple[ForTask[Call], Answer | None, Exception | None]]:
        outcomes: list[tuple[ForTask[Call], Answer | None, Exception | None]] = []
        for position, one in enumerate(turn):
            try:
                outcomes.append((one, call(one[1]), None))
            except Exception as error:  # this call's task and those after it in turn are retried later
                outcomes += [(later, None, error) for later in turn[position:]]
                break
        return outcomes

    if len(turns) == 1:
        outcomes = in_order(list(each))
    else:
        position = {id(one): index for index, one in enumerate(each)}
        outcomes = sorted((outcome for turn in calls.map(in_order, turns.values()) for outcome in turn),
                          key=lambda outcome: position[id(outcome[0])])
    failed = [(one, error) for one, _, error in outcomes if error is not None]
    answered = [(one[1], answer) for one, answer, error in outcomes if error is None]
    if failed:
        raise CallsFailed(answered, [task for (task, _), _ in failed], failed[0][1])
    return answered  # type: ignore[return-value]  # an answer is None only beside an error


@dataclass(frozen=True)
class PeriodicJob:
    """Housekeeping the worker runs every `every` (e.g. sealing the ledger); it must be safe to run
    in several workers at once, and a failure is logged and retried at the next interval."""

    name: str
    every: timedelta
    run: Callable[[], object]


def _by_topic(tasks: Sequence[OutboxTask]) -> dict[str, list[OutboxTask]]:
    """Tasks by topic, topics in the order they first appear and tasks in claim order."""
    by_topic: dict[str, list[OutboxTask]] = {}
    for task in tasks:
        by_topic.setdefault(task.topic, []).append(task)
    return by_topic


@dataclass
class _CallsMade:
    """The calls a batch's CallsOut topics made before its transaction: what each topic's calls returned, and the
    tasks whose calls failed (with why)."""

    answers: dict[str, Any] = field(default_factory=dict)
    failed: list[tuple[OutboxTask, Exception]] = field(default_factory=list)

    def still_due(self, tasks: Sequence[OutboxTask]) -> list[OutboxTask]:
        failed = {task.id for task, _ in self.failed}
        return [task for task in tasks if task.id not in failed]


class OutboxWorker:
    def __init__(self, uow_factory: UnitOfWorkFactory, handlers: Mapping[str, Handler],
                 batch_size: int = 50, lease: timedelta = timedelta(seconds=60),
                 periodic: Sequence[PeriodicJob] = (), threads: int = 1, claim_last: Sequence[str] = (),
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.uow_factory = uow_factory
        self.max_attempts = max_attempts
        # Tasks spend much of their time waiting on the database and on providers: a claimed batch is split
        # over this many threads, each share in one transaction.
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self.handlers = handlers
        self.batch_size = batch_size
        self.lease = lease
        self.periodic = periodic
        self.claim_last = tuple(claim_last)  # topics that wait while other work is due (see text_giving)
        self._next_run_s = dict.fromkeys((job.name for job in periodic), 0.0)

    def run_once(self) -> int:
        """Runs one batch of due tasks; returns how many it claimed."""
        with self.uow_factory() as uow:
            tasks = uow.outbox.claim(self.batch_size, self.lease, self.claim_last)
            uow.commit()
        if self.threads > 1 and len(tasks) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="outbox-task")
            share = -(-len(tasks) // self.threads)
            list(self._pool.map(self.run_claimed, [tasks[start:start + share]
                                                  for start in range(0, len(tasks), share)]))
        elif tasks:
            self.run_claimed(tasks)
        return len(tasks)

    def run_claimed(self, tasks: Sequence[OutboxTask]) -> None:
        """Runs the tasks in one transaction. A task another worker finished meanwhile (its lease ran out on
        us) is skipped: marking the batch done first, under row locks, is what keeps effects once. A topic's
        tasks go to its handler in claim order (together; a CallsOut handler's calls come first, outside the
        transaction). If any task fails, the batch is rolled back and its tasks run one by one, so only the
        failing one waits; calls already made are recorded first rather than made again (not every provider
        call can be repeated harmlessly: a text sent twice reaches the donor twice). A call that failed among
        others (CallsFailed) puts only its own task back. A task run again alone is another attempt: a call
        it makes again is a repeat (a charge's handler trusts no refusal of a repeat)."""
        parent, links = tracing.parent_of([tracing.taken_from(task.payload) for task in tasks])
        with instruments.worker_batch_duration.time(), tracing.span("outbox batch", parent, links):
            for task in self._run_together(tasks):
                self._run_together([replace(task, attempts=task.attempts + 1)])  # a batch of one: nothing to rerun

    def _run_together(self, tasks: Sequence[OutboxTask]) -> list[OutboxTask]:
        """Runs the tasks as one batch; returns those to run again one by one because the batch failed."""
        calls = _CallsMade()
        try:
            self._make_calls(tasks, calls)
            if due := calls.still_due(tasks):
                self._complete(due, calls.answers)
        except Exception as error:  # any failure: keep the task and try again later
            again = self._after_failure(calls.still_due(tasks), calls, error)
        else:
            again = []
        for task, failure in calls.failed:
            self._retry_later(task, failure)
        return self._record_calls_first(again, calls.answers, topics=len(_by_topic(tasks)))

    def _after_failure(self, due: list[OutboxTask], calls: _CallsMade, error: Exception) -> list[OutboxTask]:
        """A lone task that failed is retried later; a failed batch's tasks are to run again one by one."""
        if len(due) > 1:
            log.info("outbox batch failed; running its tasks one by one", size=len(due), error=repr(error))
            return due
        calls.failed.append((due[0], error))
        return []

    def _record_calls_first(self, tasks: list[OutboxTask], answers: dict[str, Any],
                            topics: int) -> list[OutboxTask]:
        """Before a failed batch's tasks run alone, the calls it made are recorded (and their tasks done) on
        their own, unless calls were all the batch did; returns the tasks left to run alone."""
        if not (tasks and answers and len(answers) < topics):
            return tasks
        try:
            self._complete([task for task in tasks if task.topic in answers], answers)
        except Exception as error:
            log.info("recording a batch's calls failed; running its tasks one by one", error=repr(error))
            return tasks
        return [task for task in tasks if task.topic not in answers]

    def _make_calls(self, tasks: Sequence[OutboxTask], calls: _CallsMade) -> None:
        """Each CallsOut topic's calls: prepared in a short transaction of their own, made outside any."""
        for topic, topic_tasks in _by_topic(tasks).items():
            handler = self.handlers.get(topic)
            if not isinstance(handler, CallsOut):
                continue
            try:
                with self.uow_factory() as uow:
                    prepared = handler.prepare(uow, topic_tasks)
                with tracing.span(f"call {topic}"):
                    calls.answers[topic] = handler.call(prepared)
            except CallsFailed as partly:
                calls.answers[topic] = partly.made
                failed = {task.id for task in partly.tasks}
                calls.failed += [(task, partly.error) for task in topic_tasks if task.id in failed]

    def _complete(self, tasks: Sequence[OutboxTask], answers: dict[str, Any]) -> None:
        """Marks the tasks done and applies them (records the calls made for them) in one transaction."""
        with self.uow_factory() as uow:
            ours = uow.outbox.complete_many([task.id for task in tasks])
            done = _by_topic([task for task in tasks if task.id in ours])
            for topic, topic_tasks in done.items():
                handler = self.handlers.get(topic)
                if handler is None:
                    raise LookupError(f"no handler for outbox topic {topic!r}")
                if isinstance(handler, CallsOut):
                    handler.record(uow, answers[topic])
                else:
                    handler.run(uow, [task.payload for task in topic_tasks])
            uow.commit()
        for topic, topic_tasks in done.items():
            instruments.worker_tasks_done.labels(topic).inc(len(topic_tasks))

    def _retry_later(self, task: OutboxTask, error: Exception) -> None:
        """Backs off and tries again; after max_attempts, or at once when the error says it never can succeed
        (NeverSucceeds), the task is parked, so poison work stops costing retries and waits on the desk for an
        admin to retry or dismiss it."""
        reason = redact_secrets(repr(error))
        instruments.worker_task_failures.labels(task.topic).inc()
        with self.uow_factory() as uow:
            if task.attempts >= self.max_attempts or isinstance(error, NeverSucceeds):
                log.error("outbox task parked after repeated failures", task_id=task.id, topic=task.topic,
                          attempts=task.attempts, error=reason)
                uow.outbox.park(task.id, reason)
            else:
                delay = backoff(task.attempts)
                log.warning("outbox task failed", task_id=task.id, topic=task.topic, attempts=task.attempts,
                            retry_in_s=delay.total_seconds(), error=reason)
                uow.outbox.retry_later(task.id, reason, delay)
            uow.commit()

    def run_due_jobs(self) -> None:
        """Runs each periodic job whose interval has passed since its last run."""
        for job in self.periodic:
            moment = time.monotonic()
            if moment < self._next_run_s[job.name]:
                continue
            self._next_run_s[job.name] = moment + job.every.total_seconds()
            try:
                job.run()
            except Exception as error:  # housekeeping must never stop the worker
                log.warning("periodic job failed", job=job.name, error=repr(error))

    def run_until(self, stop: threading.Event, idle_sleep_s: float = 0.05, outage_sleep_s: float = 1.0) -> None:
        """Works until `stop`; a database outage (e.g. PostgreSQL restarting) pauses it rather than ending it:
        claimed tasks whose run failed are leased and come back when their lease ends."""
        while not stop.is_set():
            self.run_due_jobs()
            try:
                claimed = self.run_once()
            except Exception as error:
                log.warning("outbox worker cannot reach the database; retrying", error=repr(error))
                stop.wait(outage_sleep_s)
                continue
            if claimed == 0:
                stop.wait(idle_sleep_s)

    def drain(self, max_rounds: int = 1000) -> None:
        """Runs until nothing is due: for tests and one-shot commands."""
        for _ in range(max_rounds):
            if self.run_once() == 0:
                return
