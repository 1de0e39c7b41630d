"""One business operation, one database transaction: rolled back unless the operation commits."""

from __future__ import annotations

import abc
from typing import Self

from everypenny.service_layer.ports import (
    AppealRepository,
    ChainRepository,
    ConsentRepository,
    DonationRepository,
    Inbox,
    LedgerRepository,
    Outbox,
    ProofRepository,
)


class UnitOfWork(abc.ABC):
    appeals: AppealRepository
    ledger: LedgerRepository
    donations: DonationRepository
    consents: ConsentRepository
    outbox: Outbox
    inbox: Inbox
    chain: ChainRepository
    proof: ProofRepository

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
