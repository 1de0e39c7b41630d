"""A national appeal's split in the ledger, on both stores: allocations from the restricted fund to each member's
fund, by the shares in force on each gift's date, refunds coming back out by the same rule."""

import itertools
import tomllib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from everypenny.adapters.appeal_file import parse_definition
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation
from everypenny.domain.ledger import AccountCode, TransferKind, TransferRequest
from everypenny.domain.national import BASIS_POINTS
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.ledger import record_transfer
from everypenny.service_layer.money_out import allocate_all, allocate_to_members
from tests.conftest import ROOT

EXAMPLE = tomllib.loads((ROOT / "appeals" / "national-appeal-example.toml").read_text())
MEMBERS = ("harbour-aid", "fellside-relief", "riverbank-trust", "open-door-shelter")
_numbers = itertools.count()


def at(moment: str):
    return lambda: datetime.fromisoformat(moment).replace(tzinfo=UTC)


def load_national(platform, slug="national-appeal-example") -> str:
    appeal, definition = parse_definition({**EXAMPLE, "slug": slug}, "appeals/x.toml")
    load_appeal(platform.uow(), appeal, definition, "appeals/x.toml", clock=at("2026-12-20T12:00:00"))
    return slug


def give(platform, slug: str, pence: int, made: str = "2026-12-20T12:00:00") -> str:
    reference = f"EP-{next(_numbers):010d}"
    with platform.uow() as uow:
        uow.donations.add(Donation(reference, slug, Channel.ONLINE, pence, "GBP",
                                   datetime.fromisoformat(made).replace(tzinfo=UTC)).settled(pence))
        uow.commit()
    record_transfer(platform.uow(), TransferRequest(
        f"donation:{reference}", slug, AccountCode.receivable(Channel.ONLINE), AccountCode.RESTRICTED_FUND, pence,
        "GBP", TransferKind.DONATION, reference=reference))
    return reference


def refund(platform, slug: str, reference: str, pence: int) -> None:
    record_transfer(platform.uow(), TransferRequest(
        f"refund:{reference}:{next(_numbers)}", slug, AccountCode.RESTRICTED_FUND,
        AccountCode.receivable(Channel.ONLINE), pence, "GBP", TransferKind.REFUND, reference=reference))


def held(platform, slug: str) -> dict[str, int]:
    """What each member's fund holds, and what is left in the restricted fund."""
    with platform.uow() as uow:
        balances = uow.ledger.balances(slug)
    return {**{member: -balances[AccountCode.member_fund(member)][0] for member in MEMBERS},
            "restricted": -balances[AccountCode.RESTRICTED_FUND][0]}


def test_posted_money_is_moved_to_each_members_fund_by_its_share_and_again_moves_nothing(platform):
    slug = load_national(platform)
    give(platform, slug, 1001)

    moved = allocate_to_members(platform.uow, slug, at("2026-12-20T13:00:00"))

    assert moved == {"harbour-aid": 301, "fellside-relief": 250, "riverbank-trust": 250, "open-door-shelter": 200}
    assert held(platform, slug) == moved | {"restricted": 0}
    assert allocate_to_members(platform.uow, slug, at("2026-12-20T13:00:00")) == {}


def test_a_refund_comes_back_out_by_the_same_rule(platform):
    slug = load_national(platform)
    gift = give(platform, slug, 1004)
    allocate_to_members(platform.uow, slug, at("2026-12-20T13:00:00"))

    refund(platform, slug, gift, 3)
    moved = allocate_to_members(platform.uow, slug, at("2026-12-20T14:00:00"))

    # 1004p split 301/251/251/201; 1001p splits 301/250/250/200
    assert moved == {"fellside-relief": -1, "riverbank-trust": -1, "open-door-shelter": -1}
    assert held(platform, slug) == {"harbour-aid": 301, "fellside-relief": 250, "riverbank-trust": 250,
                                    "open-door-shelter": 200, "restricted": 0}


def test_gifts_are_split_by_the_shares_in_force_on_the_day_they_were_made(platform):
    slug = load_national(platform)
    before = give(platform, slug, 1001, made="2027-01-14T23:30:00")  # 23:30 GMT on the 14th: the first shares
    give(platform, slug, 1000, made="2027-01-15T00:30:00")  # the even shares began at midnight

    allocate_to_members(platform.uow, slug, at("2027-02-01T12:00:00"))
    assert held(platform, slug) == {"harbour-aid": 551, "fellside-relief": 500, "riverbank-trust": 500,
                                    "open-door-shelter": 450, "restricted": 0}

    refund(platform, slug, before, 1001)  # refunded in February, it leaves by December's shares
    allocate_to_members(platform.uow, slug, at("2027-02-02T12:00:00"))
    assert held(platform, slug) == dict.fromkeys(MEMBERS, 250) | {"restricted": 0}


def test_the_periodic_job_splits_national_appeals_and_leaves_single_partner_ones_alone(platform, seed_appeal):
    slug = load_national(platform)
    give(platform, slug, 500)

    assert allocate_all(platform.uow) == {slug: 500}


_slugs = (f"national-property-{n}" for n in itertools.count())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(1, 100_000), st.integers(0, 100), st.booleans()), min_size=1,
                      max_size=8))
def test_after_any_gifts_refunds_and_allocations_the_ledger_holds_the_split_exactly(platform, steps):
    slug = load_national(platform, next(_slugs))
    net = 0
    for pence, refunded_per_cent, allocate_now in steps:
        gift = give(platform, slug, pence)
        if refunded := pence * refunded_per_cent // 100:
            refund(platform, slug, gift, refunded)
        net += pence - refunded
        if allocate_now:
            allocate_to_members(platform.uow, slug, at("2026-12-21T12:00:00"))
    allocate_to_members(platform.uow, slug, at("2026-12-21T12:00:00"))

    funds = held(platform, slug)
    assert funds.pop("restricted") == 0 and sum(funds.values()) == net
    shares = EXAMPLE["shares"][0]["basis_points"]
    assert all(abs(pence * BASIS_POINTS - net * shares[member]) < BASIS_POINTS for member, pence in funds.items())


def test_an_appeal_with_members_refuses_a_surplus_target():
    with pytest.raises(ValueError, match=r"surplus\.restricted_target_pence: an appeal with \[\[members\]\] shares"):
        parse_definition({**EXAMPLE, "surplus": EXAMPLE["surplus"] | {"restricted_target_pence": 100_000}}, "x.toml")


def test_the_transparency_report_says_which_member_each_allocation_went_to(platform):
    from everypenny.service_layer.proof import transparency_report

    slug = load_national(platform)
    gift = give(platform, slug, 1004)
    allocate_to_members(platform.uow, slug, at("2026-12-20T13:00:00"))
    refund(platform, slug, gift, 3)
    allocate_to_members(platform.uow, slug, at("2026-12-20T14:00:00"))

    report = transparency_report(platform.uow(), slug)
    assert [(m.amount_pence, m.label) for m in report.allocations][:2] == [
        (301, "to Harbour Aid"), (251, "to Fellside Relief")]
    assert (1, "back from Open Door Shelter to the Northern Floods Emergency Appeal") in [
        (m.amount_pence, m.label) for m in report.allocations]
