"""Sealing the ledger into its hash chain and verifying it: the proof that no transfer was changed.

Writers of transfers never touch the chain, so the hot insert path is not serialised on it; sealing runs
in the outbox worker (and `everypenny ledger seal`), one transaction per batch, with the appeal's chain
head locked so concurrent sealers queue behind each other instead of forking the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from everypenny.domain import chain
from everypenny.domain.chain import DEFAULT_SEAL_GRACE, ChainVerifier, Verification
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import UnitOfWork

SEAL_BATCH_SIZE = 500
MAX_SEAL_CONFLICTS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


def appeal_slugs(uow_factory: Callable[[], UnitOfWork]) -> list[str]:
    with uow_factory() as uow:
        return [stored.appeal.slug for stored in uow.appeals.list()]


def seal_appeal(uow_factory: Callable[[], UnitOfWork], slug: str, batch_size: int = SEAL_BATCH_SIZE,
                clock: Callable[[], datetime] = utc_now) -> int:
    """Appends every not-yet-sealed transfer of the appeal to its chain; returns how many it sealed."""
    sealed = conflicts = 0
    while True:
        try:
            with uow_factory() as uow:
                uow.chain.lock_head(slug)
                batch = uow.chain.unsealed(slug, batch_size)
                if not batch:
                    return sealed
                uow.chain.append(slug, chain.seal(slug, uow.chain.head(slug), batch, clock()))
                uow.commit()
        except DuplicateKey:
            # Only a store without a head lock gets here: another sealer won; start again from its head.
            conflicts += 1
            if conflicts >= MAX_SEAL_CONFLICTS:
                raise
            continue
        sealed += len(batch)
        if len(batch) < batch_size:
            return sealed


def seal_ledger(uow_factory: Callable[[], UnitOfWork], batch_size: int = SEAL_BATCH_SIZE) -> dict[str, int]:
    """Seals every appeal's chain: the worker's periodic job."""
    return {slug: seal_appeal(uow_factory, slug, batch_size) for slug in appeal_slugs(uow_factory)}


def verify_appeal(uow: UnitOfWork, slug: str, grace: timedelta = DEFAULT_SEAL_GRACE,
                  now: datetime | None = None) -> Verification:
    """Recomputes every hash of the appeal's chain from the transfers as they are stored now."""
    verifier = ChainVerifier(slug)
    for entry, transfer in uow.chain.walk(slug):
        verifier.check(entry, transfer)
    return verifier.result(uow.chain.unsealed_ages(slug), now or utc_now(), grace)
