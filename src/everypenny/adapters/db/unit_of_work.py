from __future__ import annotations

from typing import Self

from sqlalchemy import Connection, Engine

from everypenny.adapters.db.broadcast import SqlBroadcastMarkers
from everypenny.adapters.db.chain import SqlChainRepository
from everypenny.adapters.db.contact_marks import SqlContactMarks
from everypenny.adapters.db.desk_users import SqlSessionRepository, SqlUserRepository
from everypenny.adapters.db.gift_aid_claims import SqlGiftAidClaims
from everypenny.adapters.db.online_repositories import (
    SqlCheckoutRepository,
    SqlEmailLog,
    SqlGiftAidRepository,
    SqlRateLimitCounter,
)
from everypenny.adapters.db.proof import SqlProofRepository
from everypenny.adapters.db.reporting import SqlDeskReporting
from everypenny.adapters.db.repositories import (
    SqlAppealRepository,
    SqlConsentRepository,
    SqlDonationRepository,
    SqlInbox,
    SqlLedgerRepository,
    SqlOutbox,
)
from everypenny.adapters.db.settlement_repository import SqlSettlementStore
from everypenny.adapters.db.text_giving_repository import SqlTextGivingStore
from everypenny.service_layer.unit_of_work import UnitOfWork


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, engine: Engine, secret_key: str, held: HeldConnection | None = None) -> None:
        self.engine = engine
        self.secret_key = secret_key  # keys the rate limits' subject hashes
        self.held = held

    def __enter__(self) -> Self:
        self.connection = self.held.connection() if self.held else self.engine.connect()
        self.transaction = self.connection.begin()
        self.appeals = SqlAppealRepository(self.connection)
        self.ledger = SqlLedgerRepository(self.connection)
        self.donations = SqlDonationRepository(self.connection)
        self.consents = SqlConsentRepository(self.connection)
        self.marks = SqlContactMarks(self.connection, self.secret_key)
        self.outbox = SqlOutbox(self.connection)
        self.inbox = SqlInbox(self.connection)
        self.checkouts = SqlCheckoutRepository(self.connection)
        self.gift_aid = SqlGiftAidRepository(self.connection)
        self.emails = SqlEmailLog(self.connection)
        self.rate_limits = SqlRateLimitCounter(self.connection, self.secret_key)
        self.texts = SqlTextGivingStore(self.connection)
        self.users = SqlUserRepository(self.connection)
        self.sessions = SqlSessionRepository(self.connection)
        self.reporting = SqlDeskReporting(self.connection)
        self.chain = SqlChainRepository(self.connection)
        self.proof = SqlProofRepository(self.connection)
        self.settlements = SqlSettlementStore(self.connection)
        self.gift_aid_claims = SqlGiftAidClaims(self.connection)
        self.markers = SqlBroadcastMarkers(self.connection)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            if self.held is None:
                self.connection.close()
            elif self.connection.get_transaction() is not None:  # a failed commit leaves its transaction to end
                self.connection.rollback()

    def commit(self) -> None:
        self.transaction.commit()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()


class HeldConnection:
    """Units of work on one connection kept open between them until `close`, for a thread that runs one after
    another through a busy spell (the group committer, which closes it when nothing is waiting): no pool
    checkout, and no ping, per unit. A connection the database dropped (a restart) fails the unit of work
    using it; SQLAlchemy sees the disconnect and invalidates it, and the next unit of work reconnects."""

    def __init__(self, engine: Engine, secret_key: str) -> None:
        self.engine = engine
        self.secret_key = secret_key
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        return self._connection

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.secret_key, self)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
