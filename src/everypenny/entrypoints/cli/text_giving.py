"""`everypenny simulate text` and `everypenny donations list`: text giving, tried and checked from a shell."""

from __future__ import annotations

import getpass
import sys
import time
from xml.etree import ElementTree

import httpx
import phonenumbers
import typer
from rich.console import Console
from rich.table import Table
from twilio.request_validator import RequestValidator

from everypenny.config import Settings, get_settings
from everypenny.domain.money import format_pence
from everypenny.domain.text_giving import SmsCharge
from everypenny.entrypoints.cli.shared import fail, fail_unknown_appeal, opened_platform
from everypenny.entrypoints.web.sms_webhooks import TWILIO_PATH
from everypenny.service_layer import views
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.charge_corrections import CorrectionRefused, contradictions, resolve_contradiction
from everypenny.service_layer.text_giving import TextRefundRefused, refund_text_gift

simulate_app = typer.Typer(help="Act as a donor against a running server.", no_args_is_help=True)
donations_app = typer.Typer(help="Donations and how they were paid.", no_args_is_help=True)
sms_app = typer.Typer(help="Text giving through the SMS aggregator.", no_args_is_help=True)

console = Console(highlight=False, soft_wrap=True)

QUIET_S = 1.5  # a handset that has heard nothing new for this long has had its replies
REPLY_TIMEOUT_S = 20.0


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        fail(f"{number!r} is not a phone number; write it as 07700 900123 or +447700900123", 2)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@simulate_app.command("text")
def simulate_text(
    sender: str = typer.Argument(..., metavar="FROM",
                                 help="The handset, e.g. 07700900001 (docs/text-to-donate.md lists them)."),
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
        fail(f"cannot reach {target} ({error}): is `everypenny demo` running?", 3)
    if not replies:
        fail(f"{phone} received nothing within {REPLY_TIMEOUT_S:.0f} s: is the server running, with "
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
        fail(f"the server answered {response.status_code}: {response.text[:300]}", 1)
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
    with opened_platform() as running:
        try:
            latest = views.latest_donations(running.uow(), appeal, limit)
        except UnknownAppeal as error:
            fail_unknown_appeal(error)
    for donation, charges in latest:
        table.add_row(
            donation.reference, f"{donation.created_at:%Y-%m-%d %H:%M:%S}", donation.channel.value,
            donation.keyword or "", format_pence(donation.amount_pence, donation.currency),
            format_pence(donation.paid_pence, donation.currency), donation.status.value, donation.phone or "",
            "\n".join(_charge_line(charge) for charge in charges))
    # Piped or captured output gets room for the table instead of the 80 columns rich assumes.
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)


@sms_app.command("refund")
def sms_refund(reference: str = typer.Argument(..., help="The donation's reference, e.g. EP-7K3M9Q2XDA.")) -> None:
    """Give a text donation back to the donor's phone bill through the aggregator (Fonix's /v2/refund)."""
    reference = reference.strip().upper()
    with opened_platform() as running:
        try:
            refund = refund_text_gift(running.uow, running.aggregator_gateway(), reference)
        except TextRefundRefused as refused:
            fail(str(refused), 2)
    for outcome in refund.outcomes():
        console.print(f"{reference} {outcome}")
    if refund.refused:
        raise typer.Exit(1)


@sms_app.command("contradictions")
def sms_contradictions(appeal: str = typer.Option(..., "--appeal", help="The appeal's slug.")) -> None:
    """List the appeal's charges whose reports contradict each other and that finance has not resolved."""
    with opened_platform() as running:
        found = contradictions(running.uow, appeal)
    if not found:
        console.print(f"no contradicted charges need attention in {appeal}")
    for charge in found:
        amount = format_pence(charge.amount_pence, charge.currency)
        console.print(f"{charge.request_id} {charge.donation_reference} {amount} stands {charge.status.value}; "
                      f"contradicted: {charge.contradicting_report}")


@sms_app.command("resolve")
def sms_resolve(
    request_id: str = typer.Argument(..., help="The charge's REQUESTID, as `everypenny sms contradictions` lists."),
    charged: bool = typer.Option(..., "--charged/--not-charged",
                                 help="What the network really did, as its statement shows."),
) -> None:
    """Resolve a contradicted charge: the books are corrected by one transfer if they differ from the network."""
    with opened_platform() as running:
        try:
            correction = resolve_contradiction(running.uow, request_id.strip(), charged, f"cli:{getpass.getuser()}")
        except CorrectionRefused as refused:
            fail(str(refused), 2)
    console.print(correction.outcome())
