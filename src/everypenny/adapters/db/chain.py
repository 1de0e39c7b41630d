"""The ledger chain in SQL: reading transfers as the chain commits to them, and appending sealed entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from everypenny.adapters.db.repositories import TRANSFERS_WITH_CODES, _appeal_id, insert_many
from everypenny.adapters.db.schema import appeals, ledger_chain, ledger_transfers
from everypenny.domain.chain import ChainEntry, SealedTransfer
from everypenny.service_layer.ports import DuplicateKey


def _sealed_transfer(row) -> SealedTransfer:
    return SealedTransfer(
        id=row.id, idempotency_key=row.idempotency_key, fingerprint=row.fingerprint, appeal=row.appeal_slug,
        debit=row.debit_code, credit=row.credit_code, amount_pence=row.amount_pence, currency=row.currency,
        kind=row.kind, phase=row.phase, pending_id=row.pending_id, reference=row.reference,
        description=row.description, created_at=row.created_at)


def _entry(slug: str, row) -> ChainEntry:
    return ChainEntry(slug, row.seq, row.transfer_id, row.prev_hash, row.hash, row.sealed_at)


class SqlChainRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _transfers(self):
        return TRANSFERS_WITH_CODES

    def lock_head(self, appeal_slug: str) -> None:
        """Serialises sealers of one appeal until commit; inserts of transfers are not held up.

        PostgreSQL: a row lock on the appeal that does not conflict with the key-share locks that
        inserting a transfer takes. SQLite: every transaction already began with BEGIN IMMEDIATE.
        """
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(select(appeals.c.id).where(appeals.c.slug == appeal_slug)
                                    .with_for_update(key_share=True))  # FOR NO KEY UPDATE

    def head(self, appeal_slug: str) -> ChainEntry | None:
        row = self.connection.execute(
            select(ledger_chain).where(ledger_chain.c.appeal_id == _appeal_id(self.connection, appeal_slug))
            .order_by(ledger_chain.c.seq.desc()).limit(1)).first()
        return _entry(appeal_slug, row) if row else None

    def _unsealed_condition(self):
        return ~select(ledger_chain.c.seq).where(ledger_chain.c.transfer_id == ledger_transfers.c.id).exists()

    def unsealed(self, appeal_slug: str, limit: int, after_id: int = 0) -> list[SealedTransfer]:
        """The appeal's oldest transfers (with ids above `after_id`) that no chain entry names yet, in id order."""
        rows = self.connection.execute(
            self._transfers().where(appeals.c.slug == appeal_slug, ledger_transfers.c.id > after_id,
                                    self._unsealed_condition())
            .order_by(ledger_transfers.c.id).limit(limit))
        return [_sealed_transfer(row) for row in rows]

    def unsealed_ages(self, appeal_slug: str) -> list[tuple[int, datetime]]:
        rows = self.connection.execute(
            select(ledger_transfers.c.id, ledger_transfers.c.created_at)
            .where(ledger_transfers.c.appeal_id == _appeal_id(self.connection, appeal_slug),
                   self._unsealed_condition())
            .order_by(ledger_transfers.c.id))
        return [(row.id, row.created_at) for row in rows]

    def append(self, appeal_slug: str, entries: list[ChainEntry]) -> None:
        """Raises DuplicateKey when another sealer took a seq or sealed a transfer first."""
        if not entries:
            return
        appeal_id = _appeal_id(self.connection, appeal_slug)
        try:
            with self.connection.begin_nested():
                insert_many(self.connection, ledger_chain, [
                    {"appeal_id": appeal_id, "seq": e.seq, "transfer_id": e.transfer_id, "prev_hash": e.prev_hash,
                     "hash": e.hash, "sealed_at": e.sealed_at} for e in entries])
        except IntegrityError as error:
            raise DuplicateKey(str(error.orig)) from error

    def walk(self, appeal_slug: str, batch_size: int = 1000) -> Iterator[tuple[ChainEntry, SealedTransfer | None]]:
        """Every entry in seq order with its transfer's row as stored now (None if the row is gone)."""
        appeal_id = _appeal_id(self.connection, appeal_slug)
        transfers = self._transfers().subquery()
        after = 0
        while True:
            rows = self.connection.execute(
                select(ledger_chain.c.seq, ledger_chain.c.transfer_id, ledger_chain.c.prev_hash,
                       ledger_chain.c.hash, ledger_chain.c.sealed_at, *transfers.c)
                .outerjoin(transfers, transfers.c.id == ledger_chain.c.transfer_id)
                .where(ledger_chain.c.appeal_id == appeal_id, ledger_chain.c.seq > after)
                .order_by(ledger_chain.c.seq).limit(batch_size)).all()
            for row in rows:
                yield _entry(appeal_slug, row), (_sealed_transfer(row) if row.id is not None else None)
            if len(rows) < batch_size:
                return
            after = rows[-1].seq

    def entry_for_transfer(self, transfer_id: int) -> ChainEntry | None:
        row = self.connection.execute(
            select(ledger_chain, appeals.c.slug).join(appeals, appeals.c.id == ledger_chain.c.appeal_id)
            .where(ledger_chain.c.transfer_id == transfer_id)).first()
        return _entry(row.slug, row) if row else None

    def daily_heads(self, appeal_slug: str, days: int = 31) -> list[tuple[date, ChainEntry]]:
        """The last entry sealed on each UTC day, newest day first: one index seek per day shown."""
        appeal_id = _appeal_id(self.connection, appeal_slug)
        heads: list[tuple[date, ChainEntry]] = []
        before: datetime | None = None
        while len(heads) < days:
            query = select(ledger_chain).where(ledger_chain.c.appeal_id == appeal_id)
            if before is not None:
                query = query.where(ledger_chain.c.sealed_at < before)
            row = self.connection.execute(
                query.order_by(ledger_chain.c.sealed_at.desc(), ledger_chain.c.seq.desc()).limit(1)).first()
            if row is None:
                break
            entry = _entry(appeal_slug, row)
            day = entry.sealed_at.astimezone(UTC).date()
            heads.append((day, entry))
            before = datetime.combine(day, time.min, tzinfo=UTC)
        return heads
