"""Appeals: finding one by its slug, and loading a definition (idempotent; every change to a live definition is
recorded)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from everypenny.domain.appeal import UK_TIME, Appeal, AppealStatus
from everypenny.domain.appeal_lifecycle import TransitionRefused, check_transition
from everypenny.domain.donation import Donation
from everypenny.domain.going_live import check_ready
from everypenny.domain.ledger import chart_of_accounts
from everypenny.domain.national import check_share_history
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork


def appeal_of(tx: Transaction, donation: Donation) -> Appeal:
    """The appeal a stored donation was given to: appeals are never deleted, so it is always there."""
    stored = tx.appeals.get(donation.appeal)
    assert stored is not None
    return stored.appeal


class UnknownAppeal(LookupError):
    """No appeal has this slug: the one refusal every use case, page, API route and command gives for it."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"no appeal has the slug {slug!r}")
        self.slug = slug


class UnknownPartner(LookupError):
    """The appeal has no media partner with this slug: a partner's page link with a mistake in it."""

    def __init__(self, appeal: Appeal, slug: str) -> None:
        super().__init__(f"{appeal.name} has no media partner {slug!r}")
        self.slug = slug


def stored_appeal(tx: Transaction, slug: str) -> Appeal:
    """The appeal with this slug, read in the caller's open unit of work; UnknownAppeal when there is none."""
    stored = tx.appeals.get(slug)
    if stored is None:
        raise UnknownAppeal(slug)
    return stored.appeal


@dataclass(frozen=True)
class LoadResult:
    slug: str
    outcome: str  # "created", "updated" or "unchanged"
    changed_keys: list[str]


def definition_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def changed_keys(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ, so the change log says what an edit touched."""
    keys: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            keys.extend(changed_keys(old, new, f"{path}."))
        elif old != new:
            keys.append(path)
    return keys


class CurrencyChangeRefused(ValueError):
    pass


class StatusChangeRefused(ValueError):
    """A file would move an appeal backwards (e.g. reopen one the desk closed)."""


def load_appeal(uow: UnitOfWork, appeal: Appeal, definition: dict[str, Any], source: str,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> LoadResult:
    """Creates or updates the appeal. A live one must first have everything a live appeal needs
    (domain/going_live.py); SharesChangeRefused (naming `source`) when a live or closed appeal's file would
    rewrite member shares already in force (a draft takes no money, so its shares may still change)."""
    check_ready(appeal, source)
    new_hash = definition_hash(definition)
    with uow:
        stored = uow.appeals.get(appeal.slug)
        if stored is not None and stored.definition_hash == new_hash:
            return LoadResult(appeal.slug, "unchanged", [])
        if stored is not None and stored.appeal.currency != appeal.currency:
            raise CurrencyChangeRefused(
                f"{source}: currency: appeal {appeal.slug} already keeps its ledger in "
                f"{stored.appeal.currency}; a new currency needs a new appeal")
        if stored is not None and stored.appeal.status is not appeal.status:
            try:
                check_transition(appeal.slug, stored.appeal.status, appeal.status)
            except TransitionRefused as error:
                raise StatusChangeRefused(
                    f"{source}: status: {error}; to change anything else, set "
                    f'status = "{stored.appeal.status.value}" in the file') from None
        if stored is not None and stored.appeal.status is not AppealStatus.DRAFT:
            check_share_history(stored.appeal.effective_shares, appeal.effective_shares,
                                clock().astimezone(UK_TIME).date(), source)
        keys = changed_keys(stored.definition, definition) if stored else []
        uow.appeals.save(appeal, definition, new_hash)
        uow.ledger.ensure_accounts(appeal.slug, appeal.currency, chart_of_accounts(appeal))
        uow.appeals.record_change(appeal.slug, source, stored.definition_hash if stored else None,
                                  new_hash, keys)
        uow.commit()
    return LoadResult(appeal.slug, "updated" if stored else "created", keys)
