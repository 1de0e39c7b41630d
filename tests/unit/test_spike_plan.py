"""A spike plan: a linear ramp to the peak, then the peak held; what donors text and from which handsets."""

import pytest

from everypenny.simulators.spike import SpikePlan, parse_keywords, percentile


def test_texts_are_offered_along_a_ramp_then_at_the_peak():
    plan = SpikePlan(peak_per_s=100, ramp_s=4, hold_s=10)

    assert plan.offered_by(0) == 0
    assert plan.offered_by(2) == 50  # half-way up the ramp: a quarter of the ramp's 200 texts
    assert plan.offered_by(4) == 200
    assert plan.offered_by(5) == 300
    assert plan.total_texts == plan.offered_by(14) == plan.offered_by(99) == 1200


def test_without_a_ramp_the_peak_starts_at_once():
    assert SpikePlan(peak_per_s=10, ramp_s=0, hold_s=3).total_texts == 30


def test_keywords_are_given_with_weights():
    assert parse_keywords("SUN3:30, SUN5:50,SUN10") == (("SUN3", 30.0), ("SUN5", 50.0), ("SUN10", 1.0))
    with pytest.raises(ValueError, match="BODY:WEIGHT"):
        parse_keywords("SUN5:lots")


@pytest.mark.parametrize("options, message", [
    ({"peak_per_s": 0}, "peak rate"), ({"keywords": ()}, "keyword"), ({"keywords": (("SUN5", 0),)}, "weight"),
    ({"refusing_share": 1.5}, "between 0 and 1")])
def test_an_impossible_plan_is_refused_with_the_reason(options, message):
    with pytest.raises(ValueError, match=message):
        SpikePlan(**options)


def test_percentiles_of_ack_latencies():
    latencies = [float(n) for n in range(1, 101)]
    assert percentile(latencies, 0.5) == pytest.approx(50.5, abs=0.5)
    assert percentile(latencies, 0.99) == pytest.approx(99, abs=1)
    assert percentile([], 0.99) == 0.0
    assert percentile([7.0], 0.99) == 7.0
