"""The ledger's hash chain: every transfer, once sealed, is committed to by all the entries after it.

Transfers are inserted concurrently and never wait for the chain; a sealer later appends each unsealed
transfer to its appeal's chain. An entry's hash covers every stored field of its transfer (as canonical
JSON) and the previous entry's hash, so changing, removing or reordering any sealed transfer breaks the
chain from that entry on, and a published chain head pins everything before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

GENESIS_HASH = "0" * 64

# A transfer younger than this may simply not have been sealed yet; older and unsealed is reported.
DEFAULT_SEAL_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class SealedTransfer:
    """Every stored field of a ledger transfer, as the chain commits to it."""

    id: int
    idempotency_key: str
    fingerprint: str
    appeal: str
    debit: str
    credit: str
    amount_pence: int
    currency: str
    kind: str
    phase: str
    pending_id: int | None
    reference: str | None
    description: str
    created_at: datetime

    def canonical_json(self) -> bytes:
        """Sorted keys, no spaces, UTF-8 and UTC timestamps to the microsecond: one text per transfer."""
        fields = asdict(self)
        fields["created_at"] = self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(seq: int, prev_hash: str, transfer: SealedTransfer) -> str:
    """SHA-256 over the entry's position, the previous hash and the transfer's canonical JSON."""
    digest = hashlib.sha256()
    digest.update(f"everypenny-chain-v1\n{transfer.appeal}\n{seq}\n{prev_hash}\n".encode())
    digest.update(transfer.canonical_json())
    return digest.hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    appeal: str
    seq: int
    transfer_id: int
    prev_hash: str
    hash: str
    sealed_at: datetime


def seal(appeal: str, head: ChainEntry | None, transfers: list[SealedTransfer],
         sealed_at: datetime) -> list[ChainEntry]:
    """The entries that append `transfers` (in the given order) after `head`."""
    entries: list[ChainEntry] = []
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    for transfer in transfers:
        if transfer.appeal != appeal:
            raise ValueError(f"transfer {transfer.id} belongs to appeal {transfer.appeal!r}, not {appeal!r}")
        seq += 1
        digest = entry_hash(seq, prev_hash, transfer)
        entries.append(ChainEntry(appeal, seq, transfer.id, prev_hash, digest, sealed_at))
        prev_hash = digest
    return entries


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    transfer_id: int
    reason: str

    def __str__(self) -> str:
        transfer = f" (transfer {self.transfer_id})" if self.transfer_id else ""
        return f"chain entry {self.seq}{transfer}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    appeal: str
    entries_checked: int
    head: ChainEntry | None
    breaks: list[ChainBreak] = field(default_factory=list)
    unsealed_overdue: list[int] = field(default_factory=list)  # transfer ids older than the grace period
    unsealed_recent: int = 0

    @property
    def intact(self) -> bool:
        return not self.breaks and not self.unsealed_overdue

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None


class ChainVerifier:
    """Checks a chain entry by entry, in seq order, so a long chain streams through in batches.

    Each entry comes with its transfer's row as stored now (None when the row is gone); every hash is
    recomputed from that row and every link checked against the entry before it. `published` holds
    heads published earlier (seq -> hash): a chain rewritten from its first entry on is consistent with
    itself, but no longer with what was published.
    """

    def __init__(self, appeal: str, published: Mapping[int, str] | None = None) -> None:
        self.appeal = appeal
        self.published = dict(published or {})
        self.entries_checked = 0
        self.head: ChainEntry | None = None
        self.breaks: list[ChainBreak] = []
        self._expected_prev = GENESIS_HASH

    def check(self, entry: ChainEntry, transfer: SealedTransfer | None) -> None:
        position = self.entries_checked + 1
        if entry.seq != position:
            self._break(entry, f"expected entry {position} here: entries are missing or out of order")
        elif entry.prev_hash != self._expected_prev:
            self._break(entry, "its previous-hash link does not match the entry before it")
        elif transfer is None:
            self._break(entry, "its transfer has been removed from the ledger")
        elif transfer.appeal != self.appeal or entry_hash(entry.seq, entry.prev_hash, transfer) != entry.hash:
            self._break(entry, "its transfer no longer matches the hash sealed for it: it was altered")
        elif self.published.get(entry.seq, entry.hash) != entry.hash:
            self._break(entry, "its hash differs from the one published for it: the chain was rewritten")
        self.entries_checked += 1
        self._expected_prev = entry.hash
        self.head = entry

    def _break(self, entry: ChainEntry, reason: str) -> None:
        self.breaks.append(ChainBreak(entry.seq, entry.transfer_id, reason))

    def result(self, unsealed: list[tuple[int, datetime]], now: datetime,
               grace: timedelta = DEFAULT_SEAL_GRACE) -> Verification:
        """`unsealed`: (id, created_at) of the appeal's transfers no entry names."""
        overdue = sorted(transfer_id for transfer_id, created_at in unsealed if now - created_at > grace)
        self.breaks.extend(
            ChainBreak(seq, 0, f"a head was published for entry {seq} but the chain ends at {self.entries_checked}")
            for seq in sorted(self.published) if seq > self.entries_checked)
        return Verification(self.appeal, self.entries_checked, self.head, self.breaks, overdue,
                            len(unsealed) - len(overdue))
