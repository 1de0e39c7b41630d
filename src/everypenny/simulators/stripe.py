"""A local Stripe: the subset of the API everypenny calls, a hosted checkout page and signed webhooks.

The `stripe` library is pointed at it through its API base, so the real request encoding, idempotency keys
and error handling are exercised. The hosted page accepts Stripe's documented test cards with their
documented outcomes (https://docs.stripe.com/testing). Webhooks are signed as Stripe signs them
(`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of "t.payload") and retried with exponential backoff when the
endpoint does not answer 2xx, as Stripe does for up to three days; here time is compressed (`retry_base_s`).
On request it delivers every event twice, holds events and delivers them newest first, or delays them.
State lives in memory: it is a test double, not a store.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from everypenny.config import STRIPE_API_VERSION
from everypenny.domain.money import CURRENCY_SYMBOLS, format_pence
from everypenny.simulators.server import BackgroundServer

log = structlog.get_logger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@dataclass(frozen=True)
class CardOutcome:
    """What Stripe's test mode does with a card number: succeed, or decline with a code and message."""

    succeeds: bool
    code: str = ""
    decline_code: str = ""
    message: str = ""
    disputed: bool = False  # succeeds, then the cardholder disputes it as fraudulent
    inquiry: bool = False  # succeeds, then the issuer opens an inquiry (a dispute in a warning_ status)
    refund_fails: bool = False  # succeeds; a refund of it starts as succeeded and fails later


_DECLINED = "Your card was declined."
TEST_CARDS: dict[str, CardOutcome] = {
    "4242424242424242": CardOutcome(True),  # Visa
    "4000056655665556": CardOutcome(True),  # Visa (debit)
    "4000008260000000": CardOutcome(True),  # Visa, United Kingdom
    "4000058260000005": CardOutcome(True),  # Visa debit, United Kingdom
    "5555555555554444": CardOutcome(True),  # Mastercard
    "2223003122003222": CardOutcome(True),  # Mastercard (2-series)
    "5200828282828210": CardOutcome(True),  # Mastercard (debit)
    "378282246310005": CardOutcome(True),  # American Express
    "4000000000000259": CardOutcome(True, disputed=True),  # dispute: fraudulent
    "4000000000001976": CardOutcome(True, inquiry=True),  # dispute: inquiry
    "4000000000005126": CardOutcome(True, refund_fails=True),  # refund: fails asynchronously
    "4000000000000002": CardOutcome(False, "card_declined", "generic_decline", _DECLINED),
    "4000000000009995": CardOutcome(False, "card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": CardOutcome(False, "card_declined", "lost_card", _DECLINED),
    "4000000000009979": CardOutcome(False, "card_declined", "stolen_card", _DECLINED),
    "4000000000006975": CardOutcome(False, "card_declined", "card_velocity_exceeded",
                                    "Your card was declined for making repeated attempts too frequently or "
                                    "exceeding its amount limit."),
    "4100000000000019": CardOutcome(False, "card_declined", "fraudulent", _DECLINED),
    "4000000000000069": CardOutcome(False, "expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": CardOutcome(False, "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    "4000000000000119": CardOutcome(False, "processing_error", "processing_error",
                                    "An error occurred while processing your card. Try again in a little bit."),
}
LIVE_CARD = CardOutcome(False, "card_declined", "test_mode_live_card",
                        "Your card was declined. Your request was in test mode, but used a non test (live) card. "
                        "For a list of valid test cards, visit: https://stripe.com/docs/testing.")


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return len(number) >= 12 and total % 10 == 0


def card_problem(number: str, expiry: str, cvc: str, today: date) -> str | None:
    """Checks Stripe's page makes before it tries the card, with Stripe's wording."""
    if not number.isdigit() or not luhn_valid(number):
        return "Your card number is invalid."
    match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", expiry)
    if match is None:
        return "Your card's expiration date is incomplete."
    month, year = int(match.group(1)), int(match.group(2)) % 100 + 2000
    if not 1 <= month <= 12:
        return "Your card's expiration date is invalid."
    if year < today.year:
        return "Your card's expiration year is in the past."
    if (year, month) < (today.year, today.month):
        return "Your card's expiration date is in the past."
    if not re.fullmatch(r"\d{3,4}", cvc):
        return "Your card's security code is incomplete."
    return None


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's scheme: v1 = hex HMAC-SHA256 of "{timestamp}.{payload}", keyed by the endpoint's secret."""
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def decode_form(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.param, self.code = status, type_, message, param, code

    def response(self) -> JSONResponse:
        error = {"type": self.type, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return JSONResponse({"error": error}, status_code=self.status)


def _missing(kind: str, object_id: str) -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing")


@dataclass
class WebhookOptions:
    url: str | None = None
    duplicate: bool = False  # deliver every event twice
    reorder: bool = False  # hold events for `reorder_window_s`, then deliver them newest first
    reorder_window_s: float = 0.5
    delay_s: float = 0.0
    retry_base_s: float = 1.0  # Stripe backs off over hours; the simulator over seconds
    max_attempts: int = 8
    # Stripe renders each event in the API version its endpoint was created with.
    api_version: str = STRIPE_API_VERSION


@dataclass(order=True)
class _Delivery:
    due: float
    order: int
    event: dict[str, Any] = field(compare=False)
    attempt: int = field(compare=False, default=1)


class StripeSimulator:
    def __init__(self, webhook_secret: str, api_key: str | None = None,
                 webhook: WebhookOptions | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.webhook = webhook or WebhookOptions()
        self.public_url = "http://127.0.0.1"  # set once the server knows its port
        self.sessions: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.balance_transactions: list[dict[str, Any]] = []  # oldest first
        self.payouts: list[dict[str, Any]] = []  # oldest first
        self._paid_out_in: dict[str, str] = {}  # balance transaction id -> payout id
        self._refunds_fail: set[str] = set()  # charges paid with the refund-failure test card
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []  # every attempt: event id, type, attempt, status
        self.requested_versions: list[str | None] = []  # the Stripe-Version header of each API request
        self._idempotent: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._queue: list[_Delivery] = []
        self._held: list[dict[str, Any]] = []
        self._held_since: float | None = None
        self._order = itertools.count()
        self._wake = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self.clock_offset_s = 0  # moved on by advance_clock, as a Stripe test clock would be

    def now(self) -> int:
        return int(time.time()) + self.clock_offset_s

    def advance_clock(self, seconds: int) -> None:
        """Moves the simulator's time on, so sessions reach their expiry without waiting a real hour."""
        with self._wake:
            self.clock_offset_s += seconds
            self._wake.notify_all()

    def expire_due_sessions(self) -> None:
        """Stripe expires an unpaid session at its `expires_at` on its own and says so with an event."""
        with self._lock:
            moment = self.now()
            for session in self.sessions.values():
                if session["status"] == "open" and session["expires_at"] <= moment:
                    self._expire(session)

    # --- webhook delivery ------------------------------------------------------------------------------

    def start_delivery(self) -> None:
        self._sender = threading.Thread(target=self._deliver_forever, name="stripe-sim-webhooks", daemon=True)
        self._sender.start()

    def stop_delivery(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._sender is not None:
            self._sender.join(timeout=10)

    def _emit(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {
            "id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": self.webhook.api_version,
            "created": self.now(), "type": type_, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "data": {"object": json.loads(json.dumps(obj))},
        }
        with self._wake:
            self.events.append(event)
            if self.webhook.reorder:
                self._held.append(event)
                self._held_since = self._held_since or time.monotonic()
            else:
                self._schedule(event, time.monotonic() + self.webhook.delay_s)
            self._wake.notify_all()
        return event

    def _schedule(self, event: dict[str, Any], due: float, attempt: int = 1) -> None:
        copies = 2 if self.webhook.duplicate and attempt == 1 else 1
        for _ in range(copies):
            heapq.heappush(self._queue, _Delivery(due, next(self._order), event, attempt))

    def release_held(self) -> None:
        """Delivers held events now, newest first (what `reorder` is for)."""
        with self._wake:
            moment = time.monotonic() + self.webhook.delay_s
            for event in reversed(self._held):
                self._schedule(event, moment)
            self._held.clear()
            self._held_since = None
            self._wake.notify_all()

    def resend(self, event_id: str) -> None:
        with self._wake:
            event = next((e for e in self.events if e["id"] == event_id), None)
            if event is None:
                raise _missing("event", event_id)
            heapq.heappush(self._queue, _Delivery(time.monotonic(), next(self._order), event, 1))
            self._wake.notify_all()

    def _deliver_forever(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                delivery = self._next_due()
                if delivery is not None:
                    self._deliver(client, delivery)

    def _next_due(self) -> _Delivery | None:
        self.expire_due_sessions()
        with self._wake:
            moment = time.monotonic()
            if self._held_since is not None and moment - self._held_since >= self.webhook.reorder_window_s:
                self.release_held()
            if self._queue and self._queue[0].due <= moment:
                return heapq.heappop(self._queue)
            waits = [0.5]
            if self._queue:
                waits.append(self._queue[0].due - moment)
            if self._held_since is not None:
                waits.append(self._held_since + self.webhook.reorder_window_s - moment)
            self._wake.wait(max(min(waits), 0.01))
            return None

    def _deliver(self, client: httpx.Client, delivery: _Delivery) -> None:
        url = self.webhook.url
        payload = json.dumps(delivery.event, indent=2).encode()
        status: int | str
        if url is None:
            status = "no endpoint"
        else:
            headers = {"Content-Type": "application/json; charset=utf-8",
                       "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                       "Stripe-Signature": sign(payload, self.webhook_secret, int(time.time()))}
            try:
                status = client.post(url, content=payload, headers=headers).status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
        with self._wake:
            self.deliveries.append({"event": delivery.event["id"], "type": delivery.event["type"],
                                    "attempt": delivery.attempt, "status": status})
            delivered = isinstance(status, int) and 200 <= status < 300
            if not delivered and delivery.attempt < self.webhook.max_attempts:
                delay = self.webhook.retry_base_s * 2 ** (delivery.attempt - 1)
                self._schedule(delivery.event, time.monotonic() + delay, delivery.attempt + 1)
        if not delivered:
            log.info("webhook delivery failed", event_id=delivery.event["id"], attempt=delivery.attempt, status=status)

    def wait_until_delivered(self, timeout_s: float = 10.0) -> None:
        """For tests: returns once nothing is queued or held (retries included), or raises."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queue and not self._held:
                    return
            time.sleep(0.02)
        raise TimeoutError("webhooks still queued")

    # --- API objects -----------------------------------------------------------------------------------

    def idempotent(self, key: str | None, fingerprint: str, action) -> tuple[int, dict[str, Any], bool]:
        """Stripe's rule: the first response is stored and replayed; the key with other parameters is an error."""
        with self._lock:
            if key is not None and key in self._idempotent:
                stored_fingerprint, status, body = self._idempotent[key]
                if stored_fingerprint != fingerprint:
                    raise StripeError(
                        400, "idempotency_error",
                        f"Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{key}' if you meant to execute a different "
                        "request.")
                return status, body, True
            try:
                status, body = 200, action()
            except StripeError as error:
                if error.status >= 500:
                    raise
                status, body = error.status, json.loads(bytes(error.response().body))
            if key is not None:
                self._idempotent[key] = (fingerprint, status, body)
            return status, body, False

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeError(400, "invalid_request_error", "The simulator supports mode=payment only.", "mode")
        for required in ("success_url", "line_items"):
            if not params.get(required):
                raise StripeError(400, "invalid_request_error", f"Missing required param: {required}.", required)
        total, currency = 0, ""  # line_items is not empty: each names its currency
        for index, item in enumerate(params["line_items"]):
            price = item.get("price_data") or {}
            try:
                unit_amount, quantity = int(price.get("unit_amount", "")), int(item.get("quantity", "1"))
            except ValueError:
                raise StripeError(400, "invalid_request_error", "Invalid integer.",
                                  f"line_items[{index}][price_data][unit_amount]") from None
            if unit_amount <= 0 or quantity <= 0:
                raise StripeError(400, "invalid_request_error", "This value must be greater than or equal to 1.",
                                  f"line_items[{index}][price_data][unit_amount]")
            currency = str(price.get("currency", "")).upper()
            if currency not in CURRENCY_SYMBOLS:
                raise StripeError(400, "invalid_request_error", f"Invalid currency: {currency.lower()}.",
                                  f"line_items[{index}][price_data][currency]")
            total += unit_amount * quantity
        session_id = "cs_test_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
        created = self.now()
        expires_at = int(params.get("expires_at") or created + 24 * 3600)
        if not created + 30 * 60 <= expires_at <= created + 24 * 3600:
            raise StripeError(400, "invalid_request_error",
                              "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout "
                              "Session creation.", "expires_at")
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "amount_total": total, "amount_subtotal": total,
            "currency": currency.lower(), "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"), "customer_details": None,
            "metadata": params.get("metadata") or {}, "payment_intent": None,
            "payment_intent_data": params.get("payment_intent_data") or {},
            "success_url": params["success_url"], "cancel_url": params.get("cancel_url"),
            "submit_type": params.get("submit_type"), "line_items": params["line_items"],
            "created": created, "expires_at": expires_at,
            "livemode": False, "url": f"{self.public_url}/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return self._public_session(session)

    @staticmethod
    def _public_session(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if k not in ("payment_intent_data", "line_items")}

    def session(self, session_id: str) -> dict[str, Any]:
        session = self.sessions.get(session_id)
        if session is None:
            raise _missing("checkout.session", session_id)
        if session["status"] == "open" and session["expires_at"] <= self.now():
            self._expire(session)
        return session

    def _expire(self, session: dict[str, Any]) -> None:
        session["status"] = "expired"
        intent = self.payment_intents.get(session["payment_intent"] or "")
        if intent is not None and intent["status"] != "succeeded":
            intent["status"] = "canceled"
            self._emit("payment_intent.canceled", intent)
        self._emit("checkout.session.expired", self._public_session(session))

    def expire_session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session = self.session(session_id)
            if session["status"] != "open":
                raise StripeError(400, "invalid_request_error",
                                  f"Only Checkout Sessions with a status in [\"open\"] can be expired. This "
                                  f"Checkout Session has a status of \"{session['status']}\".")
            self._expire(session)
            return self._public_session(session)

    def _intent(self, session: dict[str, Any]) -> dict[str, Any]:
        """The session's PaymentIntent, created on the first payment attempt as Stripe does today."""
        if session["payment_intent"] is None:
            data = session["payment_intent_data"]
            intent = {
                "id": "pi_" + secrets.token_hex(12), "object": "payment_intent", "amount": session["amount_total"],
                "currency": session["currency"], "status": "requires_payment_method",
                "metadata": data.get("metadata") or {}, "description": data.get("description"),
                "last_payment_error": None, "latest_charge": None, "created": self.now(), "livemode": False,
            }
            self.payment_intents[intent["id"]] = intent
            session["payment_intent"] = intent["id"]
        return self.payment_intents[session["payment_intent"]]

    def _charge(self, intent: dict[str, Any], outcome: CardOutcome, number: str) -> dict[str, Any]:
        charge = {
            "id": "ch_" + secrets.token_hex(12), "object": "charge", "amount": intent["amount"],
            "amount_captured": intent["amount"] if outcome.succeeds else 0, "amount_refunded": 0,
            "currency": intent["currency"], "payment_intent": intent["id"], "metadata": intent["metadata"],
            "paid": outcome.succeeds, "captured": outcome.succeeds, "refunded": False, "disputed": False,
            "status": "succeeded" if outcome.succeeds else "failed",
            "failure_code": outcome.code or None, "failure_message": outcome.message or None,
            "outcome": {"type": "authorized" if outcome.succeeds else "issuer_declined",
                        "reason": outcome.decline_code or None},
            "payment_method_details": {"type": "card", "card": {"last4": number[-4:]}},
            "refunds": {"object": "list", "data": []}, "balance_transaction": None, "created": self.now(),
            "livemode": False,
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    def pay(self, session_id: str, number: str, email: str) -> CardOutcome:
        """One attempt on the hosted page; events follow Stripe's order for the outcome."""
        with self._lock:
            session = self.session(session_id)
            outcome = TEST_CARDS.get(number, LIVE_CARD)
            intent = self._intent(session)
            charge = self._charge(intent, outcome, number)
            if not outcome.succeeds:
                intent["last_payment_error"] = {
                    "type": "card_error", "code": outcome.code, "decline_code": outcome.decline_code,
                    "message": outcome.message, "charge": charge["id"]}
                self._emit("charge.failed", charge)
                self._emit("payment_intent.payment_failed", intent)
                return outcome
            intent.update(status="succeeded", last_payment_error=None)
            session.update(status="complete", payment_status="paid",
                           customer_details={"email": email or session["customer_email"]})
            amount = charge["amount"]
            charge["balance_transaction"] = self._balance(
                "charge", "charge", amount, card_fee(amount), charge["id"], charge["currency"])["id"]
            if outcome.refund_fails:
                self._refunds_fail.add(charge["id"])
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", intent)
            self._emit("checkout.session.completed", self._public_session(session))
            if outcome.disputed or outcome.inquiry:
                self.open_dispute(charge["id"], "fraudulent", inquiry=outcome.inquiry)
            return outcome

    def pay_by_bank(self, session_id: str, email: str) -> None:
        """A bank debit (Bacs, Pay by bank) as if the session offered one: the donor finishes on the page, the
        session completes `unpaid`, and the bank's answer comes days later (settle_bank_payment).
        docs.stripe.com/payments/checkout/how-checkout-works#delayed-notification-payment-methods"""
        with self._lock:
            session = self.session(session_id)
            intent = self._intent(session)
            intent["status"] = "processing"
            session.update(status="complete", payment_status="unpaid", customer_details={"email": email})
            self._emit("checkout.session.completed", self._public_session(session))

    def settle_bank_payment(self, session_id: str, succeeds: bool) -> None:
        with self._lock:
            session = self.session(session_id)
            intent = self.payment_intents[session["payment_intent"]]
            if succeeds:
                charge = self._charge(intent, CardOutcome(True), "0000")
                charge["payment_method_details"] = {"type": "bacs_debit"}
                charge["balance_transaction"] = self._balance(
                    "charge", "charge", charge["amount"], card_fee(charge["amount"]), charge["id"],
                    charge["currency"])["id"]
                intent["status"] = "succeeded"
                session["payment_status"] = "paid"
                self._emit("checkout.session.async_payment_succeeded", self._public_session(session))
            else:
                intent.update(status="requires_payment_method", last_payment_error={
                    "type": "invalid_request_error", "code": "payment_method_bank_account_declined",
                    "message": "The bank account could not be debited."})
                self._emit("payment_intent.payment_failed", intent)
                self._emit("checkout.session.async_payment_failed", self._public_session(session))

    def pay_elsewhere(self, amount: int, currency: str = "gbp") -> dict[str, Any]:
        """A card payment another integration on the same account takes (not through a checkout of ours)."""
        with self._lock:
            intent: dict[str, Any] = {"id": "pi_" + secrets.token_hex(12), "object": "payment_intent", "amount": amount,
                      "currency": currency, "status": "succeeded", "metadata": {}, "description": None,
                      "last_payment_error": None, "latest_charge": None, "created": self.now(), "livemode": False}
            self.payment_intents[intent["id"]] = intent
            charge = self._charge(intent, CardOutcome(True), "4242424242424242")
            charge["balance_transaction"] = self._balance(
                "charge", "charge", amount, card_fee(amount), charge["id"], currency)["id"]
            self._emit("charge.succeeded", charge)
            self._emit("payment_intent.succeeded", intent)
            return charge

    def refund(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            charge = self._refundable_charge(params)
            remaining = charge["amount"] - charge["amount_refunded"]
            try:
                amount = int(params.get("amount", remaining))
            except ValueError:
                raise StripeError(400, "invalid_request_error", "Invalid integer.", "amount") from None
            currency = charge["currency"].upper()
            if charge["disputed"]:
                raise StripeError(400, "invalid_request_error",
                                  f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                                  code="charge_disputed")
            if remaining == 0:
                raise StripeError(400, "invalid_request_error", f"Charge {charge['id']} has already been refunded.",
                                  code="charge_already_refunded")
            if not 0 < amount <= remaining:
                raise StripeError(
                    400, "invalid_request_error",
                    f"Refund amount ({format_pence(amount, currency)}) is greater than unrefunded amount on charge "
                    f"({format_pence(remaining, currency)})", "amount")
            refund = {"id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
                      "charge": charge["id"], "payment_intent": charge["payment_intent"],
                      "currency": charge["currency"], "metadata": params.get("metadata") or {},
                      "status": "succeeded", "reason": params.get("reason"), "failure_reason": None,
                      "failure_balance_transaction": None, "created": self.now()}
            self.refunds[refund["id"]] = refund
            refund["balance_transaction"] = self._balance(
                "refund", "refund", -amount, 0, refund["id"], refund["currency"])["id"]
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            charge["refunds"]["data"].insert(0, refund)
            self._emit("charge.refunded", charge)
            self._emit("refund.created", refund)
            if charge["id"] in self._refunds_fail:
                self.fail_refund(refund["id"])
            return dict(refund)

    def fail_refund(self, refund_id: str, reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        """The card's issuer turns the refund away: Stripe puts the money back in the balance and says so
        (docs.stripe.com/refunds#failed-refunds), and the charge can be refunded again."""
        with self._lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise _missing("refund", refund_id)
            if refund["status"] != "succeeded":
                raise StripeError(400, "invalid_request_error", f"Refund {refund_id} is {refund['status']}.")
            returned = self._balance("refund_failure", "refund_failure", refund["amount"], 0, refund["id"],
                                     refund["currency"])
            refund.update(status="failed", failure_reason=reason, failure_balance_transaction=returned["id"])
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            self._emit("charge.refund.updated", refund)
            self._emit("refund.failed", refund)
            return refund

    def _refundable_charge(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("charge"):
            charge = self.charges.get(params["charge"])
            if charge is None:
                raise _missing("charge", params["charge"])
            return charge
        intent = self.payment_intents.get(params.get("payment_intent") or "")
        if intent is None:
            raise StripeError(400, "invalid_request_error", "One of `charge` or `payment_intent` is required.")
        if intent["status"] != "succeeded":
            raise StripeError(400, "invalid_request_error",
                              f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.")
        return self.charges[intent["latest_charge"]]

    def open_dispute(self, charge_id: str, reason: str = "fraudulent", inquiry: bool = False,
                     prevented: bool = False) -> dict[str, Any]:
        """A chargeback takes the disputed amount and Stripe's fee from the balance at once (funds_withdrawn);
        an inquiry takes nothing unless it becomes one; a prevented dispute (Visa RDR) is closed as it opens.
        Statuses and events: docs.stripe.com/disputes/how-disputes-work, stripe-python's Dispute.status."""
        with self._lock:
            charge = self.charges.get(charge_id)
            if charge is None or not charge["paid"]:
                raise _missing("charge", charge_id)
            status = "prevented" if prevented else "warning_needs_response" if inquiry else "needs_response"
            dispute = {"id": "dp_" + secrets.token_hex(12), "object": "dispute", "amount": charge["amount"],
                       "currency": charge["currency"], "charge": charge_id, "payment_intent": charge["payment_intent"],
                       "reason": reason, "status": status, "balance_transactions": [], "metadata": {},
                       "is_charge_refundable": False, "created": self.now(), "livemode": False}
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute)
            if prevented:
                self._emit("charge.dispute.closed", dispute)
            elif not inquiry:
                self._withdraw(dispute)
            return dispute

    def _withdraw(self, dispute: dict[str, Any]) -> None:
        dispute["balance_transactions"].append(self._balance(
            "adjustment", "dispute", -dispute["amount"], DISPUTE_FEE_PENCE, dispute["id"], dispute["currency"]))
        self._emit("charge.dispute.funds_withdrawn", dispute)

    def update_dispute(self, dispute_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Evidence reading "winning_evidence" or "losing_evidence" decides a test dispute, as in Stripe."""
        with self._lock:
            dispute = self._open_dispute(dispute_id)
            text = str((params.get("evidence") or {}).get("uncategorized_text", ""))
            if text in ("winning_evidence", "losing_evidence"):
                self._close_dispute(dispute, text == "winning_evidence")
            return dispute

    def close_dispute(self, dispute_id: str) -> dict[str, Any]:
        """Accepting a dispute, as Stripe's API does: the charity gives up and the dispute is lost."""
        with self._lock:
            dispute = self._open_dispute(dispute_id)
            self._close_dispute(dispute, won=False)
            return dispute

    def _open_dispute(self, dispute_id: str) -> dict[str, Any]:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise _missing("dispute", dispute_id)
        if dispute["status"] in ("won", "lost", "warning_closed", "prevented"):
            raise StripeError(400, "invalid_request_error", f"This dispute is already closed ({dispute['status']}).")
        return dispute

    def _close_dispute(self, dispute: dict[str, Any], won: bool) -> None:
        """Won: an inquiry closes with nothing moved, a chargeback's money is reinstated (funds_reinstated).
        Lost: an inquiry becomes a chargeback that is lost, its money withdrawn; a chargeback's stays withdrawn."""
        inquiry = dispute["status"].startswith("warning_")
        if won and not inquiry:
            dispute["balance_transactions"].append(self._balance(
                "adjustment", "dispute_reversal", dispute["amount"], 0, dispute["id"], dispute["currency"]))
            self._emit("charge.dispute.funds_reinstated", dispute)
        elif not won and inquiry:
            self._withdraw(dispute)
        dispute["status"] = ("warning_closed" if inquiry else "won") if won else "lost"
        self._emit("charge.dispute.closed", dispute)

    # ---- the balance and payouts ----

    def _balance(self, type_: str, category: str, amount: int, fee: int, source: str,
                 currency: str) -> dict[str, Any]:
        """A movement of the account's balance, as Stripe's balance transactions report it."""
        self.balance_transactions.append({
            "id": "txn_" + secrets.token_hex(12), "object": "balance_transaction", "type": type_,
            "reporting_category": category, "amount": amount, "fee": fee, "net": amount - fee, "currency": currency,
            "source": source, "status": "available", "created": self.now(), "available_on": self.now(),
            "description": None})
        return self.balance_transactions[-1]

    def create_payout(self) -> dict[str, Any]:
        """Pays everything available and not yet paid out to the bank, as an automatic payout does."""
        with self._lock:
            unpaid = [t for t in self.balance_transactions if t["id"] not in self._paid_out_in]
            amount = sum(t["net"] for t in unpaid)
            if not unpaid or amount <= 0:
                raise StripeError(400, "invalid_request_error",
                                  "You have insufficient funds in your Stripe account for this payout.",
                                  code="balance_insufficient")
            payout = {"id": "po_" + secrets.token_hex(12), "object": "payout", "amount": amount,
                      "currency": unpaid[0]["currency"], "status": "paid", "automatic": True, "method": "standard",
                      "type": "bank_account", "metadata": {}, "failure_code": None, "failure_message": None,
                      "failure_balance_transaction": None, "created": self.now(),
                      "arrival_date": self.now() + 2 * 86400, "livemode": False}
            payout["balance_transaction"] = self._balance("payout", "payout", -amount, 0, payout["id"],
                                                          payout["currency"])["id"]
            for transaction in [*unpaid, self.balance_transactions[-1]]:
                self._paid_out_in[transaction["id"]] = payout["id"]
            self.payouts.append(payout)
            self._emit("payout.paid", payout)
            return payout

    def list_payouts(self, params: dict[str, Any]) -> dict[str, Any]:
        since = int((params.get("created") or {}).get("gte", 0))
        with self._lock:
            return _page([p for p in reversed(self.payouts) if p["created"] >= since], params, "/v1/payouts")

    def list_balance_transactions(self, params: dict[str, Any]) -> dict[str, Any]:
        payout = params.get("payout")
        expand = "data.source" in (params.get("expand") or [])
        with self._lock:
            found = [t for t in reversed(self.balance_transactions)
                     if payout is None or self._paid_out_in.get(t["id"]) == payout]
            if expand:
                found = [t | {"source": self._source(t["source"])} for t in found]
            return _page(found, params, "/v1/balance_transactions")

    def _source(self, object_id: str) -> dict[str, Any]:
        for objects in (self.charges, self.refunds, self.disputes):
            if object_id in objects:
                return objects[object_id]
        return next(p for p in self.payouts if p["id"] == object_id)


def card_fee(amount_pence: int) -> int:
    """Stripe's standard UK card pricing: 1.5% + 20p, rounded to the nearest penny."""
    return (amount_pence * 15 + 500) // 1000 + 20


DISPUTE_FEE_PENCE = 2000


def _page(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """A Stripe list: newest first, `limit` (default 10, at most 100) after `starting_after`."""
    try:
        limit = min(max(int(params.get("limit", 10)), 1), 100)
    except ValueError:
        raise StripeError(400, "invalid_request_error", "Invalid integer.", "limit") from None
    after = params.get("starting_after")
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise StripeError(400, "invalid_request_error", f"No such object: '{after}'", "starting_after")
        items = items[ids.index(after) + 1:]
    return {"object": "list", "url": url, "data": items[:limit], "has_more": len(items) > limit}


# --- HTTP --------------------------------------------------------------------------------------------------


def _fingerprint(path: str, params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([path, params], sort_keys=True).encode()).hexdigest()


def create_app(sim: StripeSimulator) -> FastAPI:
    app = FastAPI(title="Stripe simulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(StripeError)
    async def stripe_error(_request: Request, error: StripeError) -> JSONResponse:
        return error.response()

    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        if request.url.path.startswith("/v1/"):
            sim.requested_versions.append(request.headers.get("stripe-version"))
        if (request.url.path.startswith("/v1/") and sim.api_key is not None
                and request.headers.get("authorization") != f"Bearer {sim.api_key}"):
            return StripeError(401, "invalid_request_error", "Invalid API Key provided.").response()
        return await call_next(request)

    async def params_of(request: Request) -> dict[str, Any]:
        form = await request.form()
        return decode_form(list(form.multi_items()))

    async def idempotent_post(request: Request, action) -> JSONResponse:
        params = await params_of(request)
        status, body, replayed = sim.idempotent(
            request.headers.get("idempotency-key"), _fingerprint(request.url.path, params), lambda: action(params))
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.post("/v1/checkout/sessions")
    async def create_session(request: Request) -> JSONResponse:
        return await idempotent_post(request, sim.create_session)

    @app.get("/v1/checkout/sessions/{session_id}")
    def get_session(session_id: str) -> dict[str, Any]:
        return sim._public_session(sim.session(session_id))

    @app.post("/v1/checkout/sessions/{session_id}/expire")
    async def expire_session(session_id: str, request: Request) -> JSONResponse:
        return await idempotent_post(request, lambda _params: sim.expire_session(session_id))

    @app.get("/v1/payment_intents/{intent_id}")
    def get_intent(intent_id: str) -> dict[str, Any]:
        if intent_id not in sim.payment_intents:
            raise _missing("payment_intent", intent_id)
        return sim.payment_intents[intent_id]

    @app.get("/v1/charges/{charge_id}")
    def get_charge(charge_id: str) -> dict[str, Any]:
        if charge_id not in sim.charges:
            raise _missing("charge", charge_id)
        return sim.charges[charge_id]

    @app.post("/v1/refunds")
    async def create_refund(request: Request) -> JSONResponse:
        return await idempotent_post(request, sim.refund)

    @app.post("/v1/disputes/{dispute_id}")
    async def update_dispute(dispute_id: str, request: Request) -> JSONResponse:
        return await idempotent_post(request, lambda params: sim.update_dispute(dispute_id, params))

    @app.post("/v1/disputes/{dispute_id}/close")
    async def close_dispute(dispute_id: str, request: Request) -> JSONResponse:
        return await idempotent_post(request, lambda _params: sim.close_dispute(dispute_id))

    @app.get("/v1/payouts")
    def list_payouts(request: Request) -> dict[str, Any]:
        return sim.list_payouts(decode_form(list(request.query_params.multi_items())))

    @app.get("/v1/balance_transactions")
    def list_balance_transactions(request: Request) -> dict[str, Any]:
        return sim.list_balance_transactions(decode_form(list(request.query_params.multi_items())))

    @app.post("/_simulator/payouts")
    def create_payout() -> dict[str, Any]:
        return sim.create_payout()

    @app.get("/v1/events/{event_id}")
    def get_event(event_id: str) -> dict[str, Any]:
        event = next((e for e in sim.events if e["id"] == event_id), None)
        if event is None:
            raise _missing("event", event_id)
        return event

    # The hosted checkout page (checkout.stripe.com's part).

    def checkout_page(request: Request, session: dict[str, Any], error: str | None = None,
                      form: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
        currency = session["currency"].upper()
        return TEMPLATES.TemplateResponse(request, "stripe_checkout.html", {
            "session": session, "amount": format_pence(session["amount_total"], currency),
            "description": (session["line_items"][0].get("price_data") or {}).get("product_data", {}).get("name"),
            "error": error, "form": form or {}}, status_code=status_code)

    @app.get("/c/pay/{session_id}", response_class=HTMLResponse)
    def hosted_page(session_id: str, request: Request) -> Response:
        session = sim.session(session_id)
        if session["status"] == "complete":
            return RedirectResponse(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)
        return checkout_page(request, session)

    @app.post("/c/pay/{session_id}", response_class=HTMLResponse)
    async def hosted_pay(session_id: str, request: Request) -> Response:
        session = sim.session(session_id)
        form = {k: str(v).strip() for k, v in (await request.form()).items()}
        if session["status"] == "complete":
            return RedirectResponse(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)
        if session["status"] != "open":
            return checkout_page(request, session, status_code=410)
        number = re.sub(r"[\s-]", "", form.get("cardnumber", ""))
        email = form.get("email") or session["customer_email"] or ""
        problem = card_problem(number, form.get("exp", ""), form.get("cvc", ""), date.today())
        if problem is None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            problem = "Your email address is incomplete."
        if problem is None:
            outcome = sim.pay(session_id, number, email)
            if outcome.succeeds:
                return RedirectResponse(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), 303)
            problem = outcome.message
        form.pop("cardnumber", None)
        form.pop("cvc", None)
        return checkout_page(request, session, problem, form, status_code=402)

    # Controls that are not Stripe's API: a test or the demo uses them to make things happen.

    @app.post("/_simulator/charges/{charge_id}/dispute")
    def open_dispute(charge_id: str, reason: str = "fraudulent", inquiry: bool = False,
                     prevented: bool = False) -> dict[str, Any]:
        return sim.open_dispute(charge_id, reason, inquiry, prevented)

    @app.post("/_simulator/refunds/{refund_id}/fail")
    def fail_refund(refund_id: str) -> dict[str, Any]:
        return sim.fail_refund(refund_id)

    @app.post("/_simulator/events/{event_id}/resend")
    def resend(event_id: str) -> dict[str, str]:
        sim.resend(event_id)
        return {"resent": event_id}

    @app.post("/_simulator/webhooks")
    async def configure_webhooks(request: Request) -> dict[str, Any]:
        changes = await request.json()
        unknown = set(changes) - set(WebhookOptions.__dataclass_fields__)
        if unknown:
            raise StripeError(400, "invalid_request_error", f"Unknown webhook options: {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(sim.webhook, name, value)
        return sim.webhook.__dict__

    @app.post("/_simulator/clock")
    async def advance_clock(request: Request) -> dict[str, int]:
        seconds = (await request.json()).get("advance_s")
        if not isinstance(seconds, int) or seconds <= 0:
            raise StripeError(400, "invalid_request_error", "advance_s must be a positive whole number of seconds")
        sim.advance_clock(seconds)
        return {"now": sim.now()}

    @app.get("/_simulator/deliveries")
    def deliveries() -> list[dict[str, Any]]:
        return sim.deliveries

    return app


class SimulatorServer:
    """The simulator on a real socket, delivering webhooks, until the `with` block ends."""

    def __init__(self, sim: StripeSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.server = BackgroundServer(create_app(sim), host, port, name="stripe-simulator")

    def __enter__(self) -> str:
        self.sim.public_url = self.server.__enter__()
        self.sim.start_delivery()
        return self.sim.public_url

    def __exit__(self, *exc_info) -> None:
        self.sim.stop_delivery()
        self.server.__exit__(*exc_info)
