"""In-memory stand-ins for the service layer's ports, after cosmicpython's FakeUnitOfWork: a use case runs against
them without a database, so a test of its rules is fast and says only what the use case does. The stores here
are those the money-out use cases read and write; what a unit of work commits is what a later one sees, and what
it rolls back is gone.

The real stores' own rules (the ledger's triggers, unique keys, two writers racing) are tested against SQLite and
PostgreSQL in tests/integration/; these fakes keep the same contract as the ports, nothing more.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from everypenny.domain.appeal import Appeal
from everypenny.domain.ledger import (
    Phase,
    Transfer,
    TransferKind,
    TransferRequest,
    UnknownAccount,
    chart_of_accounts,
)
from everypenny.domain.payouts import Payout
from everypenny.service_layer.ports import DuplicateKey, StoredAppeal, TransferWithPending
from everypenny.service_layer.unit_of_work import UnitOfWork


@dataclass
class _Books:
    """Everything the fake stores hold; a unit of work works on a copy and commits by handing it back."""

    appeals: dict[str, StoredAppeal] = field(default_factory=dict)
    accounts: dict[str, set[str]] = field(default_factory=dict)
    transfers: list[Transfer] = field(default_factory=list)
    payouts: dict[str, list[Payout]] = field(default_factory=dict)


class FakeAppealRepository:
    def __init__(self, books: _Books) -> None:
        self.books = books

    def get(self, slug: str) -> StoredAppeal | None:
        return self.books.appeals.get(slug)

    def save(self, appeal: Appeal, definition: dict[str, Any], definition_hash: str) -> None:
        self.books.appeals[appeal.slug] = StoredAppeal(appeal, definition, definition_hash, datetime.now(UTC))

    def list(self) -> list[StoredAppeal]:
        return [self.books.appeals[slug] for slug in sorted(self.books.appeals)]


class FakeLedgerRepository:
    def __init__(self, books: _Books) -> None:
        self.books = books

    def ensure_accounts(self, appeal_slug: str, currency: str, codes: list[str]) -> None:
        self.books.accounts.setdefault(appeal_slug, set()).update(codes)

    def get(self, idempotency_key: str) -> Transfer | None:
        return self.get_many([idempotency_key]).get(idempotency_key)

    def get_many(self, idempotency_keys: Sequence[str]) -> dict[str, Transfer]:
        wanted = set(idempotency_keys)
        return {t.idempotency_key: t for t in self.books.transfers if t.idempotency_key in wanted}

    def with_pending_many(self, keys: Sequence[tuple[str, str | None]]) -> dict[str, TransferWithPending]:
        resolved = {t.pending_key for t in self.books.transfers if t.pending_key}
        found = self.get_many([key for pair in keys for key in pair if key is not None])
        return {key: TransferWithPending(found.get(key), found.get(pending_key) if pending_key else None,
                                         pending_key in resolved) for key, pending_key in keys}

    def add_many(self, requests: Sequence[tuple[TransferRequest, int | None]]) -> list[Transfer]:
        taken = self.get_many([request.idempotency_key for request, _ in requests])
        if taken:
            raise DuplicateKey(f"another writer recorded {next(iter(taken))!r} first")
        added = []
        for request, _pending_id in requests:
            for code in (request.debit, request.credit):
                if code not in self.books.accounts.get(request.appeal, set()):
                    raise UnknownAccount(request.appeal, code)
            added.append(Transfer.from_request(request, id=len(self.books.transfers) + 1))
            self.books.transfers.append(added[-1])
        return added

    def transfers(self, appeal_slug: str, reference: str | None = None) -> list[Transfer]:
        return [t for t in self.books.transfers
                if t.appeal == appeal_slug and (reference is None or t.reference == reference)]

    def balances(self, appeal_slug: str) -> dict[str, tuple[int, int]]:
        """Each account's (posted, pending) balance; debits positive."""
        posted = dict.fromkeys(self.books.accounts.get(appeal_slug, set()), 0)
        pending = dict(posted)
        by_key = {t.idempotency_key: t for t in self.books.transfers}
        for t in self.transfers(appeal_slug):
            if t.phase.counts_as_posted:
                posted[t.debit] += t.amount_pence
                posted[t.credit] -= t.amount_pence
            if t.phase is Phase.PENDING:
                pending[t.debit] += t.amount_pence
                pending[t.credit] -= t.amount_pence
            elif t.phase.resolves_pending and t.pending_key is not None:
                held = by_key[t.pending_key].amount_pence
                pending[t.debit] -= held
                pending[t.credit] += held
        return {code: (posted[code], pending[code]) for code in posted}


class FakeProofRepository:
    def __init__(self, books: _Books) -> None:
        self.books = books

    def count_transfers(self, appeal_slug: str, kind: TransferKind) -> int:
        return sum(t.appeal == appeal_slug and t.kind is kind for t in self.books.transfers)

    def add_payout(self, appeal_slug: str, payout: Payout) -> None:
        self.books.payouts.setdefault(appeal_slug, []).append(payout)

    def payouts(self, appeal_slug: str) -> list[Payout]:
        return list(self.books.payouts.get(appeal_slug, []))


class FakeUnitOfWork(UnitOfWork):
    """One transaction over the fake stores: committed work is kept, anything else is dropped on leaving."""

    def __init__(self, books: _Books) -> None:
        self.books = books
        self.commits = 0

    def __enter__(self) -> Self:
        self._working = copy.deepcopy(self.books)
        self.appeals = FakeAppealRepository(self._working)
        self.ledger = FakeLedgerRepository(self._working)
        self.proof = FakeProofRepository(self._working)
        return self

    def commit(self) -> None:
        self.books.__dict__.update(copy.deepcopy(self._working).__dict__)
        self.commits += 1

    def rollback(self) -> None:
        self._working = copy.deepcopy(self.books)


class FakeStores:
    """The fake stores of one test, and units of work over them (a factory, as the platform's uow is)."""

    def __init__(self) -> None:
        self.books = _Books()

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.books)

    def add_appeal(self, appeal: Appeal) -> None:
        with self.uow() as uow:
            uow.appeals.save(appeal, {}, "fake")
            uow.ledger.ensure_accounts(appeal.slug, appeal.currency, chart_of_accounts(appeal))
            uow.commit()

    def posted(self, slug: str) -> dict[str, int]:
        """Posted balances, debits positive, of the accounts that have moved."""
        with self.uow() as uow:
            return {code: posted for code, (posted, _) in uow.ledger.balances(slug).items() if posted}
