"""Group commit for webhooks: many callbacks stored in one transaction, each answered only once it commits.

A TV spike sends thousands of callbacks a second; one transaction per callback spends the database's
time on commits. Requests hand their callback to this process's committer and wait; a single thread takes
everything waiting, stores it in one transaction, then answers each request. While one batch commits the
next gathers, so batches grow with the load and a lone callback waits for nobody. Nothing is acknowledged
before it is durable: if the process dies mid-batch, the provider gets no answer and sends it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import structlog

from everypenny.service_layer.text_giving import Callback, accept_callbacks
from everypenny.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)

Store = Callable[[UnitOfWork, Sequence[Callback]], list[bool]]


class GroupCommit:
    def __init__(self, uow_factory: UnitOfWorkFactory, max_batch: int = 500,
                 store: Store = accept_callbacks, idle: Callable[[], None] = lambda: None) -> None:
        """`idle` is called whenever nothing is left waiting: `uow_factory` may hold a connection through a busy
        spell (adapters/db/unit_of_work.py HeldConnection) and let it go there."""
        self.uow_factory = uow_factory
        self.idle = idle
        self.max_batch = max_batch
        self.store = store
        self._waiting: list[tuple[Callback, Future[bool]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, callback: Callback) -> Future[bool]:
        """A future that resolves, once the callback's batch has committed, to whether it was new."""
        future: Future[bool] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._waiting.append((callback, future))
            self._ready.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._ready:
                nothing_waiting = not self._waiting
            if nothing_waiting:
                self.idle()
            with self._ready:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if not self._waiting:
                    return
                batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            self._commit(batch)

    def _commit(self, batch: list[tuple[Callback, Future[bool]]]) -> None:
        try:
            answers = self.store(self.uow_factory(), [callback for callback, _ in batch])
        except Exception as error:
            if len(batch) > 1:  # one bad callback must not fail the others: store them one by one
                log.warning("group commit failed; storing its callbacks one by one", size=len(batch),
                            error=repr(error))
                for item in batch:
                    self._commit([item])
                return
            batch[0][1].set_exception(error)
            return
        for (_, future), answer in zip(batch, answers, strict=True):
            future.set_result(answer)

    def close(self) -> None:
        """Commits what is waiting, then stops the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)
