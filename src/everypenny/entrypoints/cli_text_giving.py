"""Text giving on the command line: run the simulated aggregator, text from a handset, list donations."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlparse
from xml.etree import ElementTree

import httpx
import phonenumbers
import typer
from rich.console import Console
from rich.table import Table
from twilio.request_validator import RequestValidator

from everypenny import bootstrap
from everypenny.adapters.db.engine import SchemaNotCurrent
from everypenny.config import Settings, get_settings
from everypenny.domain.money import format_pence
from everypenny.domain.text_giving import SmsCharge
from everypenny.entrypoints.simulator_cli import simulator_app
from everypenny.entrypoints.web.sms_webhooks import TWILIO_PATH
from everypenny.service_layer.text_giving import TextRefundRefused, refund_text_gift
from everypenny.service_layer.text_giving_ports import RefundStatus
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app
from everypenny.simulators.server import BackgroundServer

simulate_app = typer.Typer(help="Act as a donor against a running server.", no_args_is_help=True)
donations_app = typer.Typer(help="Donations and how they were paid.", no_args_is_help=True)
sms_app = typer.Typer(help="Text giving through the SMS aggregator.", no_args_is_help=True)

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

QUIET_S = 1.5  # a handset that has heard nothing new for this long has had its replies
REPLY_TIMEOUT_S = 20.0


def _fail(message: str, code: int) -> None:
    errors.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextlib.contextmanager
def running_simulator(settings: Settings, app_url: str, delivery: Delivery = Delivery(),
                      couriers: int = 1) -> Iterator[str]:
    """The simulated aggregator, listening where settings say the aggregator is, calling back `app_url`."""
    where = urlparse(settings.aggregator_url)
    simulator = SimulatedAggregator(app_url, settings.aggregator_api_key, settings.aggregator_callback_token,
                                    delivery=delivery)
    simulator.start(couriers)
    try:
        with BackgroundServer(create_simulator_app(simulator), host=where.hostname or "127.0.0.1",
                            port=where.port or 80) as url:
            yield url
    finally:
        simulator.stop()


@simulator_app.command("aggregator")
def simulator_aggregator(
    app_url: str = typer.Option(None, help="Where to post callbacks (default: EVERYPENNY_PUBLIC_URL)."),
    delay_s: float = typer.Option(0.0, help="Hold every callback this long."),
    jitter_s: float = typer.Option(0.0, help="Add up to this much random delay, which reorders callbacks."),
    duplicate_rate: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of callbacks sent twice."),
    couriers: int = typer.Option(1, min=1, max=64, help="Threads posting callbacks side by side."),
) -> None:
    """Run the carrier-billing aggregator simulator at EVERYPENNY_AGGREGATOR_URL until interrupted."""
    settings = get_settings()
    delivery = Delivery(delay_s=delay_s, jitter_s=jitter_s, duplicate_rate=duplicate_rate)
    with running_simulator(settings, app_url or settings.public_url, delivery, couriers) as url:
        console.print(f"aggregator simulator on {url}, calling back {app_url or settings.public_url}")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        _fail(f"{number!r} is not a phone number; write it as 07700 900123 or +447700900123", 2)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@simulate_app.command("text")
def simulate_text(
    sender: str = typer.Argument(..., metavar="FROM", help="The handset, e.g. 07700900001 (see README)."),
    body: str = typer.Argument(..., help="What the donor texts, e.g. 'SUN£5'."),
    to: str = typer.Option("70141", help="Shortcode (through the aggregator) or +44 long number (Twilio)."),
) -> None:
    """Text from a handset to the running server and print every message the handset receives."""
    settings = get_settings()
    phone = _e164(sender)
    try:
        replies = _text_by_link(settings, phone, to, body) if to.startswith("+") else \
            _text_by_aggregator(settings, phone, to, body)
    except httpx.TransportError as error:
        target = settings.public_url if to.startswith("+") else settings.aggregator_url
        _fail(f"cannot reach {target} ({error}): is `everypenny demo` running?", 3)
    if not replies:
        _fail(f"{phone} received nothing within {REPLY_TIMEOUT_S:.0f} s: is the server running, with "
              "EVERYPENNY_AGGREGATOR_URL pointing at this simulator? (Unknown-subscriber handsets never "
              "receive anything.)", 1)
    for sender_number, text in replies:
        console.print(f"[bold]{sender_number}:[/] {text}")


def _text_by_aggregator(settings: Settings, phone: str, to: str, body: str) -> list[tuple[str, str]]:
    with httpx.Client(base_url=settings.aggregator_url, timeout=10) as client:
        handset_path = f"/sim/handsets/{phone.lstrip('+')}"
        seen = len(client.get(handset_path).raise_for_status().json()["messages"])
        client.post("/sim/texts", json={"from": phone, "to": to, "body": body}).raise_for_status()
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        last_change, count = time.monotonic(), seen
        while time.monotonic() < deadline:
            state = client.get(handset_path).raise_for_status().json()
            if len(state["messages"]) != count:
                count, last_change = len(state["messages"]), time.monotonic()
            if count > seen and time.monotonic() - last_change >= QUIET_S and not state["callbacks_queued"]:
                break
            time.sleep(0.1)
        return [(m["from"], m["body"]) for m in state["messages"][seen:]]


def _text_by_link(settings: Settings, phone: str, to: str, body: str) -> list[tuple[str, str]]:
    """Posts the text as Twilio would (signed with the auth token) and reads the TwiML reply."""
    params = {"MessageSid": f"SMsim{time.time_ns()}", "From": phone, "To": to, "Body": body, "NumSegments": "1"}
    url = settings.public_url.rstrip("/") + TWILIO_PATH
    signature = RequestValidator(settings.twilio_auth_token).compute_signature(url, params)
    response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
    if response.status_code != 200:
        _fail(f"the server answered {response.status_code}: {response.text[:300]}", 1)
    return [(to, message.text or "") for message in ElementTree.fromstring(response.text).iter("Message")]


def _charge_line(charge: SmsCharge) -> str:
    line = f"{charge.sequence}: {format_pence(charge.amount_pence, charge.currency)} {charge.status.value}"
    line += f" ({charge.failure_reason})" if charge.failure_reason else ""
    return line + (f" [bold red]! {charge.contradicting_report}[/]" if charge.contradicting_report else "")


@donations_app.command("list")
def donations_list(
    appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
    limit: int = typer.Option(50, min=1, help="How many, newest first."),
) -> None:
    """An appeal's donations, newest first, with the charges each text became."""
    table = Table("reference", "received (UTC)", "channel", "keyword", "amount", "paid", "status", "phone",
                  "charges", title=f"{appeal}: newest {limit} donations")
    try:
        running = bootstrap.build(get_settings())
    except SchemaNotCurrent as error:
        _fail(str(error), 3)
    try:
        with running.uow() as uow:
            if uow.appeals.get(appeal) is None:
                _fail(f"no appeal has the slug {appeal!r}; `everypenny appeal list` shows them", 2)
            for donation in uow.donations.latest(appeal, limit):
                charges = [_charge_line(charge) for charge in uow.texts.charges_for(donation.reference)]
                table.add_row(
                    donation.reference, f"{donation.created_at:%Y-%m-%d %H:%M:%S}", donation.channel.value,
                    donation.keyword or "", format_pence(donation.amount_pence, donation.currency),
                    format_pence(donation.paid_pence, donation.currency), donation.status.value, donation.phone or "",
                    "\n".join(charges))
    finally:
        running.engine.dispose()  # the CLI may run inside a longer process (tests)
    # Piped or captured output gets room for the table instead of the 80 columns rich assumes.
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)


REFUND_OUTCOMES = {
    RefundStatus.SUCCESS: "refunded and booked",
    RefundStatus.PENDING: "pending with the network: run this again later to book it",
    RefundStatus.FAILURE: "refused by the aggregator, nothing changed",
}


@sms_app.command("refund")
def sms_refund(reference: str = typer.Argument(..., help="The donation's reference, e.g. EP-7K3M9Q2XDA.")) -> None:
    """Give a text donation back to the donor's phone bill through the aggregator (Fonix's /v2/refund)."""
    reference = reference.strip().upper()
    try:
        running = bootstrap.build(get_settings())
    except SchemaNotCurrent as error:
        _fail(str(error), 3)
    try:
        refund = refund_text_gift(running.uow, running.aggregator_gateway(), reference)
    except TextRefundRefused as refused:
        _fail(str(refused), 2)
    finally:
        running.engine.dispose()
    for charge in refund.charges:
        detail = f" ({charge.detail})" if charge.detail and charge.status is not RefundStatus.SUCCESS else ""
        console.print(f"{reference} charge {charge.sequence}, {format_pence(charge.amount_pence, refund.currency)}: "
                      f"{REFUND_OUTCOMES[charge.status]}{detail}")
    if any(charge.status is RefundStatus.FAILURE for charge in refund.charges):
        raise typer.Exit(1)
