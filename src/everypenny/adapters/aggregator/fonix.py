"""Fonix (fonix.com), the UK carrier-billing aggregator: our client for its v2 API and readers for its callbacks.

Fonix's documentation sits behind a login; the format here follows two independent public clients that agree
on it: lindar-open/fonix-client (Java: api/FonixCarrierBillingResource.java, api/FonixSmsResource.java,
vo/ChargeReport.java, vo/DeliveryReport.java, vo/MobileOriginatedSms.java) and JakubOboza/fonix (Go:
client/charge_mobile.go, client/sendsms.go, client/refund.go, client/errors.go, client/handlers.go).

Our calls are form-encoded POSTs carrying `X-API-KEY`. `/v2/chargemobile` bills a phone and, with
`CHARGESILENT=no` and a `BODY`, the network sends the donor that message with the charge, from `ORIGINATOR`
(lindar's client sends it; the Go client leaves it to the account's default): one call charges and
receipts. `/v2/sendsms` sends a free message. `/v2/refund` gives a charge back. Answers are JSON:
`{"success": {...}}`, or on a non-2xx status `{"failure": {"parameter", "failcode"}}`.

Fonix's callbacks to us (MO texts, charge reports, delivery reports) are form-encoded and unsigned: the
webhooks check a secret in the URL and the source address instead (entrypoints/web/sms_webhooks.py).
A charge report carries our `REQUESTID`; a delivery report carries the `GUID` (`txguid`) Fonix gave the
message it reports on and, since we send one with every message, our `REQUESTID` (client/sendsms.go).
Fields longer than we store are cut here, at the edge.

Calls go over a few keep-alive connections (http.client) that many threads share: a worker makes its charge
calls side by side, and httpx spends about three times the CPU per call (a cost every text gift pays once).
"""

from __future__ import annotations

import http.client
import json
import select
import threading
import urllib.request
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from everypenny.domain.text_giving import CHARGED_CODE, E164, FAILURE_REASON_LENGTH, network_for
from everypenny.service_layer.text_giving_ports import (
    AGGREGATOR,
    AggregatorMessage,
    AggregatorRefused,
    BadCallback,
    ChargeAnswer,
    ChargeOrder,
    ChargeReport,
    DeliveryReport,
    InboundText,
    MessageOrder,
    MessageRefused,
    RefundAnswer,
    RefundOrder,
    RefundStatus,
)

API_KEY_HEADER = "X-API-KEY"
CHARGE_PATH = "/v2/chargemobile"
SEND_PATH = "/v2/sendsms"
REFUND_PATH = "/v2/refund"
GUID_LENGTH = 80
NUMBER_LENGTH = 20
DETAIL_LENGTH = 200
# A bad key, as lindar-open/fonix-client's BaseFonixResource reads it (FonixNotAuthorizedException).
BAD_KEY_STATUS = 403
# HTTP statuses whose failure is ours to fix or Fonix's to recover from: the request is retried. Any other
# 4xx refuses the request itself (lindar's FonixBadRequestException, with IS_EMPTY or IS_INVALID for a
# parameter), which the same request never gets past: a charge fails, a message's task is parked.
RETRIED_STATUSES = {401, BAD_KEY_STATUS, 408, 425, 429}


class BadAnswer(ValueError):
    """An answer from Fonix in no shape its API documents: retried, in case it was a proxy's page."""


class FonixUnavailable(Exception):
    """Fonix answered with a 5xx status: its trouble, so the outbox retries with backoff."""


def decode(body: bytes) -> dict[str, str]:
    """The form's fields; one holding a NUL (%00), which no field of Fonix's does and the store cannot keep, is
    refused."""
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise BadCallback("the body is not UTF-8 form data") from None
    with_nul = sorted(name.replace("\x00", "%00") for name, value in form.items() if "\x00" in name + value)
    if with_nul:
        raise BadCallback(f"{', '.join(with_nul)} holds a NUL character")
    return form


def _require(form: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name, "").strip()]
    if missing:
        raise BadCallback(f"missing {', '.join(missing)}")
    return [form[name].strip() for name in names]


def read_mo(form: dict[str, str]) -> InboundText:
    """A donor's text: IFVERSION, MONUMBER, OPERATOR, DESTINATION, BODY, RECEIVETIME, GUID, PRICE."""
    guid, number, destination = _require(form, "GUID", "MONUMBER", "DESTINATION")
    if "BODY" not in form:
        raise BadCallback("missing BODY")
    wrong = [name for name, value in (("MONUMBER", number), ("DESTINATION", destination)) if not E164.match(value)]
    if wrong:
        raise BadCallback(f"{' and '.join(wrong)} not a phone number or shortcode (E.164 digits)")
    return InboundText(provider=AGGREGATOR, message_id=guid[:GUID_LENGTH], msisdn=number[:NUMBER_LENGTH],
                       to=destination[:NUMBER_LENGTH], body=form["BODY"],
                       network=network_for(form.get("OPERATOR", "")), received_at=form.get("RECEIVETIME", "")[:14])


def read_charge_report(form: dict[str, str]) -> ChargeReport:
    """A charge's outcome: STATUSCODE DELIVERED is charged; any other code, known or not, is a failure with
    that code (a report we refused would be money we lose track of)."""
    request_id, code = _require(form, "REQUESTID", "STATUSCODE")
    charged = code.upper() == CHARGED_CODE
    return ChargeReport(request_id=request_id[:GUID_LENGTH], status="charged" if charged else "failed",
                        reason=None if charged else code.upper()[:FAILURE_REASON_LENGTH],
                        network=network_for(form.get("OPERATOR", "")),
                        txguid=form.get("GUID", "").strip()[:GUID_LENGTH] or None)


def read_delivery_report(form: dict[str, str]) -> DeliveryReport:
    """A message's fate, keyed by the GUID Fonix returned when it took the message and by our REQUESTID, which
    Fonix echoes when we sent one (JakubOboza/fonix client/handlers.go's DrHandler reads it)."""
    guid, code = _require(form, "GUID", "STATUSCODE")
    delivered = code.upper() == "DELIVERED"
    detail = " ".join(part for part in (code, form.get("STATUSTEXT", "").strip()) if part)
    return DeliveryReport(txguid=guid[:GUID_LENGTH], status="delivered" if delivered else "failed",
                          detail=None if delivered else detail[:DETAIL_LENGTH],
                          request_id=form.get("REQUESTID", "").strip()[:GUID_LENGTH] or None)


# Our callback URLs, one per kind (the last part of the URL we give Fonix for each), and their readers.
CALLBACKS: dict[str, Callable[[dict[str, str]], AggregatorMessage]] = {
    "mo": read_mo,  # a donor's text to one of our shortcodes
    "charge-report": read_charge_report,  # whether a charge went through
    "delivery-report": read_delivery_report,  # whether a message arrived
}


def read_callback(kind: str, body: bytes) -> AggregatorMessage:
    """The callback Fonix posted to our URL for `kind` (one of CALLBACKS). Raises BadCallback."""
    return CALLBACKS[kind](decode(body))


def read_answer(status_code: int, text: str) -> tuple[str, dict]:
    """Fonix's JSON answer as (outcome, fields): outcome is success, pending or failure."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or len(answer) != 1:
        raise BadAnswer(f"HTTP {status_code}: {text[:300]!r} is not a Fonix answer")
    [(outcome, fields)] = answer.items()
    if outcome not in ("success", "pending", "failure") or not isinstance(fields, dict):
        raise BadAnswer(f"HTTP {status_code}: {text[:300]!r} is not a Fonix answer")
    return outcome, fields


def failcode(fields: dict) -> str:
    code = str(fields.get("failcode") or fields.get("statuscode") or "FAILURE").upper()
    parameter = str(fields.get("parameter") or "")
    return (f"{code} ({parameter})" if parameter else code)[:FAILURE_REASON_LENGTH]


class KeepAliveConnections:
    """POSTs to one host over keep-alive connections reused call after call, safe to share between threads: a
    call takes an idle connection (or opens one) and puts it back once the answer is read. A connection the
    server closed while idle is dropped before use (as httpx does), never retried, since a message must not
    go twice. Verifies TLS against the same certificates as httpx."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._tls = httpx.create_ssl_context() if self._https else None
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        connection = self._take()
        try:
            connection.request("POST", self._prefix + path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return response.status, text

    def _take(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            if connection.sock is not None and not select.select([connection.sock], [], [], 0)[0]:
                return connection
            connection.close()  # closed by the server, or sent something unasked for: not reusable
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout_s, context=self._tls)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class FonixAggregator:
    """`dummy` sends DUMMY=yes on every call: Fonix answers as usual and charges and sends nothing, for a
    rehearsal on the live account (docs/going-live-aggregator.md). Calls go over our keep-alive connections,
    or through `client` (httpx) when given one (tests) or when the environment names a proxy for Fonix (which
    httpx honours)."""

    def __init__(self, base_url: str, api_key: str, dummy: bool = False, client: httpx.Client | None = None,
                 timeout_s: float = 10.0, refund_url: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        # Fonix takes refunds on a host of its own (https://refund.fonix.io, JakubOboza/fonix client/client.go).
        self.refund_url = (refund_url or base_url).rstrip("/")
        self.api_key = api_key
        self.dummy = dummy
        self.timeout_s = timeout_s
        if client is None and urllib.request.getproxies() and not urllib.request.proxy_bypass(
                urlsplit(self.base_url).hostname or ""):
            client = httpx.Client(timeout=timeout_s)
        self._client = client
        self._connections = None if client is not None else KeepAliveConnections(self.base_url, timeout_s)
        # Refunds go to their host over keep-alive connections of their own.
        self._refund_connections = None if client is not None or self.refund_url == self.base_url else \
            KeepAliveConnections(self.refund_url, timeout_s)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        for connections in (self._connections, self._refund_connections):
            if connections is not None:
                connections.close()

    def _post(self, path: str, fields: dict[str, str]) -> tuple[int, str, dict]:
        if self.dummy:
            fields = {**fields, "DUMMY": "yes"}
        body = urlencode(fields).encode()
        headers = {API_KEY_HEADER: self.api_key, "Content-Type": "application/x-www-form-urlencoded"}
        refund = path == REFUND_PATH
        connections = self._refund_connections if refund and self._refund_connections else self._connections
        if connections is not None:
            status, text = connections.post(path, body, headers)
        else:
            assert self._client is not None  # one or the other is set up
            base = self.refund_url if refund else self.base_url
            response = self._client.post(f"{base}{path}", content=body, headers=headers)
            status, text = response.status_code, response.text
        if status >= 500:
            raise FonixUnavailable(f"Fonix answered {path} with HTTP {status}")
        if status == BAD_KEY_STATUS:  # lindar's FonixNotAuthorizedException: the body says nothing more
            raise AggregatorRefused(f"Fonix refused our key (EVERYPENNY_AGGREGATOR_API_KEY) on {path}: HTTP 403")
        outcome, answer = read_answer(status, text)
        if outcome == "failure" and status in RETRIED_STATUSES:
            raise AggregatorRefused(f"Fonix refused {path}: HTTP {status} {failcode(answer)}")
        return status, outcome, answer

    def request_charge(self, order: ChargeOrder) -> ChargeAnswer:
        _, outcome, answer = self._post(CHARGE_PATH, {
            "NUMBERS": order.msisdn, "ORIGINATOR": order.shortcode, "AMOUNT": str(order.amount_pence),
            "CURRENCY": order.currency,
            "REQUESTID": order.request_id, "CHARGEDESCRIPTION": order.description,
            "TIMETOLIVE": str(order.time_to_live_min), "CHARGESILENT": "no", "BODY": order.receipt})
        if outcome == "failure":
            return ChargeAnswer(order.request_id, failcode=failcode(answer))
        return ChargeAnswer(order.request_id, txguid=_txguid(answer))

    def send_message(self, order: MessageOrder) -> str:
        # REQUESTID as JakubOboza/fonix client/sendsms.go sends it: letters and digits, echoed in the report.
        status, outcome, answer = self._post(SEND_PATH, {
            "NUMBERS": order.msisdn, "ORIGINATOR": order.sender, "BODY": order.body, "REQUESTID": order.request_id})
        if outcome == "failure":
            raise MessageRefused(f"Fonix refused a message: HTTP {status} {failcode(answer)}")
        return _txguid(answer)

    def refund(self, order: RefundOrder) -> RefundAnswer:
        _, outcome, answer = self._post(REFUND_PATH, {
            "REQUESTID": order.request_id, "NUMBERS": order.msisdn, "CHARGE_GUID": order.charge_txguid})
        detail = " ".join(str(answer.get(key) or "") for key in ("statuscode", "statustext")).strip()
        refunded = answer.get("refunded_amount_in_pence")
        return RefundAnswer(RefundStatus(outcome), detail or failcode(answer),
                            int(str(refunded)) if str(refunded or "").isdigit() else None)


def _txguid(answer: dict) -> str:
    txguid = str(answer.get("txguid") or "").strip()
    if not txguid:
        raise BadAnswer(f"a success without a txguid: {answer!r}")
    return txguid[:GUID_LENGTH]
