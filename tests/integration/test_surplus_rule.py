"""The surplus rule as explicit ledger allocations, on both stores."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from everypenny.domain.appeal import Channel
from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
from everypenny.service_layer.ledger import record_transfer
from everypenny.service_layer.money_out import allocate_surplus, fund_balances

_slugs = itertools.count()


@pytest.fixture
def appeal_with_target(load_seed_variant):
    def load(target_pence: int | None, slug: str = "sun-ukraine-fund") -> str:
        return load_seed_variant(slug=slug, surplus={"restricted_target_pence": target_pence}).slug

    return load


def give(platform, slug: str, key: str, pence: int, phase: Phase = Phase.SINGLE):
    return record_transfer(platform.uow(), TransferRequest(
        f"donation:{slug}:{key}", slug, AccountCode.receivable(Channel.ONLINE), AccountCode.RESTRICTED_FUND, pence,
        "GBP", TransferKind.DONATION, phase=phase, reference=key))


def refund(platform, slug: str, key: str, pence: int) -> None:
    record_transfer(platform.uow(), TransferRequest(
        f"refund:{slug}:{key}", slug, AccountCode.RESTRICTED_FUND, AccountCode.receivable(Channel.ONLINE), pence,
        "GBP", TransferKind.REFUND, reference=key))


def funds(platform, slug):
    with platform.uow() as uow:
        return fund_balances(uow, slug)


def test_money_beyond_the_target_moves_to_the_surplus_fund_in_the_tcs_words(platform, appeal_with_target):
    slug = appeal_with_target(100_000)
    give(platform, slug, "a", 80_000)
    give(platform, slug, "b", 50_000)

    result = allocate_surplus(platform.uow, slug)

    assert result.moved_pence == 30_000
    assert (result.funds.restricted_pence, result.funds.surplus_pence) == (100_000, 30_000)
    with platform.uow() as uow:
        allocation = uow.ledger.get(f"allocation:{slug}:1")
    assert allocation.kind is TransferKind.ALLOCATION
    assert (allocation.debit, allocation.credit) == (AccountCode.RESTRICTED_FUND, AccountCode.SURPLUS_FUND)
    assert "target of £1,000, allocated to the Disaster Fund" in allocation.description
    assert "any surplus funds will be used to help them prepare for" in allocation.description


def test_allocating_twice_moves_nothing_more(platform, appeal_with_target):
    slug = appeal_with_target(1_000)
    give(platform, slug, "a", 3_000)

    assert allocate_surplus(platform.uow, slug).moved_pence == 2_000
    assert allocate_surplus(platform.uow, slug).moved_pence == 0
    with platform.uow() as uow:
        assert uow.proof.count_transfers(slug, TransferKind.ALLOCATION) == 1


def test_pending_money_is_never_allocated(platform, appeal_with_target):
    slug = appeal_with_target(1_000)
    give(platform, slug, "a", 1_000)
    give(platform, slug, "texted", 500, phase=Phase.PENDING)

    assert allocate_surplus(platform.uow, slug).moved_pence == 0


def test_without_a_target_everything_stays_restricted(platform, appeal_with_target):
    slug = appeal_with_target(None)
    give(platform, slug, "a", 1_000_000)

    assert allocate_surplus(platform.uow, slug).moved_pence == 0


def test_refunds_below_the_target_bring_surplus_money_back(platform, appeal_with_target):
    slug = appeal_with_target(1_000)
    give(platform, slug, "a", 1_000)
    give(platform, slug, "b", 500)
    allocate_surplus(platform.uow, slug)
    refund(platform, slug, "a", 300)

    result = allocate_surplus(platform.uow, slug)

    assert result.moved_pence == -300
    assert (result.funds.restricted_pence, result.funds.surplus_pence) == (1_000, 200)


def test_the_worker_applies_the_rule_without_a_command(platform, appeal_with_target):
    slug = appeal_with_target(1_000)
    give(platform, slug, "a", 1_500)

    platform.worker().run_due_jobs()

    assert funds(platform, slug).surplus_pence == 500


operations = st.lists(st.one_of(
    st.tuples(st.just("give"), st.integers(1, 5_000)),
    st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),  # which gift, percentage
    st.tuples(st.just("allocate")),
), max_size=10)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.integers(0, 10_000), steps=operations)
def test_after_any_donations_refunds_and_allocations_the_rule_holds(platform, appeal_with_target, target, steps):
    slug = appeal_with_target(target, slug=f"property-{next(_slugs)}")
    refundable: list[tuple[str, int]] = []
    for number, step in enumerate(steps):
        if step[0] == "give":
            give(platform, slug, f"g{number}", step[1])
            refundable.append((f"g{number}", step[1]))
        elif step[0] == "refund" and refundable:
            key, pence = refundable.pop(step[1] % len(refundable))
            refund(platform, slug, key, max(1, pence * step[2] // 100))
        else:
            allocate_surplus(platform.uow, slug)
    allocate_surplus(platform.uow, slug)

    after = funds(platform, slug)
    with platform.uow() as uow:
        net_raised = uow.ledger.totals(slug).raised_pence
    assert after.restricted_pence + after.surplus_pence == net_raised
    assert after.surplus_pence >= 0
    if net_raised > target:
        assert after.restricted_pence == target
    else:
        assert after.surplus_pence == 0


def test_allocate_on_the_command_line(cli, platform, appeal_with_target):
    slug = appeal_with_target(1_000)
    give(platform, slug, "a", 1_250)

    first = cli("allocate", "--appeal", slug)
    again = cli("allocate", "--appeal", slug)
    unknown = cli("allocate", "--appeal", "nope")

    assert first.exit_code == 0
    assert "moved £2.50 to the surplus fund; restricted £10, surplus £2.50" in first.output
    assert "nothing to move" in again.output
    assert unknown.exit_code == 2 and "'nope'" in unknown.output


def test_allocate_says_when_the_appeal_sets_no_target(cli, platform, appeal_with_target):
    slug = appeal_with_target(None)

    assert "sets no surplus.restricted_target_pence, so nothing moves" in cli("allocate", "--appeal", slug).output
