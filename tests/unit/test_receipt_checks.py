"""Reading a receipt reference as donors type it, and limiting how fast one client may check."""

import pytest

from everypenny.entrypoints.web.transparency import RateLimiter
from everypenny.service_layer.proof import normalise_reference


@pytest.mark.parametrize("typed", ["EP-7K3M9Q2XDA", "ep-7k3m9q2xda", " EP 7K3M 9Q2X DA ", "7K3M9Q2XDA",
                                   "EP-7K3M9Q2XDA\n"])
def test_a_reference_typed_any_reasonable_way_is_read(typed):
    assert normalise_reference(typed) == "EP-7K3M9Q2XDA"


def test_letters_misread_for_digits_are_corrected():
    assert normalise_reference("EP-IL0O000000") == "EP-1100000000"
    assert normalise_reference("EPEP00000000") == "EP-EP00000000"


@pytest.mark.parametrize("typed", ["", "EP-123", "EP-7K3M9Q2XDAX", "EP-7K3M9Q2XD!", "EP-UUUUUUUUUU"])
def test_anything_else_is_not_a_reference(typed):
    assert normalise_reference(typed) is None


def test_a_client_waits_once_over_the_limit_and_may_check_again_after_the_window():
    now = [0.0]
    limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])

    assert [limiter.retry_after_s("a"), limiter.retry_after_s("a")] == [0, 0]
    assert limiter.retry_after_s("a") == 61
    assert limiter.retry_after_s("b") == 0  # another client is not held up
    now[0] = 60.0
    assert limiter.retry_after_s("a") == 0
