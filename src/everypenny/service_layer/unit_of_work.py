"""One business operation, one database transaction: rolled back unless the operation commits."""

from __future__ import annotations

import abc
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
    ChainRepository,
    ConsentRepository,
    DonationRepository,
    Inbox,
    LedgerRepository,
    Outbox,
    ProofRepository,
)
from everypenny.service_layer.settlement_ports import GiftAidClaims, SettlementStore
from everypenny.service_layer.text_giving_ports import TextGivingStore


class UnitOfWork(abc.ABC):
    appeals: AppealRepository
    ledger: LedgerRepository
    donations: DonationRepository
    consents: ConsentRepository
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
