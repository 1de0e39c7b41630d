"""The spike bench's side-by-side table (`--baseline REV`): the result is the median of the ratios of rounds run
back to back, since each pair met the same machine speed."""

import importlib.util
import sys

from everypenny.simulators.cpu_time import RoleCpu
from everypenny.simulators.spike import SpikeFigures
from tests.conftest import ROOT


def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("spike_bench", ROOT / "bench" / "spike_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["spike_bench"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def a_round(module, cpu_ms: float, reference_s: float):
    figures = SpikeFigures(texts_offered=9000, texts_acked=9000, offered_per_s=1000.0, acked_per_s=1000.0,
                           ack_p50_ms=10.0, ack_p99_ms=50.0, peak_ack_p99_ms=60.0, donations_posted=9000,
                           donations_posted_per_s=100.0, raised_pence=4_500_000, simulator_charged_pence=4_500_000,
                           undeliverable_callbacks=0, drained=True, seconds_to_drain=1.0)
    cpu = RoleCpu(apps_s=cpu_ms / 2, workers_s=cpu_ms / 2, postgres_s=0.0, load_generator_s=1.0)
    return module.Round(reference_s, 5000.0, module.Spike(figures, cpu), None)


def test_the_result_is_the_median_of_each_pair_s_ratio_not_the_ratio_of_medians():
    module = bench()
    # The machine slows threefold in the middle pair: both trees' figures triple, their ratio does not.
    baseline = [a_round(module, 10.0, 0.14), a_round(module, 30.0, 0.42), a_round(module, 10.0, 0.14)]
    tree = [a_round(module, 5.0, 0.14), a_round(module, 15.0, 0.42), a_round(module, 6.0, 0.14)]

    rows = {row.split(" | ")[0].lstrip("| "): row for row in module.side_by_side(baseline, tree, "a3d11bd")}

    assert rows["CPU per text, apps + workers + PostgreSQL"].endswith("| 0.50 (0.50, 0.50, 0.60) |")
    # Scaled to a 0.14 s reference loop, the slow pair reads as the fast ones.
    assert "| 10.00 ms | 5.00 ms |" in rows["the same at a 0.14 s reference loop"]
