"""The dashboard's rollups (kept by triggers) always equal a scan of the donations themselves, on both stores."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db.schema import appeals, donations
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation, DonationStatus, new_reference
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.desk_ports import DonationGroup, TimeBucket
from tests.conftest import SEED_APPEAL

START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
moments = st.integers(0, 6 * 3600).map(lambda seconds: START + timedelta(seconds=seconds, microseconds=seconds * 7))
reasons = st.sampled_from([None, "insufficient credit", "premium barred", "card declined"])


def scanned_groups(platform, slug: str) -> list[DonationGroup]:
    """The dashboard's groups counted from every donation row, as the rollups must agree with."""
    with platform.uow() as uow:
        rows = uow.connection.execute(select(donations).join(appeals, appeals.c.id == donations.c.appeal_id)
                                      .where(appeals.c.slug == slug)).all()
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        key = (row.channel, row.status, row.keyword, row.amount_pence if row.keyword else None, row.failure_reason)
        for index, value in enumerate((1, row.amount_pence, row.paid_pence, row.refunded_pence)):
            sums[key][index] += value
    return sorted((DonationGroup(*key, *values) for key, values in sums.items()), key=repr)


def scanned_minutes(platform, slug: str) -> list[TimeBucket]:
    with platform.uow() as uow:
        created = uow.connection.scalars(select(donations.c.created_at).join(
            appeals, appeals.c.id == donations.c.appeal_id).where(appeals.c.slug == slug)).all()
    counted = Counter(moment.replace(second=0, microsecond=0) for moment in created)
    return [TimeBucket(minute, count) for minute, count in sorted(counted.items())]


def test_rollups_equal_a_scan_of_the_donations_after_any_gifts_and_changes(platform):
    appeal, definition = load_appeal_file(SEED_APPEAL)
    slugs = (f"rollup-property-{n}" for n in itertools.count())

    class Desk(RuleBasedStateMachine):
        pending = Bundle("pending")
        paid = Bundle("paid")

        def __init__(self) -> None:
            super().__init__()
            self.slug = next(slugs)
            load_appeal(platform.uow(), dataclasses.replace(appeal, slug=self.slug),
                        {**definition, "slug": self.slug}, "property test")

        def store(self, donation: Donation, new: bool = False) -> Donation:
            with platform.uow() as uow:
                uow.donations.add(donation) if new else uow.donations.save(donation)
                uow.commit()
            return donation

        @rule(target=pending, channel=st.sampled_from(list(Channel)), amount=st.sampled_from([300, 500, 1000, 2000]),
              at=moments)
        def a_gift_arrives(self, channel, amount, at):
            texted = channel is not Channel.ONLINE
            return self.store(Donation(new_reference(), self.slug, channel, amount, "GBP", at,
                                       keyword="SUN" if texted else None), new=True)

        @rule(target=paid, donation=consumes(pending), share=st.sampled_from([1, 2]), reason=reasons)
        def its_charges_are_reported(self, donation, share, reason):
            return self.store(donation.settled(donation.amount_pence // share, reason))

        @rule(donation=consumes(pending), reason=reasons)
        def its_charge_fails(self, donation, reason):
            self.store(donation.settled(0, reason))

        @rule(donation=consumes(paid), pence=st.integers(1, 2000))
        def some_is_refunded(self, donation, pence):
            self.store(donation.refunded(min(pence, donation.net_pence)))

        @invariant()
        def the_rollups_match_the_donations(self):
            with platform.uow() as uow:
                groups = sorted(uow.reporting.donation_groups(self.slug), key=repr)
                minutes = uow.reporting.donations_per_bucket(self.slug, START, 60)
            assert groups == scanned_groups(platform, self.slug)
            assert minutes == scanned_minutes(platform, self.slug)
            assert {group.status for group in groups} <= {status.value for status in DonationStatus}

    run_state_machine_as_test(Desk, settings=settings(
        max_examples=10, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


def test_one_statement_that_adds_or_changes_many_donations_keeps_the_rollups_exact(platform, seed_appeal):
    """A bulk load (one INSERT of many rows) and a bulk correction (one UPDATE of many rows)."""
    slug = seed_appeal.slug
    with platform.uow() as uow:
        appeal_id = uow.connection.scalar(select(appeals.c.id).where(appeals.c.slug == slug))
        uow.connection.execute(donations.insert().values([
            dict(reference=f"EP-BULK{n:06d}", appeal_id=appeal_id, channel="carrier_sms", status="pending",
                 amount_pence=(300, 500, 1000)[n % 3], paid_pence=0, refunded_pence=0, currency="GBP",
                 keyword="SUN", marketing_consent=False, metadata="{}", created_at=START + timedelta(seconds=n * 13),
                 updated_at=START)
            for n in range(200)]))
        uow.connection.execute(donations.update().where(donations.c.amount_pence == 500)
                               .values(status="failed", failure_reason="insufficient credit"))
        uow.connection.execute(donations.update().where(donations.c.amount_pence == 1000)
                               .values(status="paid", paid_pence=1000))
        uow.connection.execute(donations.update().values(updated_at=START + timedelta(days=1)))  # changes no group
        uow.commit()

    with platform.uow() as uow:
        groups = sorted(uow.reporting.donation_groups(slug), key=repr)
        minutes = uow.reporting.donations_per_bucket(slug, START, 60)
    assert groups == scanned_groups(platform, slug)
    assert [(group.status, group.count) for group in groups] == [("failed", 67), ("paid", 66), ("pending", 67)]
    assert minutes == scanned_minutes(platform, slug)
