"""The fault drill: a spike while app and worker processes are killed with SIGKILL (and, optionally,
PostgreSQL restarts), then an audit of every penny against the simulated networks' record.

Run by bench/fault_test.py (50,000 texts, 20 kills, one PostgreSQL restart) and, smaller and without the
restart, by the test suite.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text

from everypenny.config import Settings
from everypenny.simulators.aggregator import SimulatedAggregator
from everypenny.simulators.aggregator_faults import Faults
from everypenny.simulators.deployment import ROOT, LocalDeployment
from everypenny.simulators.spike import SpikeFigures, SpikePlan, SpikeRun

RESTART_POSTGRES = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]


@dataclass
class DrillResult:
    figures: SpikeFigures
    faults: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    audit_figures: list[str] = field(default_factory=list)  # what the audit counted, to print

    @property
    def passed(self) -> bool:
        return not self.problems


class Saboteur:
    """Kills a random app or worker process with SIGKILL at random moments, restarting it at once (a
    process manager's job), and restarts PostgreSQL once halfway if asked."""

    def __init__(self, deployment: LocalDeployment, kills: int, within_s: float, restart_postgres: bool,
                 seed: int) -> None:
        self.deployment = deployment
        self.random = random.Random(seed)
        self.moments = sorted(self.random.uniform(0.1, within_s) for _ in range(kills))
        self.postgres_at = within_s / 2 if restart_postgres else None
        self.log: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="saboteur", daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        events = [(moment, "kill") for moment in self.moments]
        if self.postgres_at is not None:
            events.append((self.postgres_at, "postgres"))
        for moment, what in sorted(events):
            if self._stop.wait(max(0.0, start + moment - time.monotonic())):
                return
            if what == "postgres":
                subprocess.run(RESTART_POSTGRES, check=True, capture_output=True)
                self.log.append(f"{moment:5.1f} s: restarted PostgreSQL")
                continue
            kind = self.random.choice(["app", "worker"])
            count = self.deployment.app_processes if kind == "app" else self.deployment.workers
            index = self.random.randrange(count)
            self.deployment.restart(kind, index)
            self.log.append(f"{moment:5.1f} s: kill -9 {kind} {index}, restarted")

    def __enter__(self) -> Saboteur:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def run_drill(database_url: str, plan: SpikePlan, kills: int, restart_postgres: bool = False,
              apps: int = 2, workers: int = 2, seed: int = 11, lease_s: float = 3.0,
              faults: Faults = Faults()) -> DrillResult:
    """A short lease, so a killed worker's tasks are taken up again within the drill. `faults`: the
    aggregator's own misbehaviour on top of the kills (simulators/aggregator_faults.py)."""
    settings = Settings()
    with LocalDeployment(database_url, app_processes=apps, workers=workers,
                         extra_env={"EVERYPENNY_WORKER_LEASE_S": str(lease_s)}) as deployment:
        run = SpikeRun(plan, deployment.app_urls, deployment.aggregator_url, settings.aggregator_api_key,
                       settings.aggregator_callback_token, faults=faults)
        with Saboteur(deployment, kills, plan.duration_s, restart_postgres, seed) as saboteur:
            figures = run.run()
        for url in deployment.app_urls:  # the last restarts are serving before the audit
            deployment.wait_until_serving(url)
        result = DrillResult(figures, saboteur.log)
        result.problems = audit(database_url, run, figures, result.audit_figures)
    return result


# What the books may hold for each outcome the network recorded: a charge whose time to live passed without a
# report waits (requested, then unconfirmed after its margin) for the monthly statement.
STORED_FOR = {"charged": {"charged"}, "failed": {"failed"}, "expired": {"requested", "unconfirmed"}}


def audit(database_url: str, run: SpikeRun, figures: SpikeFigures, counted: list[str] | None = None) -> list[str]:
    """Everything the drill promises, checked against the simulator's record; an empty list means all held.
    What it counted is appended to `counted`."""
    simulator = run.simulator
    assert isinstance(simulator, SimulatedAggregator)  # the drill runs its simulator in this process
    problems: list[str] = []
    charged = {str(c["request_id"]): c for c in simulator.charge_records()}
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored: dict[str, str] = dict(connection.execute(text("SELECT request_id, status FROM sms_charges"))
                                          .all())
            texts = {row[0] for row in connection.execute(
                text("SELECT message_id FROM inbox_messages WHERE kind = 'mo'"))}
            phases: Counter[str] = Counter(dict(connection.execute(text(
                "SELECT phase, count(*) FROM ledger_transfers WHERE idempotency_key LIKE 'sms:%' GROUP BY phase"))
                .all()))
            charged_after_void = connection.scalar(text(
                "SELECT count(*) FROM ledger_transfers WHERE idempotency_key LIKE :pattern"),
                {"pattern": "sms:%:charged"})
            undone = connection.scalar(text("SELECT count(*) FROM outbox_tasks WHERE done_at IS NULL"))
    finally:
        engine.dispose()
    lost = run.record.acked_guids - texts
    if lost:
        problems.append(f"{len(lost)} texts the app acknowledged are not in its inbox, e.g. {sorted(lost)[:3]}")
    if undone:
        problems.append(f"{undone} outbox tasks never finished")
    if simulator.undeliverable:
        problems.append(f"{len(simulator.undeliverable)} callbacks the simulator could never deliver")
    never_asked = set(stored) - set(charged)
    if never_asked:
        problems.append(f"{len(never_asked)} charges stored but never requested from the networks")
    disagree = [rid for rid, record in charged.items() if stored.get(rid) not in STORED_FOR[str(record["status"])]]
    if disagree:
        problems.append(f"{len(disagree)} charges whose stored outcome differs from the network's, "
                        f"e.g. {disagree[:3]}")
    outcome_counts = Counter(record["status"] for record in charged.values())
    # A charge refused on its answer, then reported charged, was voided and then booked afresh.
    expected = {"pending": len(stored), "post": outcome_counts["charged"] - charged_after_void,
                "void": outcome_counts["failed"] + charged_after_void}
    for phase, count in expected.items():
        if phases[phase] != count:
            problems.append(f"{phases[phase]} {phase} ledger transfers for text charges, expected {count}")
    problems += _receipt_problems(simulator, charged)
    if counted is not None:
        counted += _figures(simulator, charged, figures, outcome_counts)
    problems += _ledger_chain_problems(database_url)
    if not figures.totals_match:
        problems.append(f"the books show {figures.raised_pence}p raised but the networks charged "
                        f"{figures.simulator_charged_pence}p")
    return problems


def _receipt_problems(simulator: SimulatedAggregator, charged: dict[str, dict[str, str | int]]) -> list[str]:
    """Each charge that went through reached its handset with exactly one receipt (sent with the charge, which
    is idempotent on its request id), a failed one with none; and each handset with a failed charge got its
    failure notice. A free message (sendsms is not known to de-duplicate) may come twice after a crash, never
    not at all."""
    problems = []
    notices_due: Counter = Counter()
    for request_id, record in charged.items():
        handset = simulator.handset(str(record["msisdn"]))
        if handset.profile.refusal == "UNKNOWN_SUBSCRIBER":
            continue  # such handsets receive nothing, by design
        receipts = sum(1 for message in handset.received if message["txguid"] == record["txguid"])
        wanted = 1 if record["status"] == "charged" else 0
        if receipts != wanted:
            problems.append(f"{record['msisdn']} got {receipts} receipts for {request_id}, expected {wanted}")
        notices_due[handset.msisdn] += int(record["status"] == "failed")
    for msisdn, due in notices_due.items():
        notices = sum(1 for m in simulator.handset(msisdn).received if "did not go through" in m["body"])
        if notices < due or (notices and not due):
            problems.append(f"{msisdn} got {notices} failure notices for {due} failed charges")
    return problems[:20]


def _figures(simulator: SimulatedAggregator, charged: dict[str, dict[str, str | int]], figures: SpikeFigures,
             outcomes: Counter) -> list[str]:
    """The audit's figures: books against the networks, and what each charged handset received."""
    charged_handsets = {str(r["msisdn"]) for r in charged.values() if r["status"] == "charged"} - {
        str(r["msisdn"]) for r in charged.values() if r["status"] != "charged"}
    receipts = Counter(message["txguid"] for msisdn in charged_handsets
                       for message in simulator.handset(msisdn).received)
    one_each = sum(1 for r in charged.values()
                   if str(r["msisdn"]) in charged_handsets and receipts[str(r["txguid"])] == 1)
    notices = sum(1 for msisdn in charged_handsets for m in simulator.handset(msisdn).received
                  if "did not go through" in m["body"])
    struck = ", ".join(f"{name} {count}" for name, count in sorted(simulator.struck.items())) or "none"
    return [f"faults struck: {struck}",
            f"books: {figures.raised_pence}p raised; networks charged {figures.simulator_charged_pence}p "
            f"({'equal' if figures.totals_match else 'NOT equal'})",
            f"charges: {outcomes['charged']} charged, {outcomes['failed']} failed, {outcomes['expired']} expired "
            "(no report: pending until unconfirmed)",
            f"handsets whose every charge went through: {len(charged_handsets)}; their charges with exactly one "
            f"receipt: {one_each} of {sum(1 for r in charged.values() if str(r['msisdn']) in charged_handsets)}; "
            f"failure notices they got: {notices}"]


def _ledger_chain_problems(database_url: str) -> list[str]:
    env = LocalDeployment(database_url, 1, 1).env()
    problems = []
    for command in (["ledger", "seal"], ["ledger", "verify", "--grace-minutes", "0"]):
        done = subprocess.run([sys.executable, "-m", "everypenny", *command], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            problems.append(f"`everypenny {' '.join(command)}` failed: {(done.stdout + done.stderr).strip()[-500:]}")
    return problems
