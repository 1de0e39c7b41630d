"""A local carrier-billing aggregator: a real HTTP server speaking the aggregator's wire format.

Handsets text a shortcode (the simulator posts the MO to the app), the app asks for charges and sends
messages (the simulator decides each charge by the handset's network and behaviour, then posts charge
and delivery reports back, signed). It keeps a record of everything it charged, served over HTTP, so a
test can check the appeal's totals against it. Callbacks can be delayed, duplicated and reordered on
request; without those options nothing sleeps, so benchmarks measure the app, not the simulator.

Handsets are chosen by number (Ofcom's drama range, 07700 900000-900999; see PROFILES and the README).
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from everypenny.adapters.aggregator import wire
from everypenny.domain.settlement import StatementLine, statement_csv

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HandsetProfile:
    network: str
    description: str
    max_charge_pence: int | None = None  # the network bills at most this in one charge
    credit_pence: int | None = None  # pay-as-you-go credit
    spend_cap_pence: int | None = None  # a contract's limit on premium spending
    refusal: str | None = None  # every charge fails with this reason


DEFAULT_PROFILE = HandsetProfile("EE", "EE contract: every charge goes through")
# By the last three digits of +447700900NNN.
PROFILES: list[tuple[range, HandsetProfile]] = [
    (range(0, 100), DEFAULT_PROFILE),
    (range(100, 200), HandsetProfile("O2", "O2 contract: bills at most £10 per charge", max_charge_pence=1000)),
    (range(200, 250), HandsetProfile("VODAFONE", "Vodafone pay-as-you-go with £5 credit", credit_pence=500)),
    (range(250, 300), HandsetProfile("THREE", "Three, premium and donation texts barred", refusal="BARRED")),
    (range(300, 350), HandsetProfile("VODAFONE", "Vodafone contract with a £10 spend cap", spend_cap_pence=1000)),
    (range(350, 400), HandsetProfile("MVNO", "a network that does not bill donations",
                                     refusal="NETWORK_NOT_SUPPORTED")),
    (range(400, 450), HandsetProfile("EE", "a number no network knows", refusal="UNKNOWN_SUBSCRIBER")),
    (range(450, 500), HandsetProfile("TESCO", "Tesco Mobile contract: bills at most £10 per charge",
                                     max_charge_pence=1000)),
    (range(500, 550), HandsetProfile("O2", "O2 pay-as-you-go with £15 credit, at most £10 per charge",
                                     max_charge_pence=1000, credit_pence=1500)),
]
_DRAMA = re.compile(r"^447700900([0-9]{3})$")


def profile_for(msisdn: str) -> HandsetProfile:
    match = _DRAMA.match(msisdn)
    if match:
        last = int(match.group(1))
        for numbers, profile in PROFILES:
            if last in numbers:
                return profile
    return DEFAULT_PROFILE


@dataclass
class Handset:
    msisdn: str
    profile: HandsetProfile
    spent_pence: int = 0
    received: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    """How callbacks travel: extra delay, random jitter (which reorders them), duplicates, reversed batches."""

    delay_s: float = 0.0
    jitter_s: float = 0.0
    duplicate_rate: float = 0.0
    reverse_batches: bool = False


COURIER_BATCH = 4  # callbacks one courier takes at a time

# Told of every callback attempt: (path, fields, when it was due, when the app answered, whether it took it).
CallbackObserver = Callable[[str, dict[str, str], float, float, bool], None]


def _msisdn(number: str) -> str:
    return number.strip().lstrip("+")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


class CallbackClient(Protocol):
    """How callbacks reach the app: an httpx.Client, a TestClient, or the spike's KeepAliveClient. A failure
    to reach the app raises httpx.HTTPError."""

    def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> Any: ...

    def close(self) -> None: ...


class SimulatedAggregator:
    def __init__(self, app_url: str, api_key: str, callback_secret: str, delivery: Delivery = Delivery(),
                 seed: int = 0, client: CallbackClient | None = None, max_attempts: int = 8,
                 retry_base_s: float = 0.2, observer: CallbackObserver | None = None) -> None:
        self.api_key = api_key
        self.observer = observer
        self.callback_secret = callback_secret
        self.delivery = delivery
        self._owns_client = client is None
        self.client = client or httpx.Client(base_url=app_url, timeout=10)
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.handsets: dict[str, Handset] = {}
        self.charges: dict[str, dict[str, str | int]] = {}
        self.messages: dict[str, dict[str, str]] = {}
        self.undeliverable: list[tuple[str, dict[str, str]]] = []
        self._random = random.Random(seed)
        self._queue: list[tuple[float, int, str, dict[str, str], int]] = []
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._couriers: list[threading.Thread] = []
        self._in_flight = 0

    # ---- what handsets do ----

    def handset(self, number: str) -> Handset:
        msisdn = _msisdn(number)
        if msisdn not in self.handsets:
            self.handsets[msisdn] = Handset(msisdn, profile_for(msisdn))
        return self.handsets[msisdn]

    def text(self, sender: str, to: str, body: str) -> str:
        """A handset texts `to`; returns the MO's message id."""
        guid = uuid.uuid4().hex
        with self._lock:
            handset = self.handset(sender)
            self._schedule(wire.MO_CALLBACK, {
                "IFVERSION": wire.INTERFACE_VERSION, "GUID": guid, "MONUMBER": handset.msisdn,
                "DESTINATION": to, "OPERATOR": handset.profile.network, "BODY": body, "RECEIVETIME": _stamp()})
        return guid

    # ---- the API the app calls ----

    def charge(self, fields: dict[str, str]) -> tuple[int, dict[str, str | int]]:
        problem = _missing(fields, "NUMBERS", "AMOUNT", "REQUESTID", "ORIGINATOR")
        if problem or not fields["AMOUNT"].isdigit() or int(fields["AMOUNT"]) <= 0 or len(fields["REQUESTID"]) > 80:
            return 400, {"error": problem or "AMOUNT must be whole pence and REQUESTID at most 80 characters"}
        request_id, amount = fields["REQUESTID"], int(fields["AMOUNT"])
        with self._lock:
            known = self.charges.get(request_id)
            if known is not None:  # idempotent: the same request again is not a second charge
                if (known["msisdn"], known["amount_pence"]) != (_msisdn(fields["NUMBERS"]), amount):
                    return 409, {"error": f"REQUESTID {request_id} was used for another charge"}
                return 200, {"txguid": known["txguid"], "numbers": 1}
            handset = self.handset(fields["NUMBERS"])
            reason = self._refusal(handset, amount)
            if reason is None:
                handset.spent_pence += amount
            record: dict[str, str | int] = {
                "request_id": request_id, "txguid": uuid.uuid4().hex, "msisdn": handset.msisdn,
                "shortcode": fields["ORIGINATOR"], "amount_pence": amount, "network": handset.profile.network,
                "status": "charged" if reason is None else "failed", "reason": reason or "",
                "charged_at": datetime.now(UTC).isoformat(timespec="seconds")}
            self.charges[request_id] = record
            self._schedule(wire.CHARGE_REPORT_CALLBACK, {
                "IFVERSION": wire.INTERFACE_VERSION, "GUID": str(record["txguid"]), "REQUESTID": request_id,
                "MONUMBER": handset.msisdn, "OPERATOR": handset.profile.network, "AMOUNT": str(amount),
                "STATUSCODE": wire.CHARGED if reason is None else wire.FAILED, "STATUSTEXT": reason or "",
                "STATUSTIME": _stamp()})
        return 200, {"txguid": record["txguid"], "numbers": 1}

    @staticmethod
    def _refusal(handset: Handset, amount: int) -> str | None:
        profile = handset.profile
        if profile.refusal:
            return profile.refusal
        if profile.max_charge_pence is not None and amount > profile.max_charge_pence:
            return "OVER_NETWORK_MAXIMUM"
        if profile.credit_pence is not None and handset.spent_pence + amount > profile.credit_pence:
            return "INSUFFICIENT_CREDIT"
        if profile.spend_cap_pence is not None and handset.spent_pence + amount > profile.spend_cap_pence:
            return "SPEND_CAP"
        return None

    def send(self, fields: dict[str, str]) -> tuple[int, dict[str, str | int]]:
        problem = _missing(fields, "NUMBERS", "BODY", "REQUESTID", "ORIGINATOR")
        if problem:
            return 400, {"error": problem}
        request_id = fields["REQUESTID"]
        with self._lock:
            if request_id in self.messages:
                return 200, {"txguid": self.messages[request_id]["txguid"], "numbers": 1}
            handset = self.handset(fields["NUMBERS"])
            message = {"request_id": request_id, "txguid": uuid.uuid4().hex, "from": fields["ORIGINATOR"],
                       "to": handset.msisdn, "body": fields["BODY"], "received_at": _stamp()}
            self.messages[request_id] = message
            unknown = handset.profile.refusal == "UNKNOWN_SUBSCRIBER"
            if not unknown:
                handset.received.append(message)
            self._schedule(wire.DELIVERY_REPORT_CALLBACK, {
                "IFVERSION": wire.INTERFACE_VERSION, "GUID": message["txguid"], "REQUESTID": request_id,
                "STATUSCODE": "FAILED" if unknown else wire.DELIVERED, "STATUSTEXT": "UNKNOWN_SUBSCRIBER" if unknown
                else "", "STATUSTIME": _stamp()})
        return 200, {"txguid": message["txguid"], "numbers": 1}

    def charge_records(self) -> list[dict[str, str | int]]:
        with self._lock:
            return list(self.charges.values())

    def charged_pence(self) -> int:
        """What the simulated networks billed: the figure an appeal's raised total must equal."""
        return sum(int(c["amount_pence"]) for c in self.charge_records() if c["status"] == "charged")

    def settlement_statement(self, month: str, network: str, fee_pence: int = 0, omit: Iterable[str] = (),
                             short: Iterable[str] = (), unknown: int = 0, pay_failed: bool = False) -> str:
        """The CSV statement this aggregator would send for a network's month (see README, "Settlement
        statements"), with deliberate mistakes on request: `omit` leaves charges out, `short` pays them
        half, `unknown` adds lines for charges that never happened, `pay_failed` pays failed charges."""
        omitted, halved = set(omit), set(short)
        lines: list[StatementLine] = []
        for record in self.charge_records():
            wanted = record["status"] == "charged" or pay_failed
            if (record["network"] != network or not str(record["charged_at"]).startswith(month) or not wanted
                    or record["request_id"] in omitted):
                continue
            gross = int(record["amount_pence"]) // (2 if record["request_id"] in halved else 1)
            lines.append(StatementLine(len(lines) + 1, str(record["request_id"]), str(record["txguid"]),
                                       str(record["charged_at"]), gross, min(fee_pence, gross)))
        for _ in range(unknown):
            lines.append(StatementLine(len(lines) + 1, f"unknown-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex,
                                       f"{month}-01T00:00:00+00:00", 500, min(fee_pence, 500)))
        return statement_csv(f"{network.upper()}-{month}", network, month, lines)

    # ---- callbacks to the app ----

    def _schedule(self, path: str, fields: dict[str, str]) -> None:
        copies = 2 if self._random.random() < self.delivery.duplicate_rate else 1
        for _ in range(copies):
            due = time.monotonic() + self.delivery.delay_s + self._random.uniform(0, self.delivery.jitter_s)
            heapq.heappush(self._queue, (due, next(self._sequence), path, fields, 0))
        self._wake.set()

    def queued(self) -> int:
        """Callbacks not yet answered by the app (waiting, or on their way)."""
        with self._lock:
            return len(self._queue) + self._in_flight

    def deliver_due(self, limit: int | None = None) -> int:
        """Posts every callback whose time has come (at most `limit`, so couriers share a burst rather than
        one courier taking all of it); a refused or failed one is retried with backoff."""
        now = time.monotonic()
        with self._lock:
            batch = []
            while self._queue and self._queue[0][0] <= now and (limit is None or len(batch) < limit):
                batch.append(heapq.heappop(self._queue))
            self._in_flight += len(batch)
        if self.delivery.reverse_batches:
            batch.reverse()
        for due, _, path, fields, attempts in batch:
            self._post(path, fields, attempts, due)
        return len(batch)

    def _post(self, path: str, fields: dict[str, str], attempts: int, due: float) -> None:
        body = wire.encode(fields)
        try:
            response = self.client.post(path, content=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                wire.SIGNATURE_HEADER: wire.sign(self.callback_secret, body)})
            delivered = response.status_code < 300
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as failure:
            delivered, error = False, repr(failure)
        if self.observer is not None:
            self.observer(path, fields, due, time.monotonic(), delivered)
        with self._lock:
            self._in_flight -= 1
            if delivered:
                return
            if attempts + 1 >= self.max_attempts:
                self.undeliverable.append((path, fields))
                log.warning("simulator gave up on a callback", path=path, error=error)
                return
            retry = time.monotonic() + self.retry_base_s * 2 ** attempts
            heapq.heappush(self._queue, (retry, next(self._sequence), path, fields, attempts + 1))
        self._wake.set()

    def start(self, couriers: int = 1) -> None:
        """Delivers callbacks from background threads, as a real aggregator does; more couriers, more load."""
        self._couriers = [threading.Thread(target=self._run_courier, name=f"aggregator-courier-{n}", daemon=True)
                          for n in range(couriers)]
        for courier in self._couriers:
            courier.start()

    def _run_courier(self) -> None:
        while not self._stop.is_set():
            self.deliver_due(limit=COURIER_BATCH)
            with self._lock:
                wait = (self._queue[0][0] - time.monotonic()) if self._queue else 1.0
            if wait > 0:
                self._wake.wait(timeout=wait)
                self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for courier in self._couriers:
            courier.join(timeout=10)
        if self._owns_client:
            self.client.close()

    @property
    def couriers_stopped(self) -> bool:
        """False while a courier still waits on a slow app after stop() gave up waiting for it."""
        return not any(courier.is_alive() for courier in self._couriers)


def _missing(fields: dict[str, str], *names: str) -> str | None:
    missing = [name for name in names if not fields.get(name, "").strip()]
    return f"missing {', '.join(missing)}" if missing else None


def create_simulator_app(simulator: SimulatedAggregator) -> Starlette:
    def api(handle: Callable[[dict[str, str]], tuple[int, dict]]):
        async def endpoint(request: Request):
            if request.headers.get(wire.API_KEY_HEADER) != simulator.api_key:
                return JSONResponse({"error": f"missing or wrong {wire.API_KEY_HEADER}"}, status_code=401)
            status, answer = handle(wire.decode(await request.body()))
            return JSONResponse(answer, status_code=status)
        return endpoint

    async def text(request: Request):
        form = await request.json()
        if not all(isinstance(form.get(k), str) for k in ("from", "to", "body")):
            return JSONResponse({"error": "send JSON with from, to and body"}, status_code=400)
        return JSONResponse({"guid": simulator.text(form["from"], form["to"], form["body"])})

    async def received(request: Request):
        handset = simulator.handset(request.path_params["msisdn"])
        return JSONResponse({"msisdn": handset.msisdn, "network": handset.profile.network,
                             "behaviour": handset.profile.description, "messages": list(handset.received),
                             "callbacks_queued": simulator.queued()})

    async def charges(request: Request):
        return JSONResponse({"charged_pence": simulator.charged_pence(), "charges": simulator.charge_records()})

    async def settlements(request: Request):
        query = request.query_params
        month, network = query.get("month", ""), query.get("network", "")
        if not re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", month) or not network:
            return JSONResponse({"error": "give month=YYYY-MM and network=NAME"}, status_code=400)
        numbers = {name: query.get(name, "0") for name in ("fee_pence", "unknown")}
        if not all(value.isdigit() for value in numbers.values()):
            return JSONResponse({"error": "fee_pence and unknown must be whole numbers"}, status_code=400)
        body = simulator.settlement_statement(
            month, network, int(numbers["fee_pence"]), query.getlist("omit"), query.getlist("short"),
            int(numbers["unknown"]), query.get("pay_failed") in ("1", "true", "yes"))
        return PlainTextResponse(body, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="settlement-{network}-{month}.csv"'})

    async def health(request: Request):
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route(wire.CHARGE_PATH, api(simulator.charge), methods=["POST"]),
        Route(wire.SEND_PATH, api(simulator.send), methods=["POST"]),
        Route("/sim/texts", text, methods=["POST"]),
        Route("/sim/handsets/{msisdn}", received),
        Route("/sim/charges", charges),
        Route("/sim/settlements", settlements),
        Route("/healthz", health),
    ])
