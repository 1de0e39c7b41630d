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
A charge report carries our `REQUESTID`; a delivery report carries only the `GUID` (`txguid`) Fonix gave the
message it reports on. Fields longer than we store are cut here, at the edge.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import httpx

from everypenny.domain.text_giving import CHARGED_CODE, FAILURE_REASON_LENGTH, network_for
from everypenny.service_layer.text_giving import AGGREGATOR, ChargeReport, DeliveryReport, InboundText
from everypenny.service_layer.text_giving_ports import (
    AggregatorRefused,
    ChargeAnswer,
    ChargeOrder,
    MessageOrder,
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
# HTTP statuses whose failure is ours to fix or Fonix's to recover from: the request is retried. Any other
# 4xx refuses the request itself (lindar's FonixBadRequestException), which the same request never gets past.
RETRIED_STATUSES = {401, 403, 408, 425, 429}


class BadCallback(ValueError):
    """A callback we cannot read; the message says which field, so Fonix's logs say why."""


class BadAnswer(ValueError):
    """An answer from Fonix in no shape its API documents: retried, in case it was a proxy's page."""


def decode(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise BadCallback("the body is not UTF-8 form data") from None


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
    """A message's fate, keyed by the GUID Fonix returned when it took the message."""
    guid, code = _require(form, "GUID", "STATUSCODE")
    delivered = code.upper() == "DELIVERED"
    detail = " ".join(part for part in (code, form.get("STATUSTEXT", "").strip()) if part)
    return DeliveryReport(txguid=guid[:GUID_LENGTH], status="delivered" if delivered else "failed",
                          detail=None if delivered else detail[:DETAIL_LENGTH])


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


class FonixAggregator:
    """`dummy` sends DUMMY=yes on every call: Fonix answers as usual and charges and sends nothing, for a
    rehearsal on the live account (docs/going-live-aggregator.md)."""

    def __init__(self, base_url: str, api_key: str, dummy: bool = False, client: httpx.Client | None = None,
                 timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.dummy = dummy
        self._client = client
        self.timeout_s = timeout_s

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _post(self, path: str, fields: dict[str, str]) -> tuple[int, str, dict]:
        if self.dummy:
            fields = {**fields, "DUMMY": "yes"}
        response = self.client.post(f"{self.base_url}{path}", data=fields, headers={API_KEY_HEADER: self.api_key})
        if response.status_code >= 500:
            response.raise_for_status()  # Fonix's trouble: the outbox retries with backoff
        outcome, answer = read_answer(response.status_code, response.text)
        if outcome == "failure" and response.status_code in RETRIED_STATUSES:
            raise AggregatorRefused(f"Fonix refused {path}: HTTP {response.status_code} {failcode(answer)}")
        return response.status_code, outcome, answer

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
        _, outcome, answer = self._post(SEND_PATH, {
            "NUMBERS": order.msisdn, "ORIGINATOR": order.sender, "BODY": order.body})
        if outcome == "failure":
            raise AggregatorRefused(f"Fonix refused a message: {failcode(answer)}")
        return _txguid(answer)

    def refund(self, order: RefundOrder) -> RefundAnswer:
        _, outcome, answer = self._post(REFUND_PATH, {
            "REQUESTID": order.request_id, "NUMBERS": order.msisdn, "CHARGE_GUID": order.charge_txguid})
        detail = " ".join(str(answer.get(key) or "") for key in ("statuscode", "statustext")).strip()
        refunded = answer.get("refunded_amount_in_pence")
        return RefundAnswer(RefundStatus(outcome), detail or failcode(answer),
                            int(refunded) if str(refunded or "").isdigit() else None)


def _txguid(answer: dict) -> str:
    txguid = str(answer.get("txguid") or "").strip()
    if not txguid:
        raise BadAnswer(f"a success without a txguid: {answer!r}")
    return txguid[:GUID_LENGTH]
