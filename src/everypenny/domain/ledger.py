"""The double-entry ledger's rules, after TigerBeetle.

A transfer moves one amount from one account (debit) to another (credit), so it is balanced by construction
and the sum of all balances is always zero. Transfers are immutable and carry a client-chosen idempotency key.
Carrier billing needs two phases: a PENDING transfer reserves the donation when the text arrives, and a
later POST (in full or in part) or VOID resolves it exactly once, when the charge report says what happened.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from everypenny.domain.appeal import Appeal, Channel
from everypenny.domain.money import check_currency

MAX_IDEMPOTENCY_KEY_LENGTH = 255


class LedgerError(Exception):
    """A transfer the ledger refuses; nothing is written."""


class InvalidTransfer(LedgerError):
    pass


class IdempotencyConflict(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different transfer")
        self.key = key


class PendingNotFound(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no pending transfer has the key {key!r}")


class PendingAlreadyResolved(LedgerError):
    def __init__(self, key: str) -> None:
        super().__init__(f"pending transfer {key!r} was already posted or voided")


class UnknownAccount(LedgerError):
    def __init__(self, appeal: str, code: str) -> None:
        super().__init__(f"appeal {appeal!r} has no ledger account {code!r}")


class Phase(StrEnum):
    SINGLE = "single"  # posted at once
    PENDING = "pending"
    POST = "post"  # posts a pending transfer
    VOID = "void"  # releases a pending transfer

    @property
    def resolves_pending(self) -> bool:
        return self in (Phase.POST, Phase.VOID)

    @property
    def counts_as_posted(self) -> bool:
        return self in (Phase.SINGLE, Phase.POST)


class TransferKind(StrEnum):
    """Why money moved, so fee, refund and payout flows stay visible (as Open Collective does)."""

    DONATION = "donation"
    REFUND = "refund"
    DISPUTE = "dispute"
    SETTLEMENT = "settlement"
    FEE = "fee"
    ALLOCATION = "allocation"
    PAYOUT = "payout"
    REVERSAL = "reversal"


# Kinds that change how much an appeal has raised from donors.
RAISING_KINDS = frozenset({TransferKind.DONATION, TransferKind.REFUND, TransferKind.DISPUTE})


class AccountCode:
    """Names of an appeal's accounts. Debit-normal: receivables, bank, paid out. Credit-normal: funds."""

    BANK = "bank"
    RESTRICTED_FUND = "fund:restricted"
    SURPLUS_FUND = "fund:surplus"
    PAID_OUT = "paid_out:beneficiary"
    FEES_RECOVERABLE = "recoverable:fees"

    @staticmethod
    def member_fund(member_slug: str) -> str:
        """A national appeal's member charity's share, allocated from the restricted fund (domain/national.py)."""
        return f"fund:member:{member_slug}"

    @staticmethod
    def receivable(channel: Channel) -> str:
        return f"receivable:{channel.value}"

    @staticmethod
    def channel_of(code: str) -> Channel | None:
        """The channel whose receivable `code` is, if it is one."""
        prefix = "receivable:"
        return Channel(code.removeprefix(prefix)) if code.startswith(prefix) else None


def chart_of_accounts(appeal: Appeal) -> list[str]:
    return [
        *(AccountCode.receivable(channel) for channel in Channel),
        AccountCode.BANK,
        AccountCode.RESTRICTED_FUND,
        AccountCode.SURPLUS_FUND,
        AccountCode.PAID_OUT,
        AccountCode.FEES_RECOVERABLE,
        *(AccountCode.member_fund(member.slug) for member in appeal.members),
    ]


@dataclass(frozen=True)
class TransferRequest:
    """What a caller asks the ledger to do. Same key + same request = the original transfer comes back."""

    idempotency_key: str
    appeal: str
    debit: str
    credit: str
    amount_pence: int
    currency: str
    kind: TransferKind
    phase: Phase = Phase.SINGLE
    pending_key: str | None = None
    reference: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not 0 < len(self.idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
            raise InvalidTransfer(f"idempotency key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} characters")
        if isinstance(self.amount_pence, bool) or not isinstance(self.amount_pence, int):
            raise InvalidTransfer(f"amount must be whole pence, got {self.amount_pence!r}")
        if self.amount_pence <= 0:
            raise InvalidTransfer(f"amount must be positive, got {self.amount_pence}")
        if self.debit == self.credit:
            raise InvalidTransfer(f"debit and credit are the same account {self.debit!r}")
        try:
            check_currency(self.currency)
        except ValueError as error:
            raise InvalidTransfer(str(error)) from error
        if self.phase.resolves_pending != (self.pending_key is not None):
            raise InvalidTransfer("a pending key is given exactly when posting or voiding a pending transfer")

    @property
    def fingerprint(self) -> str:
        """Hash of everything the caller asked for: a replay must match it to be a replay."""
        fields = {
            "appeal": self.appeal, "debit": self.debit, "credit": self.credit,
            "amount_pence": self.amount_pence, "currency": self.currency, "kind": self.kind.value,
            "phase": self.phase.value, "pending_key": self.pending_key, "reference": self.reference,
        }
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    @classmethod
    def post(cls, pending: Transfer, key: str, amount_pence: int | None = None,
             description: str = "") -> TransferRequest:
        """Posts a pending transfer, in full by default or in part."""
        return cls(
            idempotency_key=key, appeal=pending.appeal, debit=pending.debit, credit=pending.credit,
            amount_pence=pending.amount_pence if amount_pence is None else amount_pence,
            currency=pending.currency, kind=pending.kind, phase=Phase.POST,
            pending_key=pending.idempotency_key, reference=pending.reference, description=description)

    @classmethod
    def void(cls, pending: Transfer, key: str, description: str = "") -> TransferRequest:
        return cls(
            idempotency_key=key, appeal=pending.appeal, debit=pending.debit, credit=pending.credit,
            amount_pence=pending.amount_pence, currency=pending.currency, kind=pending.kind,
            phase=Phase.VOID, pending_key=pending.idempotency_key, reference=pending.reference,
            description=description)

    def reversal(self, key: str, kind: TransferKind = TransferKind.REVERSAL,
                 description: str = "") -> TransferRequest:
        """A correction is a new transfer the other way; posted transfers are never edited."""
        return TransferRequest(
            idempotency_key=key, appeal=self.appeal, debit=self.credit, credit=self.debit,
            amount_pence=self.amount_pence, currency=self.currency, kind=kind,
            reference=self.reference, description=description)


@dataclass(frozen=True)
class Transfer(TransferRequest):
    """A transfer as stored: the request plus the ledger's own sequence number."""

    id: int = 0

    @classmethod
    def from_request(cls, request: TransferRequest, id: int) -> Transfer:
        return cls(**{f: getattr(request, f) for f in TransferRequest.__dataclass_fields__}, id=id)


def check_resolution(pending: Transfer | None, resolution: TransferRequest, already_resolved: bool) -> Transfer:
    """The Python half of the two-phase rules; the database enforces the same ones. Returns the pending
    transfer `resolution` may resolve."""
    assert resolution.pending_key is not None
    if pending is None or pending.phase is not Phase.PENDING:
        raise PendingNotFound(resolution.pending_key)
    if already_resolved:
        raise PendingAlreadyResolved(resolution.pending_key)
    if (resolution.debit, resolution.credit, resolution.currency, resolution.appeal) != (
            pending.debit, pending.credit, pending.currency, pending.appeal):
        raise InvalidTransfer("a post or void must move between the pending transfer's own accounts")
    if resolution.amount_pence > pending.amount_pence:
        raise InvalidTransfer(
            f"cannot post {resolution.amount_pence} against a pending {pending.amount_pence}")
    if resolution.phase is Phase.VOID and resolution.amount_pence != pending.amount_pence:
        raise InvalidTransfer("a void releases the whole pending amount")
    return pending


@dataclass(frozen=True)
class AppealTotals:
    currency: str
    raised_pence: int
    pending_pence: int
    donation_count: int
    by_channel: dict[str, int]
    pending_by_channel: dict[str, int]
