"""The surplus rule's arithmetic, over many sequences of gifts, refunds and allocations."""

from hypothesis import given
from hypothesis import strategies as st

from everypenny.domain.allocation import FundBalances, surplus_move


def test_money_beyond_the_target_moves_and_nothing_else():
    assert surplus_move(1_000, FundBalances(1_500, 0)) == 500
    assert surplus_move(1_000, FundBalances(900, 0)) == 0
    assert surplus_move(None, FundBalances(1_500, 0)) == 0


def test_surplus_already_paid_out_is_never_pulled_back():
    assert surplus_move(1_000, FundBalances(700, 400, surplus_paid_out_pence=300)) == -100


@given(target=st.integers(0, 10_000),
       steps=st.lists(st.one_of(st.integers(1, 5_000), st.integers(-5_000, -1), st.none()), max_size=40))
def test_restricted_never_exceeds_the_target_and_the_funds_add_up(target, steps):
    restricted = surplus = 0
    for step in steps:
        if step is None:  # allocate
            move = surplus_move(target, FundBalances(restricted, surplus))
            restricted, surplus = restricted - move, surplus + move
        elif step > 0 or restricted + surplus + step >= 0:  # a gift, or a refund of money we have
            restricted += step
    move = surplus_move(target, FundBalances(restricted, surplus))
    restricted, surplus = restricted - move, surplus + move

    assert restricted == min(restricted + surplus, target)
    assert surplus == max(restricted + surplus - target, 0)
