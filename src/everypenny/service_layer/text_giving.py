"""Text giving's use cases: a text becomes charges, charge reports become ledger postings, donors get replies.

Every provider callback is stored in the inbox and queued in the outbox in one transaction, then worked
from the outbox: so a callback we answered 200 for is never lost, and a replayed one changes nothing.

Money follows the two-phase ledger. Each charge gets its own PENDING transfer (receivable:carrier_sms to
the restricted fund, the donation's full amount: aggregator fees are never netted from a gift) when the
text is accepted; its charge report POSTs or VOIDs it in the same transaction that records the report.
The charge request carries the receipt, with the Gift Aid invitation in it, which the network delivers with
the charge only if it goes through; the charge report says both. A gift thus costs one call to the
aggregator and one report back. A charge whose report
never comes becomes unconfirmed after its time to live plus a margin (still pending money), and the
aggregator's monthly statement settles it (service_layer/settlement.py).

Only a report is trusted after the charge was asked for twice: the outbox repeats a charge whose answer was
lost (same REQUESTID), and nothing public says the aggregator de-duplicates on it, so its answer to a repeat
(400 IS_DUPLICATE, say) is never final: the charge waits for its report, or becomes unconfirmed. A first
request the aggregator refuses outright fails at once (the donor is told), but a report saying the network
charged it outranks that: the gift is booked by a new transfer (its pending one was voided), the donor's
receipt is recorded and a failure notice still queued is not sent.

A report that contradicts an earlier final report (failed, then charged) does not move money again: the first
final report wins, and the contradiction is recorded on the charge and logged for finance. Reasons: a
pending transfer resolves exactly once (the database enforces it), the donor has already been told the
outcome, and the aggregator's settlement statement is where finance resolves what really happened: it is
reconciled against the charges, and a correction is then a new, explicit transfer rather than a silent
re-posting triggered by a provider's retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from everypenny.domain import postings
from everypenny.domain.appeal import Appeal, AppealStatus, Billing, Channel, Shortcode
from everypenny.domain.consent import ConsentModel, ConsentWording
from everypenny.domain.contact_marks import ContactMark, MarkKind
from everypenny.domain.donation import ConsentRecord, Donation, Medium, new_reference
from everypenny.domain.keywords import Donate, Help, NeedsAmount, OptIn, OptOut, parse
from everypenny.domain.ledger import TransferRequest
from everypenny.domain.money import format_pence
from everypenny.domain.provider_opt_out import SOURCE_PREFIX as TWILIO_CONSENTS
from everypenny.domain.provider_opt_out import twilio_answers_help as answered_by_twilio
from everypenny.domain.provider_opt_out import twilio_consent_change
from everypenny.domain.text_giving import (
    ChargeStatus,
    Given,
    MessageStatus,
    NotUkMobile,
    OutboundText,
    Refusal,
    SmsCharge,
    charge_failed,
    charge_request_id,
    donation_after_charges,
    help_text,
    is_failure_notice,
    link_to_give,
    london_day_start,
    london_month_start,
    message_request_id,
    needs_amount,
    no_appeal,
    not_uk_mobile,
    protected,
    receipt,
    refund_request_id,
    refusal,
    refused,
    split_charges,
    started,
    stopped,
    uk_mobile,
    unknown_text,
)
from everypenny.service_layer import links
from everypenny.service_layer.appeals import appeal_of
from everypenny.service_layer.ledger import apply_transfers
from everypenny.service_layer.outbox import CallsFailed, CallsOut, EachBatch, ForTask, Handler, call_side_by_side
from everypenny.service_layer.ports import OutboxTask
from everypenny.service_layer.text_giving_ports import (
    AGGREGATOR,
    AggregatorGateway,
    AggregatorMessage,
    ChargeAnswer,
    ChargeOrder,
    ChargeReport,
    DeliveryReport,
    InboundText,
    MessageOrder,
    RefundOrder,
    RefundStatus,
)
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)

TWILIO = "twilio"

TEXT_RECEIVED = "sms.text_received"
CHARGE = "sms.charge"
CHARGE_REPORTED = "sms.charge_reported"
DELIVERY_REPORTED = "sms.delivery_reported"
SEND = "sms.send"

# The aggregator gives up on a charge after its time to live; a report may still be on its way for a while.
CHARGE_TIME_TO_LIVE = timedelta(minutes=30)
UNCONFIRMED_MARGIN = timedelta(hours=6)

# Calls to the aggregator a worker process has in flight at once: enough that a batch's calls overlap their
# waits on it, few enough not to look like a flood to it.
CONCURRENT_CALLS = 16

# During a burst, money already charged is booked and receipted before new texts are taken up, so the
# totaliser moves while the texts are still arriving rather than only after the last one is handled.
CLAIMED_LAST = (TEXT_RECEIVED,)


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

    def donate(self, appeal: Appeal, amount_pence: int, phone: str | None, keyword: str | None) -> str:
        """The donation page a texter of `keyword` is sent to: on an appeal with [[partners]], the keyword's
        partner's page, so the gift still counts for that partner; otherwise the appeal's own."""
        partner = appeal.partner_of_keyword(keyword) if appeal.partners and keyword else None
        return links.prefilled_donation_url(self.public_url, self.secret_key, appeal.slug, amount_pence, phone,
                                            partner)


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
        new = uow.inbox.accept_and_queue([(c.provider, c.message_id, c.kind, c.payload, c.topic, c.dedupe_key)
                                          for c in callbacks])
        uow.commit()
    return new


def text_callback(text: InboundText) -> Callback:
    return Callback(text.provider, text.message_id, "mo", TEXT_RECEIVED, asdict(text))


def charge_report_callback(report: ChargeReport) -> Callback:
    # A charge has one report per outcome: the same outcome again is a duplicate, another is a contradiction.
    return Callback(AGGREGATOR, f"charge:{report.request_id}:{report.status}", "charge_report", CHARGE_REPORTED,
                    asdict(report))


def delivery_report_callback(report: DeliveryReport) -> Callback:
    return Callback(AGGREGATOR, _delivery_report_id(report.txguid, report.status), "delivery_report",
                    DELIVERY_REPORTED, asdict(report))


def aggregator_callback(message: AggregatorMessage) -> Callback:
    match message:
        case InboundText():
            return text_callback(message)
        case ChargeReport():
            return charge_report_callback(message)
        case DeliveryReport():
            return delivery_report_callback(message)


def _delivery_report_id(txguid: str, status: str) -> str:
    return f"delivery:{txguid}:{status}"


def reply_by_link(uow: UnitOfWork, text: InboundText, donor_links: DonorLinks,
                  opt_out_type: str | None = None, twilio_answers_help: bool = False) -> list[str]:
    """Text-to-link: answers inline (TwiML). A replayed message gets the same answer and changes nothing.

    Twilio answers its own opt-out and opt-in words and blocks our texts to a phone that opted out there
    (domain/provider_opt_out.py): those words are recorded as consent changes and get no reply from us, and
    a phone Twilio blocks gets none either until it opts back in. With Advanced Opt-Out
    (`twilio_answers_help`), Twilio answers HELP too, and we send no second answer.
    """
    with uow:
        if uow.inbox.accept(text.provider, text.message_id, "mo", asdict(text)):
            batch = _TextBatch(uow, [text])
            contact = _uk_mobile_or_none(text.msisdn) or text.msisdn
            change = twilio_consent_change(text.body, opt_out_type)
            if change is not None:
                batch.record_opt_out(contact, not change.granted, change.source, (None,))
            elif twilio_answers_help and answered_by_twilio(text.body, opt_out_type):
                log.info("no reply: Twilio's Advanced Opt-Out answered HELP", message_id=text.message_id)
            elif uow.consents.current_from(contact, Medium.SMS, TWILIO_CONSENTS) is False:
                log.info("no reply: Twilio blocks texts to this phone until it opts back in",
                         message_id=text.message_id)
            else:
                _handle_text(batch, text, donor_links, inline=True)
            batch.store()
            uow.commit()
        return [message.body for message in uow.texts.replies_to(text.key)]


# ---- outbox handlers ---------------------------------------------------------------------------------

class _TextBatch:
    """A batch of texts handled in one transaction: what they store is gathered so each kind of row goes in with
    one statement, and the batch remembers what its earlier texts changed that later ones must see (a STOP
    before a donation, the daily cap across two texts from one phone), exactly as if handled one by one."""

    def __init__(self, tx: Transaction, texts: Sequence[InboundText]) -> None:
        self.tx = tx
        self.day_start = london_day_start(_now())
        self.month_start = london_month_start(_now())
        self._phones = sorted({phone for text in texts if (phone := _uk_mobile_or_none(text.msisdn))})
        self._given_today: dict[tuple[str, str], int] = {}
        self._given_month: dict[str, int] = {}
        self._consent: dict[str, bool | None] | None = None
        self._marks: dict[str, frozenset[MarkKind]] | None = None
        self.donations: list[Donation] = []
        self.consents: list[ConsentRecord] = []
        self.marks: list[ContactMark] = []
        self.charges: list[SmsCharge] = []
        self.transfers: list[TransferRequest] = []
        self.messages: list[OutboundText] = []

    def given(self, appeal: str, phone: str) -> Given:
        """The first ask for an appeal reads (and on PostgreSQL locks) every phone in the batch at once, in the
        one query that also sums each phone's month across every appeal; the batch's own gifts are added."""
        if (appeal, phone) not in self._given_today:
            given = self.tx.texts.given_many(appeal, self._phones, self.day_start, self.month_start)
            self._given_today.update(((appeal, number), each.today_pence) for number, each in given.items())
            for number, each in given.items():
                self._given_month.setdefault(number, each.month_pence)
        return Given(self._given_today[appeal, phone], self._given_month[phone])

    def opted_out(self, phone: str) -> bool:
        """Stored consents for every phone in the batch, read at the first ask; then the batch's own words. A
        number on the suppression list is opted out even when erasure has pseudonymised its consents."""
        if self._consent is None:
            self._consent = dict(self.tx.consents.current_many(self._phones, Medium.SMS))
            self._consent.update((record.contact, record.granted) for record in self.consents)
        return self._consent.get(phone) is False or MarkKind.SUPPRESSED in self.marks_on(phone)

    def marks_on(self, phone: str) -> frozenset[MarkKind]:
        """The suppressions and blocks standing on the batch's phones, read at the first ask; then its own."""
        if self._marks is None:
            self._marks = dict(self.tx.marks.active_many(self._phones, Medium.SMS))
            for mark in self.marks:
                self._apply_mark(mark)
        return self._marks.get(phone, frozenset())

    def _apply_mark(self, mark: ContactMark) -> None:
        assert self._marks is not None
        kinds = self._marks.get(mark.contact, frozenset())
        self._marks[mark.contact] = (kinds | {mark.kind}) if mark.active else (kinds - {mark.kind})

    def record_consent(self, contact: str, granted: bool, source: str, appeal: str | None,
                       wording: ConsentWording | None = None) -> None:
        self.consents.append(ConsentRecord(contact, Medium.SMS, granted, source, _now(), appeal, wording))
        if self._consent is not None:
            self._consent[contact] = granted

    def record_opt_out(self, contact: str, opted_out: bool, source: str, appeals: Iterable[str | None],
                       wording: ConsentWording | None = None) -> None:
        """An opt-out word (STOP) or opt back in (START, or YES where the appeal asks for it): a consent for each
        of the appeals it speaks to (None: the provider's, for every appeal), and the suppression list, which
        outlives erasure (ICO, direct marketing guidance: suppression lists)."""
        for appeal in appeals:
            self.record_consent(contact, not opted_out, source, appeal, wording)
        mark = ContactMark(contact, Medium.SMS, MarkKind.SUPPRESSED, opted_out, source, _now())
        self.marks.append(mark)
        if self._marks is not None:
            self._apply_mark(mark)

    def add_donation(self, donation: Donation) -> None:
        self.donations.append(donation)
        given = self.given(donation.appeal, donation.text_phone)
        self._given_today[donation.appeal, donation.text_phone] = given.today_pence + donation.amount_pence
        self._given_month[donation.text_phone] = given.month_pence + donation.amount_pence

    def store(self) -> None:
        self.tx.donations.add_many(self.donations)
        self.tx.consents.record_many(self.consents)
        self.tx.marks.record_many(self.marks)
        self.tx.texts.add_charges(self.charges)
        apply_transfers(self.tx, self.transfers)
        self.tx.outbox.enqueue_many([(CHARGE, _task_for(charge.request_id), f"{CHARGE}:{charge.request_id}")
                                      for charge in self.charges])
        _store_messages(self.tx, self.messages)


def _uk_mobile_or_none(msisdn: str) -> str | None:
    try:
        return uk_mobile(msisdn)
    except NotUkMobile:
        return None


def handle_texts(tx: Transaction, payloads: list[dict[str, Any]], donor_links: DonorLinks) -> None:
    texts = [InboundText(**payload) for payload in payloads]
    batch = _TextBatch(tx, texts)
    for text in texts:
        _handle_text(batch, text, donor_links, inline=False)
    batch.store()


def _appeals_on(tx: Transaction, number: str) -> list[tuple[Appeal, Shortcode]]:
    """Appeals taking texts on `number` (several charities may share a shortcode), live ones first."""
    found = [(s.appeal, shortcode) for s in tx.appeals.list() if (shortcode := s.appeal.shortcode(number))]
    return sorted(found, key=lambda pair: pair[0].status is not AppealStatus.LIVE)


def _handle_text(batch: _TextBatch, text: InboundText, donor_links: DonorLinks, inline: bool) -> None:
    reply = _replier(batch, text, inline)
    on_number = _appeals_on(batch.tx, text.to)
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
        phone, not_uk = uk_mobile(text.msisdn), ""
    except NotUkMobile as error:
        phone, not_uk = None, str(error)
    contact = phone or text.msisdn

    if isinstance(intent, OptOut):
        # STOP ALL stops every appeal on the number texted (PhonepayPlus' consumer guidance): a record for each.
        stopped_appeals = dict.fromkeys(a.slug for a, _ in on_number) if intent.everything else (appeal.slug,)
        batch.record_opt_out(contact, True, "sms:STOPALL" if intent.everything else "sms:STOP", stopped_appeals)
        reply("reply", stopped(appeal, intent.everything))
    elif isinstance(intent, OptIn):
        batch.record_opt_out(contact, False, f"sms:{intent.word}", (appeal.slug,), appeal.consent_wording)
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
        reply("reply", not_uk_mobile(appeal, not_uk,
                                     donor_links.donate(appeal, intent.amount_pence, None, intent.keyword)))
    elif MarkKind.BLOCKED in batch.marks_on(phone):
        log.info("text gift refused: the charity protects this number", message_id=text.message_id)
        reply("reply", protected(appeal))
    else:
        _donate(batch, text, appeal, shortcode, intent, phone, donor_links, reply)


Reply = Callable[..., None]


def _replier(batch: _TextBatch, text: InboundText, inline: bool) -> Reply:
    """Gathers each reply part; the aggregator's are queued for sending, a link provider's go back inline."""

    def reply(purpose: str, parts: tuple[str, ...], donation_reference: str | None = None) -> None:
        for part, body in enumerate(parts, 1):
            batch.messages.append(OutboundText(
                request_id=message_request_id(text.message_id, "m", part), provider=text.provider,
                to=text.msisdn if text.msisdn.startswith("+") else f"+{text.msisdn}", sender=text.to,
                body=body, purpose=purpose, in_reply_to=text.key, donation_reference=donation_reference,
                status=MessageStatus.REPLIED if inline else MessageStatus.QUEUED))

    return reply


def _store_messages(tx: Transaction, messages: Sequence[OutboundText]) -> None:
    tx.texts.add_messages(messages)
    tx.outbox.enqueue_many([(SEND, _task_for(message.request_id), f"{SEND}:{message.request_id}")
                             for message in messages if message.status is MessageStatus.QUEUED])


def _donate(batch: _TextBatch, text: InboundText, appeal: Appeal, shortcode: Shortcode, intent: Donate,
            phone: str, donor_links: DonorLinks, reply: Reply) -> None:
    amount = intent.amount_pence
    why = refusal(appeal, shortcode, intent.keyword, amount, batch.given(appeal.slug, phone))
    if why is not None:
        caps = why in (Refusal.OVER_TEXT_CAP, Refusal.OVER_DAILY_CAP, Refusal.OVER_MONTHLY_LIMIT)
        reply("reply", refused(appeal, shortcode, why, amount,
                               donor_links.donate(appeal, amount, phone, intent.keyword) if caps else None))
        return
    if shortcode.billing is Billing.LINK:
        reply("link", link_to_give(appeal, amount, donor_links.donate(appeal, amount, phone, intent.keyword)))
        return
    # Under the soft opt-in a plain keyword opts in, as the promotion said, but never overrides an earlier STOP:
    # only START does. Under the opt-in model only a reply YES opts in.
    wording = appeal.consent_wording
    consent = (intent.marketing_consent and wording.model is ConsentModel.SOFT_OPT_IN
               and not batch.opted_out(phone))
    donation = Donation(
        reference=new_reference(), appeal=appeal.slug, channel=Channel.CARRIER_SMS, amount_pence=amount,
        currency=appeal.currency, created_at=_now(), phone=phone, keyword=intent.keyword,
        partner=appeal.partner_of_keyword(intent.keyword), marketing_consent=consent,
        metadata={"shortcode": shortcode.number, "network": text.network, "message_id": text.key})
    batch.add_donation(donation)
    if consent:
        batch.record_consent(phone, True, f"sms:{intent.keyword}", appeal.slug, wording)
    elif not intent.marketing_consent:
        batch.record_consent(phone, False, f"sms:{intent.keyword}NOINFO", appeal.slug, wording)
    for sequence, charge_pence in enumerate(split_charges(amount, text.network), 1):
        charge = SmsCharge(charge_request_id(text.message_id, sequence), donation.reference, sequence,
                           charge_pence, appeal.currency, text.network)
        batch.charges.append(charge)
        batch.transfers.append(postings.text_charge_pending(charge, appeal.slug, intent.keyword, shortcode.number))
    log.info("text donation accepted", reference=donation.reference, amount_pence=amount, network=text.network)


def _task_for(request_id: str) -> dict[str, str]:
    """The outbox payload of a charge's or a message's task: the row is read afresh when the task runs."""
    return {"request_id": request_id}


def charge_orders(tx: Transaction, tasks: list[OutboxTask],
                  donor_links: DonorLinks) -> list[ForTask[ChargeOrder]]:
    """What to ask the aggregator to charge for these queued charges, each with its receipt."""
    request_ids = [task.payload["request_id"] for task in tasks]
    charges = tx.texts.charges(request_ids)
    if unknown := [request_id for request_id in request_ids if request_id not in charges]:
        raise ChargeNotYetKnown(unknown[0])
    # A final charge's report beat this retry: the aggregator already has the request.
    due = [(task, charges[request_id]) for request_id, task in _first_task_for_each(tasks).items()
           if not charges[request_id].final]
    gifts = tx.donations.get_many([charge.donation_reference for _, charge in due])
    orders = []
    for task, charge in due:
        donation = gifts[charge.donation_reference]
        appeal = appeal_of(tx, donation)
        orders.append((task, ChargeOrder(
            request_id=charge.request_id, msisdn=donation.text_phone.lstrip("+"),
            shortcode=donation.metadata["shortcode"], amount_pence=charge.amount_pence,
            currency=charge.currency, description=appeal.description_on_bill,
            receipt=receipt(appeal, charge.amount_pence, charge.sequence, _charge_count(tx, charge, donation),
                            donor_links.gift_aid(donation.reference)),
            time_to_live_min=int(CHARGE_TIME_TO_LIVE.total_seconds() // 60), repeat=task.attempts > 1)))
    return orders


def _first_task_for_each(tasks: list[OutboxTask]) -> dict[str, OutboxTask]:
    """Each request id the tasks name, with the first task naming it, in claim order."""
    first: dict[str, OutboxTask] = {}
    for task in tasks:
        first.setdefault(task.payload["request_id"], task)
    return first


def _charge_count(tx: Transaction, charge: SmsCharge, donation: Donation) -> int:
    """How many charges the gift was split into: most are one, and only a split gift needs its siblings read."""
    return 1 if charge.amount_pence == donation.amount_pence else len(tx.texts.charges_for(donation.reference))


def request_charges(gateway: AggregatorGateway, orders: list[ForTask[ChargeOrder]],
                    calls: Executor) -> list[tuple[ChargeOrder, ChargeAnswer]]:
    """Asks for the charges side by side, but a phone's in turn (a split gift's charges in sequence, as the
    network would take them one after another); a charge whose call failed is asked again later, alone."""
    return call_side_by_side(calls, gateway.request_charge, orders, in_turn=lambda order: order.msisdn)


def record_charge_answers(tx: Transaction, answered: list[tuple[ChargeOrder, ChargeAnswer]],
                          donor_links: DonorLinks) -> None:
    """Keeps the aggregator's id for each charge it took, and the receipt it took with it (sent, under that id,
    so its delivery report finds it); a charge it refused for good fails now, with its code, as a report
    saying so would."""
    taken = [(order, answer) for order, answer in answered if answer.txguid]
    charges = tx.texts.charges([order.request_id for order, _ in taken])
    tx.texts.set_charge_txguids({order.request_id: answer.txguid for order, answer in taken if answer.txguid})
    receipts = {message_request_id(order.request_id, "r", 1): (order, answer) for order, answer in taken}
    recorded = tx.texts.messages(list(receipts))
    unrecorded = [(request_id, order, answer) for request_id, (order, answer) in receipts.items()
                  if request_id not in recorded]
    gifts = tx.donations.get_many([charges[order.request_id].donation_reference for _, order, _ in unrecorded])
    tx.texts.add_messages([_receipt_sent(request_id, order, answer, charges[order.request_id],
                                          gifts[charges[order.request_id].donation_reference])
                            for request_id, order, answer in unrecorded])
    _apply_reports_waiting_for(tx, [answer.txguid for _, _, answer in unrecorded if answer.txguid])
    if repeats := [order.request_id for order, answer in answered if answer.failcode and order.repeat]:
        log.warning("aggregator refused repeated charge requests; each waits for its report", request_ids=repeats)
    refusals = {order.request_id: answer.failcode for order, answer in answered
                if answer.failcode and not order.repeat}
    if refusals:
        log.warning("aggregator refused charges for good", request_ids=list(refusals))
        refuse_charges(tx, refusals, donor_links)


def refuse_charges(tx: Transaction, refusals: dict[str, str], donor_links: DonorLinks) -> None:
    """Fails each charge whose first request the aggregator refused, with its code, as a report saying so
    would; a charge a report settled first is left as the report says."""
    charges = tx.texts.charges(list(refusals))
    refused_now = [refused for request_id, code in refusals.items()
                   if (refused := charges[request_id].refused(code)) != charges[request_id]]
    tx.texts.save_charges(refused_now)
    _settle(tx, refused_now, donor_links)


RECEIPT_NOT_SENT = "not sent: the charge failed"


def _receipt_sent(request_id: str, order: ChargeOrder, answer: ChargeAnswer, charge: SmsCharge,
                  donation: Donation) -> OutboundText:
    failed = charge.status is ChargeStatus.FAILED  # its report beat the answer
    return OutboundText(
        request_id=request_id, provider=AGGREGATOR, to=donation.text_phone, sender=order.shortcode,
        body=order.receipt,
        purpose="receipt", in_reply_to=donation.metadata["message_id"], donation_reference=donation.reference,
        status=MessageStatus.FAILED if failed else MessageStatus.SENT,
        status_detail=RECEIPT_NOT_SENT if failed else None, txguid=answer.txguid)


def apply_charge_reports(tx: Transaction, reports: Sequence[ChargeReport], donor_links: DonorLinks) -> None:
    """Each report in turn, as if alone: a second report for a charge in the same batch is a duplicate or a
    contradiction of the first, and a split gift's charges may settle it together. The donors are told."""
    _settle(tx, record_charge_reports(tx, reports), donor_links)


def _settle(tx: Transaction, settled_now: Sequence[SmsCharge], donor_links: DonorLinks) -> None:
    """Moves the money of charges that just became final, settles their gifts and tells their donors."""
    if settled_now:
        move_reported_money(tx, settled_now)
        settled = settle_donations(tx, settled_now)
        tell_donors(tx, settled, donor_links)
        record_receipts_delivery(tx, settled_now)


def record_charge_reports(tx: Transaction, reports: Sequence[ChargeReport]) -> list[SmsCharge]:
    """Stores what each report says of its charge; returns the charges whose first final report this is, or
    whose refusal read from an answer a report of the charge overturns (a report that contradicts an earlier
    final report is recorded on the charge and logged, and changes no money)."""
    charges = tx.texts.charges([report.request_id for report in reports])
    if unknown := [report.request_id for report in reports if report.request_id not in charges]:
        raise ChargeNotYetKnown(f"charge report for {unknown[0]!r} arrived before its charge")
    changed: dict[str, SmsCharge] = {}
    settled_now: list[SmsCharge] = []
    for report in reports:
        charge = charges[report.request_id]
        if report.txguid and not charge.txguid:
            charges[report.request_id] = charge = replace(charge, txguid=report.txguid)
        status = ChargeStatus.CHARGED if report.status == ChargeStatus.CHARGED.value else ChargeStatus.FAILED
        updated = charge.reported(status, (report.reason or "FAILED") if status is ChargeStatus.FAILED else None)
        if updated == charge:
            continue
        charges[report.request_id] = changed[report.request_id] = updated
        if updated.contradicting_report != charge.contradicting_report:
            log.warning("charge report contradicts an earlier final report; first report stands",
                        request_id=charge.request_id, stands=charge.status.value,
                        contradiction=updated.contradicting_report)
        else:
            settled_now.append(updated)
    tx.texts.save_charges(list(changed.values()))
    tx.texts.set_charge_txguids({report.request_id: report.txguid for report in reports if report.txguid})
    return settled_now


def move_reported_money(tx: Transaction, settled_now: Sequence[SmsCharge]) -> None:
    """Posts each charged charge's pending transfer and voids each failed one's; a charge reported charged
    after its refusal voided its money is booked by a new transfer."""
    pendings = tx.ledger.get_many([postings.text_charge_pending_key(charge.request_id) for charge in settled_now])
    moves = []
    for charge in settled_now:
        pending = pendings[postings.text_charge_pending_key(charge.request_id)]
        if charge.status is ChargeStatus.CHARGED and charge.refused_on_request:
            moves.append(postings.text_charge_charged_after_void(pending, charge.request_id))
        elif charge.status is ChargeStatus.CHARGED:
            moves.append(postings.text_charge_posted(pending, charge.request_id))
        else:
            moves.append(postings.text_charge_voided(pending, charge.request_id, charge.failure_reason))
    apply_transfers(tx, moves)


@dataclass(frozen=True)
class SettledCharge:
    """A charge whose first final report came, its gift as it stood before that report, and how many charges
    the gift was split into."""

    charge: SmsCharge
    donation: Donation
    charge_count: int


def settle_donations(tx: Transaction, settled_now: Sequence[SmsCharge]) -> list[SettledCharge]:
    """Each gift once all its charges are final: paid, part paid or failed."""
    gifts = tx.donations.get_many([charge.donation_reference for charge in settled_now])
    resaved: dict[str, Donation] = {}
    settled: list[SettledCharge] = []
    for charge in settled_now:
        donation = gifts[charge.donation_reference]
        # Most gifts are one charge; only a gift split into several (a £10-a-charge network) needs its siblings,
        # read after this batch's reports were saved.
        siblings = [charge] if charge.amount_pence == donation.amount_pence else tx.texts.charges_for(
            donation.reference)
        after = donation_after_charges(donation, siblings)
        if after != donation:
            gifts[donation.reference] = resaved[donation.reference] = after
        settled.append(SettledCharge(charge, donation, len(siblings)))
    tx.donations.save_many(list(resaved.values()))
    return settled


def tell_donors(tx: Transaction, settled: Sequence[SettledCharge], donor_links: DonorLinks) -> None:
    """Each charge's receipt (recorded here, delivered, unless its answer recorded it) or failure notice."""
    messages = [message for one in settled
                for message in _outcome_message(tx, one.charge, one.donation, one.charge_count, donor_links)]
    recorded = tx.texts.messages([message.request_id for message in messages if message.purpose == "receipt"])
    _store_messages(tx, [message for message in messages if message.request_id not in recorded])
    _withdraw_failure_notices(tx, [one for one in settled
                                   if one.charge.refused_on_request and one.charge.status is ChargeStatus.CHARGED])
    _apply_reports_waiting_for(tx, [m.txguid for m in messages if m.txguid and m.request_id not in recorded])


FAILURE_NOTICE_WITHDRAWN = "not sent: a report says the charge went through"


def _withdraw_failure_notices(tx: Transaction, overturned: Sequence[SettledCharge]) -> None:
    """A charged donor is never told the gift failed: a failure notice still waiting to go is not sent."""
    notices = [message.request_id for one in overturned
               for message in tx.texts.replies_to(one.donation.metadata["message_id"])
               if is_failure_notice(message, one.charge.request_id)]
    if not notices:
        return
    withdrawn = tx.texts.set_message_statuses(notices, MessageStatus.FAILED, FAILURE_NOTICE_WITHDRAWN,
                                              only_if=MessageStatus.QUEUED)
    if withdrawn:
        log.info("failure notices withdrawn: the charges went through", request_ids=sorted(withdrawn))
    if already := sorted(set(notices) - withdrawn):
        log.warning("a donor was told a charge failed before its report said it went through", request_ids=already)


def record_receipts_delivery(tx: Transaction, settled_now: Sequence[SmsCharge]) -> None:
    """A charge's report is its receipt's delivery report: a receipt sent with a charge that went through was
    delivered, and one sent with a charge that failed was not sent at all."""
    for outcome, status, detail in ((ChargeStatus.CHARGED, MessageStatus.DELIVERED, None),
                                    (ChargeStatus.FAILED, MessageStatus.FAILED, RECEIPT_NOT_SENT)):
        if receipts := [message_request_id(c.request_id, "r", 1) for c in settled_now if c.status is outcome]:
            tx.texts.set_message_statuses(receipts, status, detail, only_if=MessageStatus.SENT)


def _outcome_message(tx: Transaction, charge: SmsCharge, donation: Donation, charge_count: int,
                     donor_links: DonorLinks) -> list[OutboundText]:
    """For a charge that went through, the receipt that went with it (recorded here too, in case the charge's
    answer was never recorded), delivered: the charge report of a charge with a message is that message's
    delivery report. For one that failed, the notice, with a link to give online, in as many parts as it
    takes."""
    appeal = appeal_of(tx, donation)

    def messages(tag: str, purpose: str, parts: tuple[str, ...], **sent: Any) -> list[OutboundText]:
        return [OutboundText(
            request_id=message_request_id(charge.request_id, tag, part), provider=AGGREGATOR, to=donation.text_phone,
            sender=donation.metadata["shortcode"], body=body, purpose=purpose,
            in_reply_to=donation.metadata["message_id"], donation_reference=donation.reference, **sent)
            for part, body in enumerate(parts, 1)]

    if charge.status is ChargeStatus.FAILED:
        return messages("f", "failure", charge_failed(
            appeal, charge.amount_pence, charge.failure_reason or "FAILED",
            donor_links.donate(appeal, charge.amount_pence, donation.phone, donation.keyword)))
    return messages("r", "receipt", (receipt(appeal, charge.amount_pence, charge.sequence, charge_count,
                                             donor_links.gift_aid(donation.reference)),),
                    status=MessageStatus.DELIVERED, txguid=charge.txguid)


def queued_messages(tx: Transaction, tasks: list[OutboxTask]) -> list[ForTask[OutboundText]]:
    """The messages these tasks send that are still waiting to go."""
    first = _first_task_for_each(tasks)
    messages = tx.texts.messages(list(first))
    if unknown := [request_id for request_id in first if request_id not in messages]:
        raise MessageNotYetKnown(unknown[0])
    return [(task, messages[request_id]) for request_id, task in first.items()
            if messages[request_id].status is MessageStatus.QUEUED]


def send_messages(gateway: AggregatorGateway, messages: list[ForTask[OutboundText]],
                  calls: Executor) -> dict[str, str]:
    """Each message's request id and the aggregator's id for it (`txguid`), which its delivery report carries.
    Sent side by side, but a phone's in turn (a reply's parts arrive in order); a message whose call failed is
    sent again later, alone, and the others are recorded as sent (sending them again would text the donor
    twice)."""
    def send(message: OutboundText) -> str:
        return gateway.send_message(MessageOrder(message.request_id, message.to.lstrip("+"), message.sender,
                                                 message.body))

    try:
        sent = call_side_by_side(calls, send, messages, in_turn=lambda message: message.to)
    except CallsFailed as partly:
        raise CallsFailed({message.request_id: txguid for message, txguid in partly.made}, partly.tasks,
                          partly.error) from partly.error
    return {message.request_id: txguid for message, txguid in sent}


def mark_sent(tx: Transaction, txguids: dict[str, str]) -> None:
    if txguids:
        tx.texts.set_message_txguids(txguids)
        tx.texts.set_message_statuses(list(txguids), MessageStatus.SENT, None, only_if=MessageStatus.QUEUED)
        _apply_reports_waiting_for(tx, list(txguids.values()))


def apply_delivery_reports(tx: Transaction, payloads: list[dict[str, Any]]) -> None:
    """A message's last report in the batch is the one that stands, as if they were applied in turn.

    A report that echoes our REQUESTID (we send one with every message) finds its message by it, whether or
    not we have recorded the id Fonix gave the message. One without finds it by that id (`txguid`): Fonix
    may report a message before we have recorded it (the report races our record of its answer). Such a
    report changes nothing here and is not retried: it waits in the inbox, and recording the id applies it
    (`_apply_reports_waiting_for`). A report for an id we never record (a message sent
    again after a crash, whose first answer was lost) is logged and left. On PostgreSQL a report worked in
    the instant between our reading the inbox and committing the id would leave its message 'sent'."""
    _apply_delivery_statuses(tx, [DeliveryReport(**payload) for payload in payloads])


def _apply_delivery_statuses(tx: Transaction, reports: list[DeliveryReport]) -> None:
    last = {report.txguid: report for report in reports}
    by_outcome: dict[tuple[MessageStatus, str | None, bool], list[str]] = {}
    for report in last.values():
        status = MessageStatus.DELIVERED if report.status == MessageStatus.DELIVERED.value else MessageStatus.FAILED
        by_outcome.setdefault((status, report.detail, bool(report.request_id)), []).append(
            report.request_id or report.txguid)
    updated: set[str] = set()
    for (status, detail, by_request_id), keys in by_outcome.items():
        updated |= (tx.texts.set_message_statuses(keys, status, detail) if by_request_id
                    else tx.texts.set_statuses_by_txguid(keys, status, detail))
    if unknown := [key for key in (r.request_id or r.txguid for r in last.values()) if key not in updated]:
        log.info("delivery reports for messages not recorded yet wait in the inbox", count=len(unknown))


def _apply_reports_waiting_for(tx: Transaction, txguids: list[str]) -> None:
    """Delivery reports that arrived before these messages' ids were recorded, applied now they are."""
    keys = [_delivery_report_id(txguid, status)
            for txguid in txguids for status in (MessageStatus.DELIVERED.value, MessageStatus.FAILED.value)]
    if waiting := tx.inbox.payloads(AGGREGATOR, keys):
        _apply_delivery_statuses(tx, [DeliveryReport(**payload) for payload in waiting])


def mark_unconfirmed(uow_factory: UnitOfWorkFactory, limit: int = 1000) -> int:
    """Charges whose report never came, long after the aggregator gave up on them, become unconfirmed: their
    money stays pending (not raised) until the monthly statement settles them. Returns how many changed."""
    with uow_factory() as uow:
        changed = uow.texts.unconfirm_charges(_now() - CHARGE_TIME_TO_LIVE - UNCONFIRMED_MARGIN, limit)
        uow.commit()
    if changed:
        log.warning("charges unconfirmed: no report came", count=changed)
    return changed


# ---- refunds (a finance officer's decision, from the CLI or the desk) --------------------------------------

class TextRefundRefused(ValueError):
    """Nothing was asked of the aggregator and nothing changed; the message says why."""


# What each answer to a refund means for the person who asked.
REFUND_OUTCOMES = {
    RefundStatus.SUCCESS: "refunded and booked",
    RefundStatus.PENDING: "pending with the network: ask again later to book it",
    RefundStatus.FAILURE: "refused by the aggregator, nothing changed",
}


@dataclass(frozen=True)
class ChargeRefund:
    sequence: int
    amount_pence: int
    status: RefundStatus
    detail: str = ""


@dataclass(frozen=True)
class TextRefund:
    reference: str
    currency: str
    charges: list[ChargeRefund]

    @property
    def refused(self) -> bool:
        return any(charge.status is RefundStatus.FAILURE for charge in self.charges)

    def outcomes(self) -> list[str]:
        """A line per charge, as the CLI and the desk both say it: the aggregator's detail when it did not
        refund."""
        return [f"charge {charge.sequence}, {format_pence(charge.amount_pence, self.currency)}: "
                f"{REFUND_OUTCOMES[charge.status]}"
                + (f" ({charge.detail})" if charge.detail and charge.status is not RefundStatus.SUCCESS else "")
                for charge in self.charges]


def refund_text_gift(uow_factory: UnitOfWorkFactory, gateway: AggregatorGateway,
                     reference: str) -> TextRefund:
    """Gives a text gift's charges back through the aggregator (`/v2/refund`). A refund done is booked at once
    (a reversing transfer per charge, and the donation records it); one the network is still working on is
    marked pending and asked about again by the next call (the same REQUESTID, so never refunded twice); one
    refused changes nothing."""
    with uow_factory() as uow:
        donation = uow.donations.get(reference)
        if donation is None or donation.channel is not Channel.CARRIER_SMS:
            raise TextRefundRefused(f"no text donation has reference {reference}")
        due = [c for c in uow.texts.charges_for(reference)
               if c.status is ChargeStatus.CHARGED and c.refund_status != "refunded"]
    if not due:
        raise TextRefundRefused(f"{reference} has no charged text payment left to refund")
    if unknown := [c.sequence for c in due if not c.txguid]:
        raise TextRefundRefused(f"charge {unknown[0]} of {reference} has no aggregator id to refund by")
    answers = [(charge, gateway.refund(RefundOrder(refund_request_id(charge.request_id),
                                                   donation.text_phone.lstrip("+"), charge.txguid or "")))
               for charge in due]
    with uow_factory() as uow:
        gift = uow.donations.get(reference)
        assert gift is not None  # read above, and donations are never deleted
        for charge, answer in answers:
            if answer.status is RefundStatus.FAILURE:
                continue
            refunded = answer.status is RefundStatus.SUCCESS
            uow.texts.set_refund_statuses({charge.request_id: "refunded" if refunded else "pending"})
            if refunded:
                apply_transfers(uow, [postings.text_charge_refunded(charge, gift)])
                gift = gift.refunded(charge.amount_pence)
        uow.donations.save(gift)
        uow.commit()
    log.info("text refund asked", reference=reference, outcomes=[a.status.value for _, a in answers])
    return TextRefund(reference, donation.currency, [ChargeRefund(c.sequence, c.amount_pence, a.status, a.detail)
                                                     for c, a in answers])


def text_giving_handlers(gateway: AggregatorGateway, donor_links: DonorLinks) -> dict[str, Handler]:
    """Every topic is handled set-wise (a TV spike queues them by the thousand), and calls to the aggregator
    are made outside any transaction, side by side over the gateway's pooled connections."""
    calls = ThreadPoolExecutor(CONCURRENT_CALLS, thread_name_prefix="aggregator-call")
    return {
        TEXT_RECEIVED: EachBatch(lambda tx, payloads: handle_texts(tx, payloads, donor_links)),
        CHARGE: CallsOut(lambda tx, tasks: charge_orders(tx, tasks, donor_links),
                         lambda orders: request_charges(gateway, orders, calls),
                         lambda tx, answered: record_charge_answers(tx, answered, donor_links)),
        CHARGE_REPORTED: EachBatch(lambda tx, payloads: apply_charge_reports(
            tx, [ChargeReport(**payload) for payload in payloads], donor_links)),
        SEND: CallsOut(queued_messages, lambda messages: send_messages(gateway, messages, calls), mark_sent),
        DELIVERY_REPORTED: EachBatch(apply_delivery_reports),
    }
