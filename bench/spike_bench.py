"""TV-appeal spike benchmark: a PostgreSQL-backed deployment (several app processes, several outbox workers)
takes a spike of texts from the simulated aggregator; then the same on SQLite with one app process.

    PYTHONPATH=src python bench/spike_bench.py                          # both stores, default spike
    PYTHONPATH=src python bench/spike_bench.py --store postgresql --peak 1000 --hold 20 --apps 3 --workers 2
    PYTHONPATH=src python bench/spike_bench.py --store postgresql --peak 3000 --ack-only   # acks alone

It prints sustained texts acked per second, p50/p99 ack latency, donations posted end to end per second,
and, measured in the same run on the same database, the raw single-row INSERT+COMMIT rate from Python at the
same concurrency (bench/insert_baseline.py), with the ratio of the two. The PostgreSQL run uses its own
database on EVERYPENNY_TEST_POSTGRES_URL's server, dropped afterwards; the SQLite run a temporary file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from insert_baseline import insert_commit_rate  # noqa: E402

from everypenny.config import Settings  # noqa: E402
from everypenny.simulators.deployment import LocalDeployment  # noqa: E402
from everypenny.simulators.spike import SpikePlan, SpikeRun  # noqa: E402
from everypenny.simulators.spike_report import TARGETS, chart_library_missing, summary, write_report  # noqa: E402

ADMIN_URL = os.environ.get("EVERYPENNY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/postgres")
DATABASE = "everypenny_spike_bench"


def _postgres(action: str) -> str:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        if action == "create":
            connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def bench(store: str, url: str, apps: int, workers: int, plan: SpikePlan, report_dir: Path) -> None:
    settings = Settings()
    workers = 0 if plan.ack_only else workers
    print(f"\n== {store}: {apps} app process(es), {workers} outbox worker(s), {plan.total_texts:,} texts, "
          f"peak {plan.peak_per_s:,.0f}/s ==", flush=True)
    with LocalDeployment(url, app_processes=apps, workers=workers, log_dir=report_dir / "logs") as deployment:
        baseline = insert_commit_rate(url, plan.couriers, seconds=3.0)
        run = SpikeRun(plan, deployment.app_urls, deployment.aggregator_url, settings.aggregator_api_key,
                       settings.aggregator_callback_token)
        figures = run.run()
    for line in summary(figures, plan.ack_only):
        print(line)
    ratio = figures.acked_per_s / baseline if baseline else 0.0
    print(f"raw INSERT+COMMIT {baseline:,.0f}/s at concurrency {plan.couriers}; "
          f"texts acked / raw = {ratio:.2f} (target ≥ 0.5)")
    for path in write_report(report_dir, plan, figures, run.timeline()):
        print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--peak", type=float, default=1000.0, help="texts per second at the peak")
    parser.add_argument("--ramp", type=float, default=3.0)
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument("--apps", type=int, default=2, help="app processes on PostgreSQL (SQLite gets one)")
    parser.add_argument("--workers", type=int, default=2, help="outbox worker processes")
    parser.add_argument("--couriers", type=int, default=16, help="concurrent callbacks (and baseline processes)")
    parser.add_argument("--report-dir", type=Path, default=Path("spike-bench"))
    parser.add_argument("--ack-only", action="store_true",
                        help="no workers: measure how fast texts are acknowledged while their work queues up")
    arguments = parser.parse_args()
    if missing := chart_library_missing():
        sys.exit(missing)
    plan = SpikePlan(peak_per_s=arguments.peak, ramp_s=arguments.ramp, hold_s=arguments.hold,
                     couriers=arguments.couriers, ack_only=arguments.ack_only)
    print(TARGETS)
    if arguments.store in ("postgresql", "both"):
        url = _postgres("create")
        try:
            bench("postgresql", url, arguments.apps, arguments.workers, plan, arguments.report_dir / "postgresql")
        finally:
            _postgres("drop")
    if arguments.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/spike.db"
            bench("sqlite", url, 1, 1, plan, arguments.report_dir / "sqlite")


if __name__ == "__main__":
    main()
