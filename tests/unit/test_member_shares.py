"""A national appeal's split: every member within 1p of its share, the allocations adding up to the total."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from everypenny.domain.national import BASIS_POINTS, ShareVersion, member_allocations

EXAMPLE_SHARES = ShareVersion(date(2026, 12, 1), {"harbour-aid": 3000, "fellside-relief": 2500,
                                                   "riverbank-trust": 2500, "open-door-shelter": 2000})
EVEN_SHARES = ShareVersion(date(2027, 1, 15), dict.fromkeys(EXAMPLE_SHARES.basis_points, 2500))


def test_the_penny_left_over_goes_to_the_largest_remainder():
    # £10.01 at 30/25/25/20 %: exactly 300.3p, 250.25p, 250.25p and 200.2p
    assert member_allocations((EXAMPLE_SHARES,), [1001]) == {
        "harbour-aid": 301, "fellside-relief": 250, "riverbank-trust": 250, "open-door-shelter": 200}
    # 3p more: exactly 301.2p, 251p, 251p and 200.8p, so this time the penny is Open Door Shelter's
    assert member_allocations((EXAMPLE_SHARES,), [1004]) == {
        "harbour-aid": 301, "fellside-relief": 251, "riverbank-trust": 251, "open-door-shelter": 201}


def test_each_version_splits_the_gifts_made_while_it_was_in_force():
    # £10.01 given under 30/25/25/20 and £10.00 under even shares: exactly 550.3p, 500.25p, 500.25p, 450.2p
    assert member_allocations((EXAMPLE_SHARES, EVEN_SHARES), [1001, 1000]) == {
        "harbour-aid": 551, "fellside-relief": 500, "riverbank-trust": 500, "open-door-shelter": 450}


def test_ties_go_to_the_member_listed_first():
    assert member_allocations((EVEN_SHARES,), [2]) == {
        "harbour-aid": 1, "fellside-relief": 1, "riverbank-trust": 0, "open-door-shelter": 0}


@st.composite
def share_versions(draw) -> tuple[ShareVersion, ...]:
    members = [f"m{n}" for n in range(draw(st.integers(1, 6)))]
    versions = []
    for number in range(draw(st.integers(1, 3))):
        cuts = sorted(draw(st.lists(st.integers(0, BASIS_POINTS), min_size=len(members) - 1,
                                    max_size=len(members) - 1)))
        points = [b - a for a, b in zip([0, *cuts], [*cuts, BASIS_POINTS], strict=True)]
        versions.append(ShareVersion(date(2027, 1, 1 + number), dict(zip(members, points, strict=True))))
    return tuple(versions)


# A gift (version, pence), or a refund of part of an earlier gift (None, which gift, what per cent of it).
operations = st.lists(st.one_of(
    st.tuples(st.integers(0, 2), st.integers(1, 5_000_000)),
    st.tuples(st.none(), st.integers(0, 10**6), st.integers(1, 100))), max_size=40)


@given(versions=share_versions(), steps=operations)
def test_after_any_gifts_and_refunds_the_split_is_exact_to_the_penny(versions, steps):
    gifts: list[list[int]] = []  # [version, pence not yet refunded]
    raised = [0] * len(versions)
    for step in steps:
        if step[0] is not None:
            gifts.append([step[0] % len(versions), step[1]])
            raised[step[0] % len(versions)] += step[1]
        elif gifts:
            gift = gifts[step[1] % len(gifts)]
            refunded = gift[1] * step[2] // 100
            gift[1] -= refunded
            raised[gift[0]] -= refunded
        allocated = member_allocations(versions, raised)

        assert sum(allocated.values()) == sum(raised)
        for member, pence in allocated.items():
            exact = sum(r * v.basis_points[member] for r, v in zip(raised, versions, strict=True))
            assert abs(pence * BASIS_POINTS - exact) < BASIS_POINTS  # within 1p of its exact share
