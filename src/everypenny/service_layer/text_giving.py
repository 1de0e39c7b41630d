"""Text giving's use cases: a text becomes charges, charge reports become ledger postings, donors get replies.

Every provider callback is stored in the inbox and queued in the outbox in one transaction, then worked
from the outbox: so a callback we answered 200 for is never lost, and a replayed one changes nothing.

Money follows the two-phase ledger. Each charge gets its own PENDING transfer (receivable:carrier_sms to
the restricted fund, the donation's full amount: aggregator fees are never netted from a gift) when the
text is accepted; its charge report POSTs or VOIDs it in the same transaction that records the report.

A report that contradicts an earlier final one (failed, then charged) does not move money again: the first
final report wins, and the contradiction is recorded on the charge and logged for finance. Reasons: a
pending transfer resolves exactly once (the database enforces it), the donor has already been told the
outcome, and the aggregator's settlement statement is where finance resolves what really happened: it is
reconciled against the charges, and a correction is then a new, explicit transfer rather than a silent
re-posting triggered by a provider's retry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from everypenny.domain.appeal import Appeal, AppealStatus, Billing, Channel, Shortcode
from everypenny.domain.donation import ConsentRecord, Donation, Medium, new_reference
from everypenny.domain.keywords import Donate, Help, NeedsAmount, OptIn, OptOut, parse
from everypenny.domain.ledger import AccountCode, Phase, TransferKind, TransferRequest
from everypenny.domain.text_giving import (
    ChargeStatus,
    MessageStatus,
    NotUkMobile,
    OutboundText,
    Refusal,
    SmsCharge,
    charge_failed,
    charge_request_id,
    donation_after_charges,
    help_text,
    link_to_give,
    london_day_start,
    message_request_id,
    needs_amount,
    no_appeal,
    not_uk_mobile,
    receipt,
    refusal,
    refused,
    split_charges,
    started,
    stopped,
    uk_mobile,
    unknown_text,
)
from everypenny.service_layer import links
from everypenny.service_layer.ledger import apply_transfer
from everypenny.service_layer.outbox import TaskHandler
from everypenny.service_layer.text_giving_ports import AggregatorGateway, ChargeOrder, MessageOrder
from everypenny.service_layer.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

AGGREGATOR = "aggregator"
TWILIO = "twilio"

TEXT_RECEIVED = "sms.text_received"
CHARGE = "sms.charge"
CHARGE_REPORTED = "sms.charge_reported"
DELIVERY_REPORTED = "sms.delivery_reported"
SEND = "sms.send"

# During a burst, money already charged is booked and receipted before new texts are taken up, so the
# totaliser moves while the texts are still arriving rather than only after the last one is handled.
CLAIMED_LAST = (TEXT_RECEIVED,)


@dataclass(frozen=True)
class InboundText:
    """A donor's text (MO) as a provider delivered it."""

    provider: str
    message_id: str
    msisdn: str
    to: str
    body: str
    network: str = ""
    received_at: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.message_id}"


@dataclass(frozen=True)
class ChargeReport:
    request_id: str
    status: str  # "charged" or "failed"
    reason: str | None = None
    network: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    request_id: str
    status: str  # "delivered" or "failed"
    detail: str | None = None


class ChargeNotYetKnown(LookupError):
    """A report for a charge we have not stored yet: the outbox retries it later, so it is never lost."""


class MessageNotYetKnown(LookupError):
    pass


@dataclass(frozen=True)
class DonorLinks:
    public_url: str
    secret_key: str

    def gift_aid(self, reference: str) -> str:
        return links.gift_aid_url(self.public_url, self.secret_key, reference)

    def donate(self, slug: str, amount_pence: int, phone: str | None) -> str:
        return links.prefilled_donation_url(self.public_url, self.secret_key, slug, amount_pence, phone)


def _now() -> datetime:
    return datetime.now(UTC)


# ---- receiving callbacks (called by webhooks: store, queue, answer fast) --------------------------------

@dataclass(frozen=True)
class Callback:
    """A provider's callback as the inbox stores it and the outbox task that will work it."""

    provider: str
    message_id: str
    kind: str
    topic: str
    payload: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        return f"{self.provider}:{self.kind}:{self.message_id}"


def accept_callbacks(uow: UnitOfWork, callbacks: Sequence[Callback]) -> list[bool]:
    """Stores many callbacks and queues their work in one transaction (a webhook's group commit): for each,
    False when the provider sent it before, in which case nothing new is stored or queued."""
    with uow:
        new = uow.inbox.accept_many([(c.provider, c.message_id, c.kind, c.payload) for c in callbacks])
        uow.outbox.enqueue_many([(c.topic, c.payload, c.dedupe_key) for c, fresh in zip(callbacks, new, strict=True)
                                 if fresh])
        uow.commit()
    return new


def text_callback(text: InboundText) -> Callback:
    return Callback(text.provider, text.message_id, "mo", TEXT_RECEIVED, asdict(text))


def charge_report_callback(report: ChargeReport) -> Callback:
    # A charge has one report per outcome: the same outcome again is a duplicate, another is a contradiction.
    return Callback(AGGREGATOR, f"charge:{report.request_id}:{report.status}", "charge_report", CHARGE_REPORTED,
                    asdict(report))


def delivery_report_callback(report: DeliveryReport) -> Callback:
    return Callback(AGGREGATOR, f"delivery:{report.request_id}:{report.status}", "delivery_report",
                    DELIVERY_REPORTED, asdict(report))


def reply_by_link(uow: UnitOfWork, text: InboundText, donor_links: DonorLinks) -> list[str]:
    """Text-to-link: answers inline (TwiML). A replayed message gets the same answer and changes nothing."""
    with uow:
        if uow.inbox.accept(text.provider, text.message_id, "mo", asdict(text)):
            _handle_text(uow, text, donor_links, inline=True)
            uow.commit()
        return [message.body for message in uow.texts.replies_to(text.key)]


# ---- outbox handlers ---------------------------------------------------------------------------------

def handle_text(uow: UnitOfWork, payload: dict[str, Any], donor_links: DonorLinks) -> None:
    _handle_text(uow, InboundText(**payload), donor_links, inline=False)


def _appeals_on(uow: UnitOfWork, number: str) -> list[tuple[Appeal, Shortcode]]:
    """Appeals taking texts on `number` (several charities may share a shortcode), live ones first."""
    found = [(s.appeal, s.appeal.shortcode(number)) for s in uow.appeals.list() if s.appeal.shortcode(number)]
    return sorted(found, key=lambda pair: pair[0].status is not AppealStatus.LIVE)


def _handle_text(uow: UnitOfWork, text: InboundText, donor_links: DonorLinks, inline: bool) -> None:
    reply = _replier(uow, text, inline)
    on_number = _appeals_on(uow, text.to)
    if not on_number:
        log.warning("text to a number no appeal uses", to=text.to, message_id=text.message_id)
        reply("reply", no_appeal(text.to))
        return
    intent = parse(text.body, tuple(k for _, shortcode in on_number for k in shortcode.keywords))
    word = getattr(intent, "keyword", None)
    appeal, shortcode = next(((a, s) for a, s in on_number if any(k.word == word for k in s.keywords)),
                             on_number[0])
    if inline and shortcode.billing is Billing.CARRIER:
        shortcode = replace(shortcode, billing=Billing.LINK)  # a link provider cannot bill a phone
    try:
        phone, not_uk = uk_mobile(text.msisdn), None
    except NotUkMobile as error:
        phone, not_uk = None, str(error)
    contact = phone or text.msisdn

    if isinstance(intent, OptOut):
        _record_consent(uow, contact, False, "sms:STOPALL" if intent.everything else "sms:STOP",
                        None if intent.everything else appeal.slug)
        reply("reply", stopped(appeal, intent.everything))
    elif isinstance(intent, OptIn):
        _record_consent(uow, contact, True, "sms:START", appeal.slug)
        reply("reply", started(appeal))
    elif isinstance(intent, Help):
        reply("reply", help_text(appeal))
    elif not appeal.takes_money:
        reply("reply", refused(appeal, shortcode, Refusal.CLOSED, 0, None))
    elif isinstance(intent, NeedsAmount):
        reply("reply", needs_amount(appeal, shortcode))
    elif not isinstance(intent, Donate):
        reply("reply", unknown_text(appeal, shortcode))
    elif phone is None:
        reply("reply", not_uk_mobile(appeal, not_uk, donor_links.donate(appeal.slug, intent.amount_pence, None)))
    else:
        _donate(uow, text, appeal, shortcode, intent, phone, donor_links, reply)


Reply = Callable[..., None]


def _replier(uow: UnitOfWork, text: InboundText, inline: bool) -> Reply:
    """Stores each reply part; the aggregator's are queued for sending, a link provider's go back inline."""

    def reply(purpose: str, parts: tuple[str, ...], donation_reference: str | None = None) -> None:
        for part, body in enumerate(parts, 1):
            _store_message(uow, OutboundText(
                request_id=message_request_id(text.message_id, "m", part), provider=text.provider,
                to=text.msisdn if text.msisdn.startswith("+") else f"+{text.msisdn}", sender=text.to,
                body=body, purpose=purpose, in_reply_to=text.key, donation_reference=donation_reference,
                status=MessageStatus.REPLIED if inline else MessageStatus.QUEUED))

    return reply


def _store_message(uow: UnitOfWork, message: OutboundText) -> None:
    uow.texts.add_message(message)
    if message.status is MessageStatus.QUEUED:
        uow.outbox.enqueue(SEND, {"request_id": message.request_id}, dedupe_key=f"{SEND}:{message.request_id}")


def _record_consent(uow: UnitOfWork, contact: str, granted: bool, source: str, appeal: str | None) -> None:
    uow.consents.record(ConsentRecord(contact, Medium.SMS, granted, source, _now(), appeal))


def _donate(uow: UnitOfWork, text: InboundText, appeal: Appeal, shortcode: Shortcode, intent: Donate,
            phone: str, donor_links: DonorLinks, reply: Reply) -> None:
    amount = intent.amount_pence
    given_today = uow.texts.given_today(appeal.slug, phone, london_day_start(_now()))
    why = refusal(appeal, shortcode, intent.keyword, amount, given_today)
    if why is not None:
        caps = why in (Refusal.OVER_TEXT_CAP, Refusal.OVER_DAILY_CAP)
        reply("reply", refused(appeal, shortcode, why, amount,
                               donor_links.donate(appeal.slug, amount, phone) if caps else None))
        return
    if shortcode.billing is Billing.LINK:
        reply("link", link_to_give(appeal, amount, donor_links.donate(appeal.slug, amount, phone)))
        return
    # A plain keyword opts in, as the T&Cs say, but never overrides an earlier STOP: only START does.
    opted_out = uow.consents.current(phone, Medium.SMS) is False
    consent = intent.marketing_consent and not opted_out
    donation = Donation(
        reference=new_reference(), appeal=appeal.slug, channel=Channel.CARRIER_SMS, amount_pence=amount,
        currency=appeal.currency, created_at=_now(), phone=phone, keyword=intent.keyword,
        marketing_consent=consent,
        metadata={"shortcode": shortcode.number, "network": text.network, "message_id": text.key})
    uow.donations.add(donation)
    if consent:
        _record_consent(uow, phone, True, f"sms:{intent.keyword}", appeal.slug)
    elif not intent.marketing_consent:
        _record_consent(uow, phone, False, f"sms:{intent.keyword}NOINFO", appeal.slug)
    for sequence, charge_pence in enumerate(split_charges(amount, text.network), 1):
        charge = SmsCharge(charge_request_id(text.message_id, sequence), donation.reference, sequence,
                           charge_pence, appeal.currency, text.network)
        uow.texts.add_charge(charge)
        apply_transfer(uow, TransferRequest(
            idempotency_key=_pending_key(charge.request_id), appeal=appeal.slug,
            debit=AccountCode.receivable(Channel.CARRIER_SMS), credit=AccountCode.RESTRICTED_FUND,
            amount_pence=charge_pence, currency=appeal.currency, kind=TransferKind.DONATION, phase=Phase.PENDING,
            reference=donation.reference, description=f"text {intent.keyword} to {shortcode.number}"))
        uow.outbox.enqueue(CHARGE, {"request_id": charge.request_id}, dedupe_key=f"{CHARGE}:{charge.request_id}")
    log.info("text donation accepted", reference=donation.reference, amount_pence=amount, network=text.network)


def _pending_key(request_id: str) -> str:
    return f"sms:{request_id}"


def request_charge(uow: UnitOfWork, payload: dict[str, Any], gateway: AggregatorGateway) -> None:
    charge = uow.texts.charge(payload["request_id"])
    if charge is None:
        raise ChargeNotYetKnown(payload["request_id"])
    if charge.final:
        return  # its report beat this retry: the aggregator already has the request
    donation = uow.donations.get(charge.donation_reference)
    appeal = uow.appeals.get(donation.appeal).appeal
    gateway.request_charge(ChargeOrder(
        request_id=charge.request_id, msisdn=donation.phone.lstrip("+"), shortcode=donation.metadata["shortcode"],
        amount_pence=charge.amount_pence, description=f"Donation to {appeal.name}"[:60]))


def apply_charge_report(uow: UnitOfWork, payload: dict[str, Any], donor_links: DonorLinks) -> None:
    report = ChargeReport(**payload)
    charge = uow.texts.charge(report.request_id)
    if charge is None:
        raise ChargeNotYetKnown(f"charge report for {report.request_id!r} arrived before its charge")
    status = ChargeStatus.CHARGED if report.status == ChargeStatus.CHARGED.value else ChargeStatus.FAILED
    updated = charge.reported(status, (report.reason or "OTHER") if status is ChargeStatus.FAILED else None)
    if updated == charge:
        return
    uow.texts.save_charge(updated)
    if charge.final:
        log.warning("charge report contradicts an earlier final report; first report stands",
                    request_id=charge.request_id, stands=charge.status.value,
                    contradiction=updated.contradicting_report)
        return
    pending = uow.ledger.get(_pending_key(charge.request_id))
    if status is ChargeStatus.CHARGED:
        apply_transfer(uow, TransferRequest.post(pending, f"{pending.idempotency_key}:post", description="charged"))
    else:
        apply_transfer(uow, TransferRequest.void(pending, f"{pending.idempotency_key}:void",
                                                 description=f"failed: {updated.failure_reason}"))
    donation = uow.donations.get(charge.donation_reference)
    # Most gifts are one charge; only a gift split into several (a £10-a-charge network) needs its siblings.
    charges = [updated] if updated.amount_pence == donation.amount_pence else uow.texts.charges_for(
        donation.reference)
    settled = donation_after_charges(donation, charges)
    if settled != donation:
        uow.donations.save(settled)
    appeal = uow.appeals.get(donation.appeal).appeal
    if status is ChargeStatus.CHARGED:
        tag, parts = "r", receipt(appeal, charge.amount_pence, charge.sequence, len(charges),
                                  donor_links.gift_aid(donation.reference))
    else:
        tag, parts = "f", charge_failed(appeal, charge.amount_pence, updated.failure_reason,
                                        donor_links.donate(appeal.slug, charge.amount_pence, donation.phone))
    for part, body in enumerate(parts, 1):
        _store_message(uow, OutboundText(
            request_id=message_request_id(charge.request_id, tag, part), provider=AGGREGATOR, to=donation.phone,
            sender=donation.metadata["shortcode"], body=body, purpose="receipt" if tag == "r" else "failure",
            in_reply_to=donation.metadata["message_id"], donation_reference=donation.reference))


def send_message(uow: UnitOfWork, payload: dict[str, Any], gateway: AggregatorGateway) -> None:
    message = uow.texts.message(payload["request_id"])
    if message is None:
        raise MessageNotYetKnown(payload["request_id"])
    if message.status is not MessageStatus.QUEUED:
        return
    gateway.send_message(MessageOrder(message.request_id, message.to.lstrip("+"), message.sender, message.body))
    uow.texts.set_message_status(message.request_id, MessageStatus.SENT, None, only_if=MessageStatus.QUEUED)


def apply_delivery_report(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    report = DeliveryReport(**payload)
    status = MessageStatus.DELIVERED if report.status == MessageStatus.DELIVERED.value else MessageStatus.FAILED
    if not uow.texts.set_message_status(report.request_id, status, report.detail):
        raise MessageNotYetKnown(f"delivery report for {report.request_id!r} arrived before its message")


def text_giving_handlers(gateway: AggregatorGateway, donor_links: DonorLinks) -> dict[str, TaskHandler]:
    return {
        TEXT_RECEIVED: lambda uow, payload: handle_text(uow, payload, donor_links),
        CHARGE: lambda uow, payload: request_charge(uow, payload, gateway),
        CHARGE_REPORTED: lambda uow, payload: apply_charge_report(uow, payload, donor_links),
        SEND: lambda uow, payload: send_message(uow, payload, gateway),
        DELIVERY_REPORTED: apply_delivery_report,
    }
