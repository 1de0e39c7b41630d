"""A TV-appeal spike, replayed against a running deployment: the rehearsal a charity runs before going live.

The simulated aggregator offers texts at a planned rate (a linear ramp to a peak, held for a while), from
a mix of handsets (most pay, a chosen share are barred or on networks that do not bill donations), and
delivers callbacks as a real aggregator does, optionally duplicated and reordered. Offering is open-loop:
a text is due at its planned moment whether or not the app kept up, and its ack latency runs from that
moment to the app's answer, so a slow app shows as latency rather than as a quietly lower offered rate.

Money is read where the public sees it, the appeal's totals API, so "posted" means on the books.

The spike starts its own simulator where the deployment expects the aggregator, or drives one that is already
running there (the demo's) through its /sim API; then acknowledgements are counted from the deployment's
/metrics, and their latency, seen only by the simulator that posts the callbacks, is not measured.
"""

from __future__ import annotations

import itertools
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import httpx

from everypenny.simulators.aggregator import MO, Delivery, SimulatedAggregator, create_simulator_app
from everypenny.simulators.aggregator_faults import Faults
from everypenny.simulators.keepalive import KeepAliveClient
from everypenny.simulators.server import BackgroundServer

# Handsets that pay: numbers in the 07400 mobile range, which the simulator bills without limit, spread
# wide enough that the appeal's daily cap per number rarely bites. Handsets that do not: Ofcom drama
# numbers whose network refuses every charge (see simulators/aggregator.py PROFILES).
PAYING_PREFIX = "447400"
REFUSING = [f"447700900{n:03d}" for n in (*range(250, 300), *range(350, 400))]


@dataclass(frozen=True)
class SpikePlan:
    peak_per_s: float = 500.0
    ramp_s: float = 5.0
    hold_s: float = 20.0
    shortcode: str = "70141"
    appeal: str = "sun-ukraine-fund"
    keywords: tuple[tuple[str, float], ...] = (("SUN3", 0.3), ("SUN5", 0.5), ("SUN10", 0.2))
    refusing_share: float = 0.05  # texts from handsets whose network refuses the charge
    duplicate_rate: float = 0.0  # share of callbacks the aggregator sends twice
    jitter_s: float = 0.0  # random delay per callback, which reorders them
    couriers: int = 16  # threads posting callbacks side by side
    drain_timeout_s: float = 120.0  # after the last text, how long to wait for every charge to be on the books
    seed: int = 7
    # Measure acknowledgements alone: the deployment runs no workers (as when they run elsewhere and are behind),
    # so the run ends once every text is acknowledged, and nothing is posted.
    ack_only: bool = False

    def __post_init__(self) -> None:
        if self.peak_per_s <= 0 or self.ramp_s < 0 or self.hold_s <= 0:
            raise ValueError("the peak rate and the hold must be positive and the ramp not negative")
        if not self.keywords or any(weight <= 0 for _, weight in self.keywords):
            raise ValueError("give at least one keyword, each with a positive weight")
        if not 0 <= self.refusing_share <= 1 or not 0 <= self.duplicate_rate <= 1:
            raise ValueError("shares are between 0 and 1")

    @property
    def duration_s(self) -> float:
        return self.ramp_s + self.hold_s

    def offered_by(self, elapsed_s: float) -> int:
        """Texts due by `elapsed_s` into the spike: the integral of a linear ramp, then a flat peak."""
        t = min(max(elapsed_s, 0.0), self.duration_s)
        if self.ramp_s and t <= self.ramp_s:
            return int(self.peak_per_s * t * t / (2 * self.ramp_s))
        return int(self.peak_per_s * (self.ramp_s / 2 + (t - self.ramp_s)))

    @property
    def total_texts(self) -> int:
        return self.offered_by(self.duration_s)


def parse_keywords(mix: str) -> tuple[tuple[str, float], ...]:
    """'SUN3:30,SUN5:50,SUN10:20' → the texts' bodies and their weights."""
    pairs = []
    for item in filter(None, (part.strip() for part in mix.split(","))):
        body, _, weight = item.partition(":")
        try:
            pairs.append((body.strip(), float(weight) if weight else 1.0))
        except ValueError:
            raise ValueError(f"{item!r}: write each keyword as BODY:WEIGHT, e.g. SUN5:50") from None
    return tuple(pairs)


@dataclass
class SpikeRecord:
    """What happened, second by second; filled from the pacer, the couriers and the totals poller."""

    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # the same moment, on the wall clock
    offered: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    acked: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    latencies_ms: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused_posts: int = 0
    acked_guids: set[str] = field(default_factory=set)
    acked_texts: int = 0  # each text once, however often its callback was sent
    posted: list[tuple[float, int, int]] = field(default_factory=list)  # (elapsed s, donations, raised pence)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def second(self, moment: float) -> int:
        return int(moment - self.started)

    def on_callback(self, kind: str, fields: dict[str, str], due: float, answered: float, ok: bool) -> None:
        if kind != MO:
            return
        with self.lock:
            if not ok:
                self.refused_posts += 1
                return
            bucket = self.second(answered)
            self.acked[bucket] += 1
            self.acked_guids.add(fields["GUID"])
            self.acked_texts = len(self.acked_guids)
            self.latencies_ms[bucket].append((answered - due) * 1000)

    def on_acked_count(self, moment: float, acked_texts: int) -> None:
        """The deployment's own count of texts acknowledged since the spike began (from its /metrics)."""
        with self.lock:
            self.acked[self.second(moment)] += acked_texts - self.acked_texts
            self.acked_texts = acked_texts


@dataclass(frozen=True)
class SpikeFigures:
    texts_offered: int
    texts_acked: int
    offered_per_s: float
    acked_per_s: float
    ack_p50_ms: float
    ack_p99_ms: float
    peak_ack_p99_ms: float
    donations_posted: int
    donations_posted_per_s: float
    raised_pence: int
    simulator_charged_pence: int
    undeliverable_callbacks: int
    drained: bool
    seconds_to_drain: float
    latency_measured: bool = True  # not when driving a simulator that another process runs

    @property
    def totals_match(self) -> bool:
        return self.raised_pence == self.simulator_charged_pence

    def as_dict(self) -> dict:
        return {**asdict(self), "totals_match": self.totals_match}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(int(share * 1000), 999) - 1]


Progress = Callable[[SpikeRecord, str], None]


class RoundRobin(httpx.BaseTransport):
    """Spreads requests over several app processes, as a load balancer in front of app nodes does."""

    def __init__(self, urls: list[str], connections: int) -> None:
        self.targets = [httpx.URL(url) for url in urls]
        self.transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=connections * len(urls)))
        self._next = itertools.count()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.targets[next(self._next) % len(self.targets)]
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        return self.transport.handle_request(request)

    def close(self) -> None:
        self.transport.close()


def balanced_client(urls: list[str], connections: int) -> httpx.Client:
    return httpx.Client(base_url=urls[0], timeout=30, transport=RoundRobin(urls, connections))


class RunningSimulator:
    """An aggregator simulator another process runs (the demo's), driven through its /sim API: texts are sent
    with POST /sim/texts, and what it charged and still has queued are read back. Its callbacks and their
    retries, duplicates and delays are its own (`everypenny simulator aggregator` options)."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)
        self.undeliverable: list = []  # not visible from outside the simulator's process
        self.couriers_stopped = True
        self._charged_before = 0

    def start(self, couriers: int) -> None:
        self._charged_before = self._charged_in_all()

    def stop(self) -> None:
        """Nothing to stop: the simulator keeps running for whoever started it."""

    def text(self, sender: str, to: str, body: str) -> None:
        self.client.post("/sim/texts", json={"from": sender, "to": to, "body": body}).raise_for_status()

    def queued(self) -> int:
        """Callbacks still on their way; every handset's page reports the simulator's queue."""
        return self.client.get(f"/sim/handsets/{PAYING_PREFIX}000000").raise_for_status().json()["callbacks_queued"]

    def _charged_in_all(self) -> int:
        return self.client.get("/sim/charges").raise_for_status().json()["charged_pence"]

    def charged_pence(self) -> int:
        """Charged since this spike began: the simulator also remembers what it charged before."""
        return self._charged_in_all() - self._charged_before


class SpikeRun:
    """One spike against the app at `app_urls` (several: spread round-robin), with the simulated aggregator
    listening at `aggregator_url`."""

    def __init__(self, plan: SpikePlan, app_urls: list[str], aggregator_url: str, api_key: str,
                 callback_token: str, running_simulator: bool = False, faults: Faults = Faults()) -> None:
        self.plan = plan
        self.app_urls = [url.rstrip("/") for url in app_urls]
        self.aggregator_url = aggregator_url
        self.record = SpikeRecord()
        self.running_simulator = running_simulator
        self.simulator = RunningSimulator(aggregator_url) if running_simulator else SimulatedAggregator(
            self.app_urls[0], api_key, callback_token, seed=plan.seed, observer=self.record.on_callback,
            delivery=Delivery(jitter_s=plan.jitter_s, duplicate_rate=plan.duplicate_rate),
            client=KeepAliveClient(self.app_urls), faults=faults)
        self._random = random.Random(plan.seed)
        self._bodies = [body for body, _ in plan.keywords]
        self._weights = [weight for _, weight in plan.keywords]
        self._texts_started = threading.Event()
        self._stop_polling = threading.Event()

    def _handset(self) -> str:
        if self._random.random() < self.plan.refusing_share:
            return self._random.choice(REFUSING)
        return f"{PAYING_PREFIX}{self._random.randrange(1_000_000):06d}"

    def _offer(self, progress: Progress | None) -> None:
        """Offers texts at the planned rate, ticking every few milliseconds; never waits for the app."""
        offered, plan = 0, self.plan
        self.record.started = start = time.monotonic()
        last_report = 0.0
        while offered < plan.total_texts:
            now = time.monotonic()
            due = plan.offered_by(now - start)
            for _ in range(due - offered):
                body = self._random.choices(self._bodies, self._weights)[0]
                self.simulator.text(self._handset(), plan.shortcode, body)
            with self.record.lock:
                self.record.offered[self.record.second(now)] += due - offered
            offered = due
            if progress and now - last_report > 0.25:
                progress(self.record, "offering")
                last_report = now
            time.sleep(0.002)

    def _totals(self, client: httpx.Client) -> tuple[int, int]:
        answer = client.get(f"/api/v1/appeals/{self.plan.appeal}/totals").raise_for_status().json()
        return answer["donation_count"], answer["raised_pence"]

    def _poll_totals(self, client: httpx.Client, acked_before: int) -> None:
        while not self._stop_polling.wait(0.5):
            try:
                donations, raised = self._totals(client)
                if self.running_simulator:
                    self.record.on_acked_count(time.monotonic(), self._texts_acked(client) - acked_before)
            except httpx.HTTPError:
                continue  # an app restarting mid-spike: the next poll will see it
            self.record.posted.append((time.monotonic() - self.record.started, donations, raised))

    def run(self, progress: Progress | None = None) -> SpikeFigures:
        where = urlparse(self.aggregator_url)
        serving = BackgroundServer(
            create_simulator_app(self.simulator), host=where.hostname or "127.0.0.1", port=where.port or 80,
            name="aggregator") if isinstance(self.simulator, SimulatedAggregator) else nullcontext()
        with balanced_client(self.app_urls, 2) as client, serving:
            base_donations, base_raised = self._totals(client)
            acked_before = self._texts_acked(client) if self.running_simulator else 0
            self.simulator.start(self.plan.couriers)
            poller = threading.Thread(target=self._poll_totals, args=(client, acked_before), name="totals",
                                      daemon=True)
            try:
                self.record.started, self.record.started_at = time.monotonic(), datetime.now(UTC)
                poller.start()
                self._offer(progress)
                offered_for_s = time.monotonic() - self.record.started
                drained = self._drain(client, base_raised, progress)
                charged = self.simulator.charged_pence()
            finally:
                self._stop_polling.set()
                poller.join(timeout=5)
                self.simulator.stop()
                if self.simulator.couriers_stopped:
                    self.simulator.client.close()  # else a courier still waits on the app: leave it its client
            donations, raised = self._totals(client)
            if self.running_simulator:
                self.record.on_acked_count(time.monotonic(), self._texts_acked(client) - acked_before)
        return self._figures(offered_for_s, donations - base_donations, raised - base_raised, charged, drained)

    def _drain(self, client: httpx.Client, base_raised: int, progress: Progress | None) -> bool:
        """Waits until every callback is answered and the books show everything the networks charged."""
        deadline = time.monotonic() + self.plan.drain_timeout_s
        while time.monotonic() < deadline:
            if progress:
                progress(self.record, "draining")
            try:
                settled = self._settled(client, base_raised)
            except httpx.HTTPError:
                settled = False  # an app node restarting: ask again
            if settled:
                return True
            time.sleep(0.25)
        return False

    def _settled(self, client: httpx.Client, base_raised: int) -> bool:
        """No callback on its way, the books match, and no work queued in the deployment (its /metrics).
        Cheapest first: /metrics counts whole tables, which at four scrapes a second would be a load of the
        rehearsal's own making (Prometheus scrapes every 15 s or so)."""
        if self.plan.ack_only:
            return not self.simulator.queued()
        if self.simulator.queued() or self._totals(client)[1] - base_raised != self.simulator.charged_pence():
            return False
        return not self._outbox_depth(client)

    @staticmethod
    def _metric(client: httpx.Client, prefix: str) -> int:
        """The sum of the deployment's /metrics samples whose line starts with `prefix`."""
        body = client.get("/metrics").raise_for_status().text
        return sum(int(float(line.rsplit(" ", 1)[1])) for line in body.splitlines() if line.startswith(prefix))

    def _outbox_depth(self, client: httpx.Client) -> int:
        return self._metric(client, "everypenny_outbox_depth{")

    def _texts_acked(self, client: httpx.Client) -> int:
        return self._metric(client, "everypenny_texts_acked_total ")

    def _figures(self, offered_for_s: float, donations: int, raised: int, charged: int,
                 drained: bool) -> SpikeFigures:
        record, plan = self.record, self.plan
        all_latencies = [ms for bucket in record.latencies_ms.values() for ms in bucket]
        peak_from = int(plan.ramp_s)
        peak_latencies = [ms for second, bucket in record.latencies_ms.items() if second >= peak_from
                          for ms in bucket]
        acked = record.acked_texts
        acked_seconds = (max(record.acked) + 1) if record.acked else offered_for_s
        last_post = next((moment for moment, count, _ in reversed(record.posted)
                          if count < record.posted[-1][1]), None) if record.posted else None
        drain_s = record.posted[-1][0] if drained and record.posted else offered_for_s
        posting_s = max(last_post or drain_s, offered_for_s) if donations else 1.0
        return SpikeFigures(
            texts_offered=plan.total_texts, texts_acked=acked,
            offered_per_s=plan.total_texts / offered_for_s, acked_per_s=acked / max(acked_seconds, offered_for_s),
            ack_p50_ms=percentile(all_latencies, 0.50), ack_p99_ms=percentile(all_latencies, 0.99),
            peak_ack_p99_ms=percentile(peak_latencies, 0.99),
            donations_posted=donations, donations_posted_per_s=donations / posting_s,
            raised_pence=raised, simulator_charged_pence=charged,
            undeliverable_callbacks=len(self.simulator.undeliverable), drained=drained, seconds_to_drain=drain_s,
            latency_measured=not self.running_simulator)

    def markers(self) -> list[tuple[float, str]]:
        """The appeal's broadcast markers (its public API) as (seconds into the spike, label), for the chart."""
        with balanced_client(self.app_urls, 1) as client:
            listed = client.get(f"/api/v1/appeals/{self.plan.appeal}/markers").raise_for_status().json()
        return [((datetime.fromisoformat(marker["at"]) - self.record.started_at).total_seconds(), marker["label"])
                for marker in listed]

    def timeline(self) -> list[dict[str, float]]:
        """Per second: offered and acked texts, ack latency p50/p99, donations posted that second."""
        record = self.record
        last = max([*record.offered, *record.acked, *(int(t) for t, _, _ in record.posted), 0])
        posted_by_second: dict[int, int] = {}
        for moment, count, _ in record.posted:
            posted_by_second[int(moment)] = count
        rows, previous = [], record.posted[0][1] if record.posted else 0
        for second in range(last + 1):
            latencies = record.latencies_ms.get(second, [])
            count = posted_by_second.get(second, previous)
            rows.append({"second": second, "offered": record.offered.get(second, 0),
                         "acked": record.acked.get(second, 0), "p50_ms": percentile(latencies, 0.5),
                         "p99_ms": percentile(latencies, 0.99), "posted": count - previous})
            previous = count
        return rows
