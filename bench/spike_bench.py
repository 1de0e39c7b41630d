"""TV-appeal spike benchmark: what a text gift costs and how fast a small machine takes a telethon's peak.

    PYTHONPATH=src python bench/spike_bench.py                               # PostgreSQL, 3 rounds, the table
    PYTHONPATH=src python bench/spike_bench.py --runs 1 --store sqlite
    PYTHONPATH=src python bench/spike_bench.py --peak 1000 --ceiling 0       # skip the acknowledgement ceiling
    PYTHONPATH=src python bench/spike_bench.py --peak 3000 --ack-only        # one spike, acknowledgements alone
    PYTHONPATH=src python bench/spike_bench.py --baseline a3d11bd --ceiling 0  # REV and this tree, side by side

A round starts a deployment on a fresh database (`--apps` uvicorn processes, `--workers` outbox workers),
measures the raw single-row INSERT+COMMIT rate from Python at the spike's concurrency
(bench/insert_baseline.py), replays a spike of texts at up to `--peak` a second with the workers running,
then a spike of `--ceiling` texts a second with no workers (acknowledgements alone: the most the apps take).
It prints each spike's figures, the CPU each role spent per text (read from each process's own CPU time:
simulators/cpu_time.py), and a table of the four figures against their targets; with several rounds, the
median of each and every round's value. With `--baseline REV` the rounds alternate between REV (checked out in a
temporary git worktree) and this tree, so both meet the same machine speed, and a second table gives each
figure for both and the median of the per-round ratios. The PostgreSQL rounds use their own database on
EVERYPENNY_TEST_POSTGRES_URL's server, dropped afterwards; SQLite rounds a temporary file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from insert_baseline import insert_commit_rate  # noqa: E402

from everypenny.config import Settings  # noqa: E402
from everypenny.simulators.cpu_time import RoleCpu, pin, postgres_pids, processes_cpu_s, read_roles  # noqa: E402
from everypenny.simulators.deployment import LocalDeployment  # noqa: E402
from everypenny.simulators.spike import SpikeFigures, SpikePlan, SpikeRun  # noqa: E402
from everypenny.simulators.spike_report import chart_library_missing, summary, write_report  # noqa: E402

ADMIN_URL = os.environ.get("EVERYPENNY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@localhost:5432/postgres")
DATABASE = f"everypenny_spike_bench_{os.getpid()}"  # benches running side by side never share one
TARGET_CPU_MS, TARGET_POSTED, TARGET_P99_MS, TARGET_RATIO = 2.5, 500, 100, 0.7
# The reference loop's time on this machine at its fast speed (issue 25): CPU figures are also given scaled to it.
REFERENCE_S = 0.14


@contextmanager
def fresh_database(store: str) -> Iterator[str]:
    """A database of its own for a run, dropped afterwards (the fault drill restarts PostgreSQL in between)."""
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/spike.db"
        return

    def administer(*statements: str) -> None:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        admin.dispose()

    drop = f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'
    administer(drop, f'CREATE DATABASE "{DATABASE}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    finally:
        administer(drop)


@dataclass(frozen=True)
class Spike:
    figures: SpikeFigures
    cpu_per_text_ms: RoleCpu


@contextmanager
def flame_graphs(directory: Path | None, roles: dict[str, int]) -> Iterator[None]:
    """py-spy records each role's process (by pid) while the block runs, into `directory`/<role>.svg: only samples
    holding the GIL, so the graph shows where Python spends CPU rather than where threads wait."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    recorders = [subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--rate", "50", "--nonblocking", "--gil",
                                   "--output", str(directory / f"{role}.svg")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for role, pid in roles.items()]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its flame graph when interrupted
        for recorder in recorders:
            recorder.wait(timeout=60)


Pinning = tuple[set[int], set[int]]  # the load generator's CPUs, the deployment's (apps, workers, PostgreSQL)


def wait_until_started(deployment: LocalDeployment, timeout_s: float = 60.0) -> None:
    """Until the apps and workers have finished importing and starting (their CPU stops climbing): what a
    process spends starting is not what a text costs."""
    pids = [*deployment.app_pids, *deployment.worker_pids]
    deadline = time.monotonic() + timeout_s
    spent = processes_cpu_s(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        spent, before = processes_cpu_s(pids), spent
        if spent - before < 0.05 * len(pids):
            return


def spike(store: str, url: str, apps: int, workers: int, plan: SpikePlan, report_dir: Path, source: Path,
          profile_dir: Path | None = None, pinned: Pinning | None = None) -> Spike:
    """One spike against a deployment started for it; its figures and the CPU each role spent per text."""
    settings = Settings()
    workers = 0 if plan.ack_only else workers
    print(f"\n== {store}: {apps} app process(es), {workers} outbox worker(s), {plan.total_texts:,} texts, "
          f"peak {plan.peak_per_s:,.0f}/s{', acknowledgements only' if plan.ack_only else ''} ==", flush=True)
    with LocalDeployment(url, app_processes=apps, workers=workers, log_dir=report_dir / "logs",
                         source=source) as deployment:
        run = SpikeRun(plan, deployment.app_urls, deployment.aggregator_url, settings.aggregator_api_key,
                       settings.aggregator_callback_token)

        if pinned:
            generator_cpus, deployment_cpus = pinned
            pin([os.getpid()], generator_cpus)
            pin([*deployment.app_pids, *deployment.worker_pids, *postgres_pids()], deployment_cpus)

        def roles() -> RoleCpu:
            return read_roles(deployment.app_pids, deployment.worker_pids, postgres=store == "postgresql")

        wait_until_started(deployment)

        profiled = {"app": deployment.app_pids[0], "load-generator": os.getpid(),
                    **({"worker": deployment.worker_pids[0]} if deployment.worker_pids else {})}
        with flame_graphs(profile_dir, profiled):
            before = roles()
            figures = run.run()
            cpu = (roles() - before).per_text_ms(figures.texts_offered)
    for line in summary(figures, plan.ack_only):
        print(line)
    print(f"CPU per text    {cpu.deployment_s:.2f} ms in the deployment: apps {cpu.apps_s:.2f}, workers "
          f"{cpu.workers_s:.2f}, PostgreSQL {cpu.postgres_s:.2f}; load generator and simulator "
          f"{cpu.load_generator_s:.2f}")
    write_report(report_dir, plan, figures, run.timeline())
    return Spike(figures, cpu)


def reference_loop_s() -> float:
    """CPU seconds for five million additions in a Python loop: the machine's speed when the round ran, so that
    figures from different days (or a noisy neighbour) can be compared. On 1 December 2026 this machine
    took from 0.23 s to 0.9 s within one hour."""
    started = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number
    return time.process_time() - started


@dataclass(frozen=True)
class Round:
    reference_s: float
    raw_inserts_per_s: float
    gifts: Spike
    ceiling: Spike | None

    def rows(self) -> dict[str, float]:
        cpu, figures = self.gifts.cpu_per_text_ms, self.gifts.figures
        rows = {"cpu": cpu.deployment_s, "apps": cpu.apps_s, "workers": cpu.workers_s, "postgres": cpu.postgres_s,
                "generator": cpu.load_generator_s, "posted": figures.donations_posted_per_s,
                "p99": figures.ack_p99_ms, "raw": self.raw_inserts_per_s, "reference": self.reference_s,
                "cpu_scaled": cpu.deployment_s * REFERENCE_S / self.reference_s}
        if self.ceiling is not None:
            rows["ceiling"] = self.ceiling.figures.acked_per_s
            rows["ratio"] = self.ceiling.figures.acked_per_s / self.raw_inserts_per_s
        return rows


def one_round(store: str, arguments: argparse.Namespace, plan: SpikePlan, report_dir: Path,
              source: Path = ROOT) -> Round:
    apps = arguments.apps if store == "postgresql" else 1
    workers = arguments.workers if store == "postgresql" else 1
    reference = reference_loop_s()
    with fresh_database(store) as url:
        raw = insert_commit_rate(url, plan.couriers, seconds=3.0)
        print(f"raw INSERT+COMMIT {raw:,.0f}/s at concurrency {plan.couriers}; reference loop {reference:.2f} s",
              flush=True)
        profile = arguments.profile / ("ack-only" if plan.ack_only else "gifts") if arguments.profile else None
        gifts = spike(store, url, apps, workers, plan, report_dir / "gifts", source, profile, arguments.pin)
        if plan.ack_only:
            return Round(reference, raw, gifts, None)
    if not arguments.ceiling:
        return Round(reference, raw, gifts, None)
    ceiling_plan = replace(plan, peak_per_s=arguments.ceiling, ack_only=True)
    with fresh_database(store) as url:
        ceiling = spike(store, url, apps, 0, ceiling_plan, report_dir / "ceiling", source, pinned=arguments.pin)
    return Round(reference, raw, gifts, ceiling)


def table(rounds: list[Round], plan: SpikePlan, ceiling: float) -> list[str]:
    """The issue's four figures, the median over the rounds with every round's value beside it."""
    columns = [round_.rows() for round_ in rounds]

    def figure(key: str, form: str) -> str:
        values = [column[key] for column in columns if key in column]
        if not values:
            return "not measured"
        each = f" (rounds: {', '.join(form.format(value) for value in values)})" if len(values) > 1 else ""
        return form.format(statistics.median(values)) + each

    offered = f"{plan.peak_per_s:,.0f} texts/s offered"
    return [
        f"| figure ({'median of ' + str(len(rounds)) + ' rounds' if len(rounds) > 1 else 'one round'}) "
        "| measured | target |",
        "| --- | --- | --- |",
        f"| CPU per text, apps + workers + PostgreSQL | {figure('cpu', '{:.2f} ms')} | ≤ {TARGET_CPU_MS} ms |",
        f"| the same at a {REFERENCE_S} s reference loop | {figure('cpu_scaled', '{:.2f} ms')} | |",
        f"| of which apps | {figure('apps', '{:.2f} ms')} | |",
        f"| of which workers | {figure('workers', '{:.2f} ms')} | |",
        f"| of which PostgreSQL | {figure('postgres', '{:.2f} ms')} | |",
        f"| load generator and simulator (not counted) | {figure('generator', '{:.2f} ms')} | |",
        f"| donations posted per second end to end, {offered} | {figure('posted', '{:,.0f}')} "
        f"| ≥ {TARGET_POSTED} |",
        f"| ack p99 at {offered}, workers running | {figure('p99', '{:.0f} ms')} | < {TARGET_P99_MS} ms |",
        f"| ack-only ceiling (texts acked/s offered {ceiling:,.0f}/s) | {figure('ceiling', '{:,.0f}/s')} | |",
        f"| raw INSERT+COMMIT at concurrency {plan.couriers} | {figure('raw', '{:,.0f}/s')} | |",
        f"| ack-only ceiling ÷ raw INSERT+COMMIT | {figure('ratio', '{:.2f}')} | ≥ {TARGET_RATIO} |",
        f"| machine speed: reference loop (5M additions; lower is faster) | {figure('reference', '{:.2f} s')} | |",
    ]


COMPARED = [("cpu", "CPU per text, apps + workers + PostgreSQL", "{:.2f} ms"),
            ("cpu_scaled", f"the same at a {REFERENCE_S} s reference loop", "{:.2f} ms"),
            ("apps", "of which apps", "{:.2f} ms"), ("workers", "of which workers", "{:.2f} ms"),
            ("postgres", "of which PostgreSQL", "{:.2f} ms"), ("posted", "donations posted per second", "{:,.0f}"),
            ("p99", "ack p99, workers running", "{:.0f} ms"),
            ("ratio", "ack-only ceiling ÷ raw INSERT+COMMIT", "{:.2f}"),
            ("reference", "reference loop (lower is faster)", "{:.2f} s")]


def side_by_side(baseline: list[Round], tree: list[Round], revision: str) -> list[str]:
    """Each figure for the baseline and this tree (medians), and the median of the ratios of rounds run back to
    back: the result, since a pair met the same machine speed where two medians may not have."""
    rows = [f"| figure | {revision} | this tree | this tree ÷ {revision}: median (each pair) |",
            "| --- | --- | --- | --- |"]
    pairs = [(before.rows(), after.rows()) for before, after in zip(baseline, tree, strict=True)]
    for key, name, form in COMPARED:
        measured = [(before[key], after[key]) for before, after in pairs if key in before and key in after]
        if not measured:
            continue
        ratios = [after / before for before, after in measured if before]
        each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        ratio = f"{statistics.median(ratios):.2f} ({each})" if ratios else "n/a"
        rows.append(f"| {name} | {form.format(statistics.median(b for b, _ in measured))} "
                    f"| {form.format(statistics.median(a for _, a in measured))} | {ratio} |")
    return rows


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """`revision` in a temporary git worktree of this repository, removed afterwards."""
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        sys.exit(f"--baseline {revision}: no such commit in {ROOT}")
    folder = Path(tempfile.mkdtemp(prefix="everypenny-baseline-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder),
                    found.stdout.strip()], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)


def compare(store: str, arguments: argparse.Namespace, plan: SpikePlan) -> None:
    """Rounds of the baseline and this tree in turn (ABAB…), then both tables and the side-by-side one."""
    baseline: list[Round] = []
    tree: list[Round] = []
    with checked_out(arguments.baseline) as source:
        for number in range(1, arguments.runs + 1):
            for name, rounds, root in (("baseline", baseline, source), ("tree", tree, ROOT)):
                print(f"\n#### round {number}: {arguments.baseline if root == source else 'this tree'}", flush=True)
                rounds.append(one_round(store, arguments, plan,
                                        arguments.report_dir / store / name / f"round{number}", root))
                print(f"round {number} {name}: CPU per text {rounds[-1].rows()['cpu']:.2f} ms "
                      f"({rounds[-1].rows()['cpu_scaled']:.2f} ms at a {REFERENCE_S} s reference loop; "
                      f"this round's loop {rounds[-1].reference_s:.2f} s)", flush=True)
    for name, rounds in ((arguments.baseline, baseline), ("this tree", tree)):
        print(f"\n{store}, {name}:")
        print("\n".join(table(rounds, plan, arguments.ceiling)))
    print(f"\n{store}, side by side ({arguments.runs} pair(s) of rounds):")
    print("\n".join(side_by_side(baseline, tree, arguments.baseline)))


def cpu_split(value: str) -> Pinning:
    """'0:1' → the load generator on CPU 0, the deployment on CPU 1 (lists as in taskset: '0', '1-3', '2,3')."""

    def cpus(part: str) -> set[int]:
        found: set[int] = set()
        for item in filter(None, part.split(",")):
            first, _, last = item.partition("-")
            found.update(range(int(first), int(last or first) + 1))
        return found

    generator, separator, deployment = value.partition(":")
    try:
        pinning = cpus(generator), cpus(deployment)
    except ValueError:
        pinning = set(), set()
    if not separator or not all(pinning):
        raise argparse.ArgumentTypeError(f"{value!r}: give GENERATOR_CPUS:DEPLOYMENT_CPUS, e.g. 0:1")
    return pinning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["postgresql", "sqlite", "both"], default="postgresql")
    parser.add_argument("--runs", type=int, default=3, help="rounds; the table gives the median of each figure")
    parser.add_argument("--peak", type=float, default=1000.0, help="texts per second at the peak")
    parser.add_argument("--ramp", type=float, default=2.0)
    parser.add_argument("--hold", type=float, default=8.0)
    parser.add_argument("--ceiling", type=float, default=4000.0,
                        help="texts per second offered to find the acknowledgement ceiling (0: skip)")
    parser.add_argument("--apps", type=int, default=2, help="app processes on PostgreSQL (SQLite gets one)")
    parser.add_argument("--workers", type=int, default=2, help="outbox worker processes")
    parser.add_argument("--couriers", type=int, default=16, help="concurrent callbacks (and baseline processes)")
    parser.add_argument("--report-dir", type=Path, default=Path("spike-bench"))
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="flame graphs (py-spy) of an app process, a worker and the load generator during the "
                             "spike, written to DIR/gifts/ (or DIR/ack-only/); py-spy is on PyPI")
    parser.add_argument("--pin", type=cpu_split, metavar="GEN:DEP",
                        help="pin the load generator to CPUs GEN and the apps, workers and PostgreSQL to DEP "
                             "(e.g. 0:1), to check how many cores the deployment needs; undone at the end")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run revision REV (checked out in a temporary worktree), alternating its rounds with "
                             "this tree's, and print both and their ratios")
    parser.add_argument("--ack-only", action="store_true",
                        help="one spike with no workers: how fast texts are acknowledged while their work queues up")
    arguments = parser.parse_args()
    if missing := chart_library_missing():
        sys.exit(missing)
    if arguments.profile and shutil.which("py-spy") is None:
        sys.exit("--profile needs py-spy: pip install 'everypenny[spike]'")
    plan = SpikePlan(peak_per_s=arguments.peak, ramp_s=arguments.ramp, hold_s=arguments.hold,
                     couriers=arguments.couriers, ack_only=arguments.ack_only)
    try:
        for store in (["postgresql", "sqlite"] if arguments.store == "both" else [arguments.store]):
            if arguments.baseline:
                compare(store, arguments, plan)
                continue
            rounds = [one_round(store, arguments, plan, arguments.report_dir / store / f"round{number}")
                      for number in range(1, arguments.runs + 1)]
            print(f"\n{store}, {arguments.apps if store == 'postgresql' else 1} app process(es)"
                  + (f", load generator on CPUs {sorted(arguments.pin[0])}, deployment on CPUs "
                     f"{sorted(arguments.pin[1])}" if arguments.pin else "") + ":")
            print("\n".join(table(rounds, plan, arguments.ceiling)))
    finally:
        if arguments.pin:  # PostgreSQL serves others after the bench: give it every CPU back
            pin(postgres_pids(), set(range(os.cpu_count() or 1)))


if __name__ == "__main__":
    main()
