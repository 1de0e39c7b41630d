"""One business operation, one database transaction: rolled back unless the operation commits.

Who commits shows in a use case's signature:

- `tx: Transaction`: a step inside a transaction its caller opened; it reads and writes, and cannot commit
  (a Transaction has no commit). The caller commits or rolls back everything the steps did together.
- `uow: UnitOfWork`: a unit of work the function opens (`with uow:`) and commits itself, once.
- `uow_factory: UnitOfWorkFactory`: the function opens as many units of work as it needs (a short one to read,
  a provider's call outside any, another to record), each committed by the function.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Self

from everypenny.service_layer.desk_ports import DeskReporting, SessionRepository, UserRepository
from everypenny.service_layer.online_ports import (
    CheckoutRepository,
    EmailLog,
    GiftAidRepository,
    RateLimitCounter,
)
from everypenny.service_layer.ports import (
    AppealRepository,
    BroadcastMarkers,
    ChainRepository,
    ConsentRepository,
    ContactMarkStore,
    DonationRepository,
    Inbox,
    LedgerRepository,
    Outbox,
    ProofRepository,
)
from everypenny.service_layer.settlement_ports import GiftAidClaims, SettlementStore
from everypenny.service_layer.text_giving_ports import TextGivingStore


class Transaction:
    """The stores, inside an open transaction that someone else opened and will end."""

    appeals: AppealRepository
    ledger: LedgerRepository
    donations: DonationRepository
    consents: ConsentRepository
    marks: ContactMarkStore
    outbox: Outbox
    inbox: Inbox
    checkouts: CheckoutRepository
    gift_aid: GiftAidRepository
    emails: EmailLog
    rate_limits: RateLimitCounter
    texts: TextGivingStore
    users: UserRepository
    sessions: SessionRepository
    reporting: DeskReporting
    chain: ChainRepository
    proof: ProofRepository
    settlements: SettlementStore
    gift_aid_claims: GiftAidClaims
    markers: BroadcastMarkers


class UnitOfWork(Transaction, abc.ABC):
    """A transaction to open (`with uow:`), whose opener commits it; leaving it without a commit rolls back."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...


# Opens a new unit of work at each call (the platform's `uow`).
UnitOfWorkFactory = Callable[[], UnitOfWork]
