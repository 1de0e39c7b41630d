"""Fault test: a 50,000-text spike while app and worker processes are killed with SIGKILL 20 times at random
moments and PostgreSQL restarts once; then every penny is audited against the simulated networks' record.

    PYTHONPATH=src python bench/fault_test.py                      # the full drill (restarts PostgreSQL!)
    PYTHONPATH=src python bench/fault_test.py --texts 2000 --kills 4 --no-restart-postgres
    PYTHONPATH=src python bench/fault_test.py --faults lost-answers=5,refuse-repeats=100,early-reports=5,\
        late-reports=5,ttl-expiry=1                                # and the aggregator misbehaving too

Checks: every acknowledged text is in the inbox and was worked; every charge the networks made is posted
once and every failed one voided once; the books' raised total equals what the networks charged; every
handset got exactly its receipt or failure notice; `everypenny ledger seal` and `ledger verify` pass.
Restarting PostgreSQL interrupts everyone's connections on this server: run it when nobody else is testing.
Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from spike_bench import fresh_database  # noqa: E402

from everypenny.simulators.aggregator_faults import Faults, parse_faults  # noqa: E402
from everypenny.simulators.fault_drill import run_drill  # noqa: E402
from everypenny.simulators.spike import SpikePlan  # noqa: E402
from everypenny.simulators.spike_report import summary  # noqa: E402


def _faults(text: str) -> Faults:
    try:
        return parse_faults(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None  # argparse says it and exits with status 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=50_000)
    parser.add_argument("--peak", type=float, default=500.0, help="texts per second at the peak")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--restart-postgres", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--faults", type=_faults, default=Faults(),
                        help="the aggregator's misbehaviour on top of the kills, e.g. lost-answers=5,"
                             "refuse-repeats=100,early-reports=5,late-reports=5,ttl-expiry=1 (percent of charges)")
    parser.add_argument("--drain-timeout", type=float, default=1800.0,
                        help="seconds to wait, after the last text, for every charge to be on the books")
    arguments = parser.parse_args()
    ramp_s = 5.0
    hold_s = max(arguments.texts / arguments.peak - ramp_s / 2, 1.0)
    plan = SpikePlan(peak_per_s=arguments.peak, ramp_s=ramp_s, hold_s=hold_s, refusing_share=0.05,
                     duplicate_rate=0.05, jitter_s=0.05, couriers=16,
                     drain_timeout_s=arguments.drain_timeout)
    print(f"{plan.total_texts:,} texts, {arguments.kills} kills"
          f"{', one PostgreSQL restart' if arguments.restart_postgres else ''}, aggregator faults: {arguments.faults}",
          flush=True)
    with fresh_database("postgresql") as url:
        result = run_drill(url, plan, arguments.kills, arguments.restart_postgres, arguments.apps, arguments.workers,
                           faults=arguments.faults)
    for fault in result.faults:
        print(fault)
    for line in summary(result.figures):
        print(line)
    print("audit:")
    for line in result.audit_figures:
        print(f"  {line}")
    if result.passed:
        print("PASSED: no donation lost, none counted twice, ledger sealed and verified, totals equal the "
              "networks' charges, every handset got exactly its receipts")
        return
    print("FAILED:")
    for problem in result.problems:
        print(f"  {problem}")
    sys.exit(1)


if __name__ == "__main__":
    main()
