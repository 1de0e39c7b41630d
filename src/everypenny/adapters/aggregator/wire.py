"""The aggregator's wire format, modelled on UK carrier-billing aggregators such as Fonix.

Both directions are form-encoded POSTs. Our calls carry the account's API key in `X-API-KEY`; the
aggregator's callbacks to us (MO texts, charge reports, delivery reports) carry `X-Aggregator-Signature`,
the hex HMAC-SHA256 of the raw body keyed by the shared callback secret. Our request id (`REQUESTID`,
at most 80 characters) is echoed in the charge and delivery reports. The simulator speaks this same
module, so the two sides cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode

from everypenny.service_layer.text_giving import AGGREGATOR, ChargeReport, DeliveryReport, InboundText

API_KEY_HEADER = "X-API-KEY"
SIGNATURE_HEADER = "X-Aggregator-Signature"
INTERFACE_VERSION = "201001"

CHARGE_PATH = "/v2/chargeonly"
SEND_PATH = "/v2/sendsms"
MO_CALLBACK = "/webhooks/aggregator/mo"
CHARGE_REPORT_CALLBACK = "/webhooks/aggregator/charge-report"
DELIVERY_REPORT_CALLBACK = "/webhooks/aggregator/delivery-report"

CHARGED = "CHARGED"
FAILED = "FAILED"
DELIVERED = "DELIVERED"


class BadCallback(ValueError):
    """A callback we cannot read; the message says which field, so the aggregator's logs say why."""


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, signature: str | None) -> bool:
    # As bytes: compare_digest refuses a str with non-ASCII characters, which any caller can send.
    return bool(signature) and hmac.compare_digest(sign(secret, body).encode(), signature.encode("utf-8", "replace"))


def encode(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


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
    guid, number, destination = _require(form, "GUID", "MONUMBER", "DESTINATION")
    if "BODY" not in form:
        raise BadCallback("missing BODY")
    return InboundText(provider=AGGREGATOR, message_id=guid, msisdn=number, to=destination, body=form["BODY"],
                       network=form.get("OPERATOR", "").strip().upper(), received_at=form.get("RECEIVETIME", ""))


def read_charge_report(form: dict[str, str]) -> ChargeReport:
    request_id, status = _require(form, "REQUESTID", "STATUSCODE")
    if status.upper() not in (CHARGED, FAILED):
        raise BadCallback(f"STATUSCODE {status!r} is not {CHARGED} or {FAILED}")
    charged = status.upper() == CHARGED
    return ChargeReport(request_id=request_id, status="charged" if charged else "failed",
                        reason=None if charged else (form.get("STATUSTEXT") or "OTHER").strip().upper(),
                        network=form.get("OPERATOR", "").strip().upper())


def read_delivery_report(form: dict[str, str]) -> DeliveryReport:
    request_id, status = _require(form, "REQUESTID", "STATUSCODE")
    delivered = status.upper() == DELIVERED
    return DeliveryReport(request_id=request_id, status="delivered" if delivered else "failed",
                          detail=None if delivered else (form.get("STATUSTEXT") or status).strip()[:200])
