"""Read-side queries for pages, the API and the command line (cosmicpython's views.py): what a screen shows,
read in one unit of work, with no rule applied and nothing changed. Entrypoints read storage only through
these, the desk's reports (desk.py) and the use cases; none reaches a repository itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from everypenny.domain.appeal import Appeal
from everypenny.domain.chain import ChainEntry
from everypenny.domain.donation import Donation
from everypenny.domain.gift_aid import GiftAidDeclaration
from everypenny.domain.ledger import AppealTotals
from everypenny.domain.text_giving import SmsCharge
from everypenny.service_layer.appeals import stored_appeal
from everypenny.service_layer.online_ports import Checkout
from everypenny.service_layer.ports import AppealChange
from everypenny.service_layer.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AppealFigures:
    """An appeal and its posted totals, as its public pages and the totals API show them."""

    appeal: Appeal
    totals: AppealTotals


@dataclass(frozen=True)
class AppealRecord:
    """An appeal's definition, ledger balances by account ((posted, pending) pence) and change history."""

    appeal: Appeal
    balances: dict[str, tuple[int, int]]
    changes: list[AppealChange]


@dataclass(frozen=True)
class DonorDonation:
    """What a donor's own pages show of their gift: the donation, its appeal, any Gift Aid declaration and the
    card checkout it was paid through (None for a text gift)."""

    donation: Donation
    appeal: Appeal
    declaration: GiftAidDeclaration | None
    checkout: Checkout | None


def check_store(uow: UnitOfWork) -> None:
    """Raises unless the store answers a query: the health check's one question."""
    with uow:
        uow.outbox.depth()


def outbox_lag_s(uow: UnitOfWork, moment: datetime) -> float:
    """Seconds the longest-due outbox task has waited for a worker (0 when none is due); raises unless the
    store answers: readiness's two questions in one query."""
    with uow:
        oldest = uow.outbox.oldest_due()
    return max((moment - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


def appeal_figures(uow: UnitOfWork, slug: str) -> AppealFigures:
    """UnknownAppeal when no appeal has the slug."""
    with uow:
        return AppealFigures(stored_appeal(uow, slug), uow.ledger.totals(slug))


@dataclass(frozen=True)
class PartnerFigures:
    """What one media partner's call to action has raised: posted pence less refunds, and the gifts that paid."""

    slug: str
    name: str
    raised_pence: int
    donors: int


def appeal_figures_by_partner(uow: UnitOfWork, slug: str) -> tuple[AppealFigures, list[PartnerFigures]]:
    """The appeal's figures and each of its partners' (in the appeal's order), read together; UnknownAppeal."""
    with uow:
        appeal = stored_appeal(uow, slug)
        sums = uow.reporting.partner_sums(slug)
        partners = [PartnerFigures(p.slug, p.name, *sums.get(p.slug, (0, 0))) for p in appeal.effective_partners]
        return AppealFigures(appeal, uow.ledger.totals(slug)), partners


def every_appeals_figures(uow: UnitOfWork) -> list[AppealFigures]:
    with uow:
        return [AppealFigures(stored.appeal, uow.ledger.totals(stored.appeal.slug)) for stored in uow.appeals.list()]


def appeal_record(uow: UnitOfWork, slug: str) -> AppealRecord:
    """UnknownAppeal when no appeal has the slug."""
    with uow:
        return AppealRecord(stored_appeal(uow, slug), uow.ledger.balances(slug), uow.appeals.changes(slug))


def donation(uow: UnitOfWork, reference: str) -> Donation | None:
    with uow:
        return uow.donations.get(reference)


def donor_donation(uow: UnitOfWork, reference: str) -> DonorDonation | None:
    """None when no donation has the reference."""
    with uow:
        found = uow.donations.get(reference)
        if found is None:
            return None
        return DonorDonation(found, stored_appeal(uow, found.appeal), uow.gift_aid.for_donation(reference),
                             uow.checkouts.by_reference(reference))


def latest_donations(uow: UnitOfWork, slug: str, limit: int) -> list[tuple[Donation, list[SmsCharge]]]:
    """An appeal's newest donations, each with the charges its text became (none for a card gift).
    UnknownAppeal when no appeal has the slug."""
    with uow:
        stored_appeal(uow, slug)
        return [(found, uow.texts.charges_for(found.reference)) for found in uow.donations.latest(slug, limit)]


def chain_heads(uow: UnitOfWork, slug: str) -> list[tuple[date, ChainEntry]]:
    """The last ledger-chain entry of each recent day, newest first. UnknownAppeal when no appeal has the slug."""
    with uow:
        stored_appeal(uow, slug)
        return uow.chain.daily_heads(slug)
