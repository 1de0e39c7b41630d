"""Stateful property tests: any sequence of ledger operations keeps the books balanced and honest."""

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain.appeal import Channel
from everypenny.domain.ledger import (
    AccountCode,
    IdempotencyConflict,
    PendingAlreadyResolved,
    Phase,
    TransferKind,
    TransferRequest,
)
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.ledger import record_transfer
from tests.conftest import SEED_APPEAL

amounts = st.integers(min_value=1, max_value=2_000_000)
channels = st.sampled_from(list(Channel))


def test_any_sequence_of_operations_keeps_the_ledger_balanced(platform):
    appeal, definition = load_appeal_file(SEED_APPEAL)
    slugs = (f"ledger-property-{n}" for n in itertools.count())

    class Ledger(RuleBasedStateMachine):
        recorded = Bundle("recorded")
        pendings = Bundle("pendings")
        resolved = Bundle("resolved")
        singles = Bundle("singles")

        def __init__(self) -> None:
            super().__init__()
            self.slug = next(slugs)
            load_appeal(platform.uow(), dataclasses.replace(appeal, slug=self.slug),
                        {**definition, "slug": self.slug}, "property test")
            self.keys = (f"{self.slug}:{n}" for n in itertools.count())
            self.raised = 0
            self.pending = 0

        def request(self, amount: int, channel: Channel, phase: Phase) -> TransferRequest:
            key = next(self.keys)
            return TransferRequest(key, self.slug, AccountCode.receivable(channel), AccountCode.RESTRICTED_FUND,
                                   amount, "GBP", TransferKind.DONATION, phase, reference=key)

        @rule(target=singles, amount=amounts, channel=channels)
        def donate(self, amount, channel):
            transfer = record_transfer(platform.uow(), self.request(amount, channel, Phase.SINGLE))
            self.raised += amount
            return transfer

        @rule(target=pendings, amount=amounts, channel=channels)
        def text_arrives(self, amount, channel):
            transfer = record_transfer(platform.uow(), self.request(amount, channel, Phase.PENDING))
            self.pending += amount
            return transfer

        @rule(target=resolved, pending=consumes(pendings), share=st.floats(0, 1))
        def charge_report_posts(self, pending, share):
            amount = max(1, int(pending.amount_pence * share))
            record_transfer(platform.uow(), TransferRequest.post(pending, next(self.keys), amount))
            self.pending -= pending.amount_pence
            self.raised += amount
            return pending

        @rule(target=resolved, pending=consumes(pendings))
        def charge_report_voids(self, pending):
            record_transfer(platform.uow(), TransferRequest.void(pending, next(self.keys)))
            self.pending -= pending.amount_pence
            return pending

        @rule(pending=resolved)
        def a_second_report_is_refused(self, pending):
            with pytest.raises(PendingAlreadyResolved):
                record_transfer(platform.uow(), TransferRequest.void(pending, next(self.keys)))

        @rule(donation=consumes(singles))
        def refund(self, donation):
            record_transfer(platform.uow(), donation.reversal(next(self.keys), TransferKind.REFUND))
            self.raised -= donation.amount_pence

        @rule(transfer=st.one_of(singles, pendings))
        def replay(self, transfer):
            replayed = record_transfer(platform.uow(), TransferRequest(**{
                f: getattr(transfer, f) for f in TransferRequest.__dataclass_fields__}))
            assert replayed.id == transfer.id

        @rule(transfer=st.one_of(singles, pendings), extra=st.integers(1, 100))
        def reuse_a_key_for_another_amount(self, transfer, extra):
            with pytest.raises(IdempotencyConflict):
                record_transfer(platform.uow(), dataclasses.replace(
                    TransferRequest(**{f: getattr(transfer, f) for f in TransferRequest.__dataclass_fields__}),
                    amount_pence=transfer.amount_pence + extra))

        @invariant()
        def totals_match_what_really_happened(self):
            with platform.uow() as uow:
                totals = uow.ledger.totals(self.slug)
                balances = uow.ledger.balances(self.slug)
            assert totals.raised_pence == self.raised
            assert totals.pending_pence == self.pending
            assert sum(posted for posted, _ in balances.values()) == 0
            assert sum(pending for _, pending in balances.values()) == 0

    # Rules that post, void or replay draw from bundles that start empty: Hypothesis discards those draws, and
    # with so few examples that now and then trips its filtering check (seen in a suite run), though nothing is wrong.
    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=12, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.filter_too_much]))
