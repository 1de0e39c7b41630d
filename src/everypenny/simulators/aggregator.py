"""A local Fonix: a real HTTP server speaking Fonix's v2 wire format, written apart from our adapter.

It is a second, independent implementation of the format, from the recorded exchanges in the public Fonix
clients (lindar-open/fonix-client, JakubOboza/fonix) and nothing of adapters/aggregator/: a contract suite
(tests/unit/test_fonix_contract.py) runs the same recorded exchanges against both, so neither can drift from Fonix
alone.

Handsets text a shortcode (the simulator posts the MO to the app), the app asks for charges
(`/v2/chargemobile`, whose BODY the handset receives if the charge goes through), sends free messages
(`/v2/sendsms`) and refunds (`/v2/refund`); the simulator decides each charge by the handset's network and
behaviour, then posts charge reports (which also report the message sent with a charge) and delivery
reports of free messages back to the callback URLs with the secret token. It keeps
a record of everything it charged, served over HTTP, so a test can check the appeal's totals against it.
Callbacks can be delayed, duplicated and reordered on request, and the aggregator can misbehave as a real
one does (simulators/aggregator_faults.py: lost answers, refused repeats, early and late reports, charges
whose time to live passes); without those options nothing sleeps, so benchmarks measure the app, not the
simulator. A request with DUMMY=yes is answered and otherwise ignored.

Handsets are chosen by number (Ofcom's drama range, 07700 900000-900999; see PROFILES and
docs/going-live-aggregator.md).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from everypenny.domain.settlement import StatementLine, statement_csv
from everypenny.simulators.aggregator_faults import LATE_BY_S, AnswerLost, ChargeFaults, Faults

log = structlog.get_logger(__name__)

IFVERSION = "201001"
CHARGE_MOBILE = "/v2/chargemobile"
SEND_SMS = "/v2/sendsms"
REFUND = "/v2/refund"
KEY_HEADER = "X-API-KEY"
MO, CHARGE_REPORT, DELIVERY_REPORT = "mo", "charge-report", "delivery-report"
DELIVERED = "DELIVERED"
UK_TIME = ZoneInfo("Europe/London")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9]{1,80}$")


@dataclass(frozen=True)
class HandsetProfile:
    operator: str  # Fonix's operator code, as callbacks carry it
    network: str  # the network's name on the monthly statement
    description: str
    max_charge_pence: int | None = None  # the network bills at most this in one charge
    credit_pence: int | None = None  # pay-as-you-go credit
    spend_cap_pence: int | None = None  # a contract's limit on premium spending
    refusal: str | None = None  # every charge fails with this status code
    refunds_pending: bool = False  # the network never finishes a refund
    reports_lost: bool = False  # charges go through but no charge report ever comes


DEFAULT_PROFILE = HandsetProfile("eetmo-uk", "EE", "EE contract: every charge goes through")
# By the last three digits of +447700900NNN. The failure codes are Fonix's where its clients list one;
# UNKNOWN_SUBSCRIBER and AMOUNT_OVER_NETWORK_MAXIMUM are the simulator's own, codes no list has.
PROFILES: list[tuple[range, HandsetProfile]] = [
    (range(0, 100), DEFAULT_PROFILE),
    (range(100, 200), HandsetProfile("o2-uk", "O2", "O2 contract: bills at most £10 per charge",
                                     max_charge_pence=1000)),
    (range(200, 250), HandsetProfile("voda-uk", "VODAFONE", "Vodafone pay-as-you-go with £5 credit",
                                     credit_pence=500)),
    (range(250, 300), HandsetProfile("three-uk", "THREE", "Three, premium and donation texts barred",
                                     refusal="TEMPORARY_BARRED")),
    (range(300, 350), HandsetProfile("voda-uk", "VODAFONE", "Vodafone contract with a £10 spend cap",
                                     spend_cap_pence=1000)),
    (range(350, 400), HandsetProfile("mvno-uk", "MVNO", "a network that does not bill donations",
                                     refusal="SECTOR_NOT_ALLOWED")),
    (range(400, 450), HandsetProfile("eeora-uk", "EE", "a number no network knows", refusal="UNKNOWN_SUBSCRIBER")),
    (range(450, 500), HandsetProfile("tesco-uk", "TESCO", "Tesco Mobile contract: bills at most £10 per charge",
                                     max_charge_pence=1000)),
    (range(500, 550), HandsetProfile("o2-uk", "O2", "O2 pay-as-you-go with £15 credit, at most £10 per charge",
                                     max_charge_pence=1000, credit_pence=1500)),
    (range(550, 600), HandsetProfile("virgin-uk", "VIRGIN", "Virgin Mobile contract: refunds stay pending",
                                     refunds_pending=True)),
    (range(600, 650), HandsetProfile("eetmo-uk", "EE", "EE contract: charged, but the charge report never comes",
                                     reports_lost=True)),
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

# Told of every callback attempt: (kind, fields, when it was due, when the app answered, whether it took it).
CallbackObserver = Callable[[str, dict[str, str], float, float, bool], None]
Answer = tuple[int, dict[str, Any]]


def _msisdn(number: str) -> str:
    """NUMBERS may name the operator too (`o2-uk.447400000000`, as in JakubOboza/fonix's refund example)."""
    return number.strip().rsplit(".", 1)[-1].lstrip("+")


def _stamp() -> str:
    """Fonix's dates: YYYYMMDDhhmmss, UK time."""
    return _stamp_of_second(int(time.time()))


@lru_cache(maxsize=4)
def _stamp_of_second(second: int) -> str:
    # A spike stamps thousands of callbacks a second: each second is formatted once.
    return datetime.fromtimestamp(second, UK_TIME).strftime("%Y%m%d%H%M%S")


def _guid() -> str:
    """GUIDs shaped as in the recorded MO: 8-4-4-4-12 upper-case hex."""
    raw = uuid.uuid4().hex.upper()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def _txguid() -> str:
    """Ids for what Fonix took, shaped as in JakubOboza/fonix's example answer (r-4-F21B...)."""
    return f"r-4-{uuid.uuid4().hex.upper()}"


def _failure(status: int, parameter: str, code: str) -> Answer:
    return status, {"failure": {"parameter": parameter, "failcode": code}}


def _check(fields: dict[str, str], *names: str) -> Answer | None:
    for name in names:
        if not fields.get(name, "").strip():
            return _failure(400, name, "IS_EMPTY")
    return None


class CallbackClient(Protocol):
    """How callbacks reach the app: an httpx.Client, a TestClient, or the spike's KeepAliveClient. A failure
    to reach the app raises httpx.HTTPError."""

    def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> Any: ...

    def close(self) -> None: ...


class SimulatedAggregator:
    def __init__(self, app_url: str, api_key: str, callback_token: str, delivery: Delivery = Delivery(),
                 seed: int = 0, client: CallbackClient | None = None, max_attempts: int = 8,
                 retry_base_s: float = 0.2, observer: CallbackObserver | None = None,
                 faults: Faults = Faults()) -> None:
        self.api_key = api_key
        self.faults = faults
        self.struck: Counter[str] = Counter()  # how often each fault struck
        self.observer = observer
        self.callback_token = callback_token
        self.delivery = delivery
        self._owns_client = client is None
        self.client = client or httpx.Client(base_url=app_url, timeout=10)
        self.max_attempts = max_attempts
        self.retry_base_s = retry_base_s
        self.handsets: dict[str, Handset] = {}
        self.charges: dict[str, dict[str, str | int]] = {}  # by REQUESTID
        self.messages: dict[str, dict[str, str]] = {}  # by txguid
        self.refunds: dict[str, Answer] = {}  # by REQUESTID
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
        """A handset texts `to`; returns the MO's GUID."""
        guid = _guid()
        with self._lock:
            handset = self.handset(sender)
            self._schedule(MO, {
                "IFVERSION": IFVERSION, "MONUMBER": handset.msisdn, "OPERATOR": handset.profile.operator,
                "DESTINATION": to, "BODY": body, "RECEIVETIME": _stamp(), "GUID": guid, "PRICE": "0"})
        return guid

    # ---- the API the app calls ----

    def charge(self, fields: dict[str, str]) -> Answer:
        """`/v2/chargemobile`: idempotent on REQUESTID; the same id for another charge is refused."""
        problem = _check(fields, "NUMBERS", "AMOUNT", "CURRENCY", "REQUESTID", "CHARGEDESCRIPTION")
        if problem:
            return problem
        if not fields["AMOUNT"].isdigit() or int(fields["AMOUNT"]) <= 0:
            return _failure(400, "AMOUNT", "IS_INVALID")
        if fields["CURRENCY"] != "GBP":
            return _failure(400, "CURRENCY", "IS_INVALID")
        if not _REQUEST_ID.match(fields["REQUESTID"]):
            return _failure(400, "REQUESTID", "IS_INVALID")
        if fields.get("DUMMY", "").lower() == "yes":
            return 200, {"success": {"txguid": _txguid(), "numbers": "1", "encoding": "gsm"}}
        request_id, amount = fields["REQUESTID"], int(fields["AMOUNT"])
        with self._lock:
            known = self.charges.get(request_id)
            if known is not None:
                if (known["msisdn"], known["amount_pence"]) != (_msisdn(fields["NUMBERS"]), amount):
                    return _failure(400, "REQUESTID", "DUPLICATE_REQUESTID")
                if self.faults.refuse_repeat(self._random):
                    self.struck["refuse-repeats"] += 1
                    return _failure(400, "REQUESTID", "IS_DUPLICATE")
                return 200, {"success": {"txguid": known["txguid"], "numbers": "1", "encoding": "gsm"}}
            struck = self.faults.roll(self._random)
            self.struck.update(struck.names())
            record, early_report = self._new_charge(fields, struck)
        if early_report is not None:
            self._post_now(CHARGE_REPORT, early_report)
        if struck.lost_answer:
            raise AnswerLost(f"charged {request_id}, then closed the connection before answering")
        return 200, {"success": {"txguid": record["txguid"], "numbers": "1", "encoding": "gsm"}}

    def _new_charge(self, fields: dict[str, str], struck: ChargeFaults) -> tuple[dict[str, str | int],
                                                                                 dict[str, str] | None]:
        """Bills the handset (unless the charge's time to live passes first) and queues its report; returns the
        charge's record and its report when it is to beat the answer (early-reports)."""
        request_id, amount = fields["REQUESTID"], int(fields["AMOUNT"])
        handset = self.handset(fields["NUMBERS"])
        code = None if struck.expired else self._refusal(handset, amount)
        status = "expired" if struck.expired else "charged" if code is None else "failed"
        if status == "charged":
            handset.spent_pence += amount
        record: dict[str, str | int] = {
            "request_id": request_id, "txguid": _txguid(), "msisdn": handset.msisdn,
            "amount_pence": amount, "description": fields["CHARGEDESCRIPTION"], "network": handset.profile.network,
            "operator": handset.profile.operator, "status": status, "reason": code or "", "refunded_pence": 0,
            "charged_at": datetime.now(UTC).isoformat(timespec="seconds")}
        self.charges[request_id] = record
        report = None if handset.profile.reports_lost or struck.expired else {
            "IFVERSION": IFVERSION, "CHARGEMETHOD": "BILL", "MONUMBER": handset.msisdn,
            "OPERATOR": handset.profile.operator, "GUID": str(record["txguid"]), "DURATION": "1",
            "RETRYCOUNT": "0", "STATUSCODE": code or DELIVERED,
            "STATUSTEXT": "Delivered" if code is None else code.replace("_", " ").capitalize(),
            "REQUESTID": request_id, "STATUSTIME": _stamp(), "CONTRACT": "PAYG"}
        if report is not None and not struck.early:
            self._schedule(CHARGE_REPORT, report, later_s=LATE_BY_S if struck.late else 0.0)
        if status == "charged" and fields.get("CHARGESILENT", "no").lower() == "no" and fields.get("BODY"):
            # The charged message's report is the charge report (STATUSCODE DELIVERED): JakubOboza/fonix's
            # client/handlers.go reads one kind of report with REQUESTID, DURATION and RETRYCOUNT, and its
            # chargemobile example's BODY is the billed message itself. No second report follows.
            self._deliver(handset, str(record["txguid"]), fields.get("ORIGINATOR", ""), fields["BODY"],
                          reported=False)
        return record, report if struck.early else None

    @staticmethod
    def _refusal(handset: Handset, amount: int) -> str | None:
        profile = handset.profile
        if profile.refusal:
            return profile.refusal
        if profile.max_charge_pence is not None and amount > profile.max_charge_pence:
            return "AMOUNT_OVER_NETWORK_MAXIMUM"
        if profile.credit_pence is not None and handset.spent_pence + amount > profile.credit_pence:
            return "INSUFFICIENT_FUNDS"
        if profile.spend_cap_pence is not None and handset.spent_pence + amount > profile.spend_cap_pence:
            return "MAX_SPEND_MSISDN"
        return None

    def send(self, fields: dict[str, str]) -> Answer:
        """`/v2/sendsms`: every call is a new message; an optional REQUESTID (JakubOboza/fonix client/sendsms.go)
        is echoed in its delivery report."""
        problem = _check(fields, "NUMBERS", "ORIGINATOR", "BODY")
        if problem:
            return problem
        request_id = fields.get("REQUESTID", "")
        if request_id and not _REQUEST_ID.match(request_id):
            return _failure(400, "REQUESTID", "IS_INVALID")
        txguid = _txguid()
        if fields.get("DUMMY", "").lower() != "yes":
            with self._lock:
                self._deliver(self.handset(fields["NUMBERS"]), txguid, fields["ORIGINATOR"], fields["BODY"],
                              request_id=request_id)
        return 200, {"success": {"txguid": txguid, "numbers": "1", "smsparts": "1", "encoding": "gsm"}}

    def _deliver(self, handset: Handset, txguid: str, sender: str, body: str, reported: bool = True,
                 request_id: str = "") -> None:
        """A message reaches the handset (unless no network knows it) and, unless another report stands for it,
        its delivery report is queued."""
        message = {"txguid": txguid, "from": sender, "to": handset.msisdn, "body": body, "received_at": _stamp()}
        self.messages[txguid] = message
        unknown = handset.profile.refusal == "UNKNOWN_SUBSCRIBER"
        if not unknown:
            handset.received.append(message)
        if reported:
            self._schedule(DELIVERY_REPORT, {
                "IFVERSION": IFVERSION, "OPERATOR": handset.profile.operator, "MONUMBER": handset.msisdn,
                "DESTINATION": sender, "STATUSCODE": "UNDELIVERED" if unknown else DELIVERED,
                "STATUSTEXT": "Unknown subscriber" if unknown else "Delivered", "STATUSTIME": _stamp(),
                "GUID": txguid, **({"REQUESTID": request_id} if request_id else {})})

    def refund(self, fields: dict[str, str]) -> Answer:
        """`/v2/refund`: gives a charge back whole; idempotent on REQUESTID."""
        problem = _check(fields, "REQUESTID", "NUMBERS", "CHARGE_GUID")
        if problem:
            return problem
        request_id = fields["REQUESTID"]
        with self._lock:
            if request_id in self.refunds:
                return self.refunds[request_id]
            record = next((c for c in self.charges.values() if c["txguid"] == fields["CHARGE_GUID"]), None)
            answer = {"ifversion": IFVERSION, "guid": _txguid(), "requestid": request_id,
                      "charge_guid": fields["CHARGE_GUID"], "refund_time": _stamp()}
            if record is None or record["status"] != "charged" or record["msisdn"] != _msisdn(fields["NUMBERS"]):
                return 200, {"failure": {**answer, "statuscode": "NOT_REFUNDABLE",
                                         "statustext": "No charge to refund", "refunded_amount_in_pence": 0}}
            if self.handset(str(record["msisdn"])).profile.refunds_pending:
                return 200, {"pending": {**answer, "statuscode": "PENDING", "statustext": "With the network",
                                         "refunded_amount_in_pence": 0}}
            if fields.get("DUMMY", "").lower() != "yes":
                record["refunded_pence"] = record["amount_pence"]
            result: Answer = 200, {"success": {**answer, "statuscode": "REFUNDED", "statustext": "Refunded",
                                               "refunded_amount_in_pence": int(record["amount_pence"])}}
            self.refunds[request_id] = result
        return result

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

    def _schedule(self, kind: str, fields: dict[str, str], later_s: float = 0.0) -> None:
        copies = 2 if self._random.random() < self.delivery.duplicate_rate else 1
        for _ in range(copies):
            due = (time.monotonic() + self.delivery.delay_s + later_s
                   + self._random.uniform(0, self.delivery.jitter_s))
            heapq.heappush(self._queue, (due, next(self._sequence), kind, fields, 0))
        self._wake.set()

    def queued(self) -> int:
        """Callbacks not yet answered by the app (waiting, or on their way)."""
        with self._lock:
            return len(self._queue) + self._in_flight

    def _post_now(self, kind: str, fields: dict[str, str]) -> None:
        """Posts a callback at once, before answering the call that caused it (retried later if refused)."""
        with self._lock:
            self._in_flight += 1
        self._post(kind, fields, 0, time.monotonic())

    def deliver_due(self, limit: int | None = None, ahead_s: float = 0.0) -> int:
        """Posts every callback whose time has come, or comes within `ahead_s` (at most `limit`, so couriers
        share a burst rather than one courier taking all of it); a refused or failed one is retried with
        backoff."""
        now = time.monotonic() + ahead_s
        with self._lock:
            batch: list[tuple[float, int, str, dict[str, str], int]] = []
            while self._queue and self._queue[0][0] <= now and (limit is None or len(batch) < limit):
                batch.append(heapq.heappop(self._queue))
            self._in_flight += len(batch)
        if self.delivery.reverse_batches:
            batch.reverse()
        for due, _, kind, fields, attempts in batch:
            self._post(kind, fields, attempts, due)
        return len(batch)

    def callback_path(self, kind: str) -> str:
        """Where a callback goes: the URLs registered with Fonix carry the app's secret token."""
        return f"/webhooks/aggregator/{self.callback_token}/{kind}"

    def _post(self, kind: str, fields: dict[str, str], attempts: int, due: float) -> None:
        try:  # unsigned, as Fonix's are
            response = self.client.post(self.callback_path(kind), content=urlencode(fields).encode(), headers={
                "Content-Type": "application/x-www-form-urlencoded"})
            delivered = response.status_code < 300
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as failure:
            delivered, error = False, repr(failure)
        if self.observer is not None:
            self.observer(kind, fields, due, time.monotonic(), delivered)
        with self._lock:
            self._in_flight -= 1
            if delivered:
                return
            if attempts + 1 >= self.max_attempts:
                self.undeliverable.append((kind, fields))
                log.warning("simulator gave up on a callback", kind=kind, error=error)
                return
            retry = time.monotonic() + self.retry_base_s * 2 ** attempts
            heapq.heappush(self._queue, (retry, next(self._sequence), kind, fields, attempts + 1))
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


def create_simulator_app(simulator: SimulatedAggregator) -> ASGIApp:
    """Fonix's API (`/v2/...`) is served straight from ASGI: in a spike it answers a call per text, and a
    framework's routing and middleware would cost the load generator more than the simulation. The
    simulator's own pages (`/sim/...`) go through Starlette."""
    api_paths = {CHARGE_MOBILE: simulator.charge, SEND_SMS: simulator.send, REFUND: simulator.refund}
    key_header = KEY_HEADER.lower().encode()

    def api(headers: list[tuple[bytes, bytes]], body: bytes, handle: Callable[[dict[str, str]], Answer]) -> Answer:
        if dict(headers).get(key_header, b"").decode("latin-1") != simulator.api_key:
            return _failure(403, KEY_HEADER, "IS_INVALID")  # lindar's client: 403 is a bad key
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return _failure(400, "BODY", "INVALID_ENCODING")
        return handle(fields)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        handle = api_paths.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handle is None:
            await pages(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            status, answer = api(scope["headers"], body, handle)
        except AnswerLost:
            # Start an answer and break off: the server closes the connection, and the caller has no answer.
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            raise
        payload = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

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

    pages = Starlette(routes=[
        Route("/sim/texts", text, methods=["POST"]),
        Route("/sim/handsets/{msisdn}", received),
        Route("/sim/charges", charges),
        Route("/sim/settlements", settlements),
        Route("/healthz", health),
    ])
    return app
