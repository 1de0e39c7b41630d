import pytest
from hypothesis import given
from hypothesis import strategies as st

from everypenny.domain.money import (
    AmountNotUnderstood,
    Money,
    UnknownCurrency,
    average_pence,
    format_pence,
    parse_pounds,
    pounds_and_pence,
)


@pytest.mark.parametrize(("pence", "shown"), [
    (300, "£3"), (550, "£5.50"), (5, "£0.05"), (123456789, "£1,234,567.89"), (-320, "-£3.20"), (0, "£0"),
])
def test_amounts_are_shown_as_appeals_print_them(pence, shown):
    assert format_pence(pence) == shown


def test_money_refuses_floats_and_unknown_currencies():
    with pytest.raises(TypeError):
        Money(5.0)  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrency, match="XYZ"):
        Money(500, "XYZ")


def test_money_of_different_currencies_does_not_mix():
    with pytest.raises(ValueError, match="GBP with EUR"):
        Money(500, "GBP") + Money(500, "EUR")


@given(st.integers(-10**12, 10**12), st.integers(-10**12, 10**12))
def test_adding_and_subtracting_money_is_exact(a, b):
    assert (Money(a) + Money(b) - Money(b)) == Money(a)


@pytest.mark.parametrize(("total", "count", "average"), [
    (2000, 3, 667), (4000, 3, 1333), (1000, 4, 250), (5, 2, 3), (-5, 2, -3), (0, 7, 0),
])
def test_an_average_gift_is_shown_to_the_nearest_penny(total, count, average):
    assert average_pence(total, count) == average


def test_there_is_no_average_of_nothing():
    with pytest.raises(ValueError):
        average_pence(500, 0)


@pytest.mark.parametrize(("typed", "pence"), [("12", 1200), ("12.50", 1250), (" £1,250.05 ", 125005), ("0.01", 1)])
def test_pounds_typed_by_a_person_become_exact_pence(typed, pence):
    assert parse_pounds(typed) == pence


@pytest.mark.parametrize("typed", ["", "12.5", "12.345", "-3", "1e3", "ten", "£"])
def test_anything_but_pounds_and_pence_is_refused_not_rounded(typed):
    with pytest.raises(AmountNotUnderstood, match=r"is not an amount in pounds and pence, e\.g\. 12\.50"):
        parse_pounds(typed)


@given(st.integers(min_value=0, max_value=10**11 - 1))
def test_pounds_written_for_forms_read_back_as_the_same_pence(pence):
    assert parse_pounds(pounds_and_pence(pence)) == pence


def test_pounds_and_pence_keep_the_sign_of_small_amounts():
    assert [pounds_and_pence(p) for p in (0, 5, -5, -150, 125005)] == ["0.00", "0.05", "-0.05", "-1.50", "1250.05"]
