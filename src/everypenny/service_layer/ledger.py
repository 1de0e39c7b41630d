"""Recording transfers: idempotent, two-phase, safe when two writers race on the same key."""

from __future__ import annotations

from collections.abc import Sequence

from everypenny.domain.ledger import IdempotencyConflict, Transfer, TransferRequest, check_resolution
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork


def apply_transfer(tx: Transaction, request: TransferRequest) -> Transfer:
    """Records `request` inside the caller's unit of work, or returns the transfer it replays.

    Raises DuplicateKey when another writer took the key or resolved the pending transfer first;
    the caller rolls back and tries again, and the retry then sees what the other writer stored.
    """
    return apply_transfers(tx, [request])[0]


def apply_transfers(tx: Transaction, requests: Sequence[TransferRequest]) -> list[Transfer]:
    """apply_transfer for many requests in two round trips (a batch of charge reports posts hundreds at once);
    a request resolving a pending transfer an earlier one in the same list resolved is refused likewise."""
    if not requests:
        return []
    found = tx.ledger.with_pending_many([(request.idempotency_key, request.pending_key) for request in requests])
    fingerprints = {key: answer.existing.fingerprint for key, answer in found.items() if answer.existing}
    new: list[tuple[TransferRequest, int | None]] = []
    resolving: set[str] = set()
    for request in requests:
        if request.idempotency_key in fingerprints:
            if fingerprints[request.idempotency_key] != request.fingerprint:
                raise IdempotencyConflict(request.idempotency_key)
            continue
        _, pending, pending_resolved = found[request.idempotency_key]
        pending_id = None
        if request.pending_key is not None:
            pending_id = check_resolution(pending, request, pending_resolved or request.pending_key in resolving).id
            resolving.add(request.pending_key)
        new.append((request, pending_id))
        fingerprints[request.idempotency_key] = request.fingerprint
    recorded = {key: answer.existing for key, answer in found.items() if answer.existing}
    recorded.update((transfer.idempotency_key, transfer) for transfer in tx.ledger.add_many(new))
    return [recorded[request.idempotency_key] for request in requests]


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
