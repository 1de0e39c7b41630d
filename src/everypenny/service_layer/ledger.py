"""Recording transfers: idempotent, two-phase, safe when two writers race on the same key."""

from __future__ import annotations

from everypenny.domain.ledger import IdempotencyConflict, Transfer, TransferRequest, check_resolution
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import UnitOfWork


def apply_transfer(uow: UnitOfWork, request: TransferRequest) -> Transfer:
    """Records `request` inside the caller's unit of work, or returns the transfer it replays.

    Raises DuplicateKey when another writer took the key or resolved the pending transfer first;
    the caller rolls back and tries again, and the retry then sees what the other writer stored.
    """
    existing, pending, pending_resolved = uow.ledger.with_pending(request.idempotency_key, request.pending_key)
    if existing is not None:
        if existing.fingerprint != request.fingerprint:
            raise IdempotencyConflict(request.idempotency_key)
        return existing
    pending_id = None
    if request.pending_key is not None:
        check_resolution(pending, request, pending_resolved)
        pending_id = pending.id
    return uow.ledger.add(request, pending_id)


def record_transfer(uow: UnitOfWork, request: TransferRequest, attempts: int = 3) -> Transfer:
    for attempt in range(attempts):
        try:
            with uow:
                transfer = apply_transfer(uow, request)
                uow.commit()
                return transfer
        except DuplicateKey:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
