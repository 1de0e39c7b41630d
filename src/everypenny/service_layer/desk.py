"""The appeal desk's use cases: the dashboard, donation search and history, CSV exports, appeal status.

Everything here asks the reporting port for small aggregates and summarises them; no use case reads a
whole appeal's donations into memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import phonenumbers

from everypenny.domain.appeal import UK_TIME, Appeal, AppealStatus, Channel
from everypenny.domain.appeal_lifecycle import check_transition
from everypenny.domain.donation import Donation, DonationStatus, Medium
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope, gift_aid_pence
from everypenny.domain.going_live import check_ready
from everypenny.domain.ledger import RAISING_KINDS, AccountCode, TransferKind
from everypenny.domain.money import average_pence, format_pence
from everypenny.domain.privacy import mask_email, mask_phone
from everypenny.service_layer.appeals import UnknownAppeal, definition_hash, stored_appeal
from everypenny.service_layer.desk_ports import EXPORT_COLUMNS, ExportChunk, TimeBucket
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork

CHANNEL_NAMES = {Channel.CARRIER_SMS: "Carrier SMS", Channel.TEXT_TO_LINK: "Text-to-link", Channel.ONLINE: "Online"}
LATEST_DONATIONS = 20
MAX_CHART_BUCKETS = 120
BUCKET_CHOICES_SECONDS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
PAID_STATUSES = frozenset({DonationStatus.PAID.value, DonationStatus.PART_PAID.value})
FAILED_STATUSES = frozenset({DonationStatus.FAILED.value, DonationStatus.PART_PAID.value})


# --- the dashboard -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelLine:
    channel: Channel
    received: int = 0
    paid: int = 0
    pending: int = 0
    failed: int = 0
    raised_pence: int = 0


@dataclass(frozen=True)
class KeywordLine:
    keyword: str
    amount_pence: int
    received: int
    paid: int
    paid_pence: int


@dataclass(frozen=True)
class ActivitySeries:
    bucket_seconds: int
    buckets: list[TimeBucket]

    @property
    def per_minute(self) -> list[float]:
        """Donations per minute in each bucket (a rate for the chart, not money)."""
        return [bucket.count * 60 / self.bucket_seconds for bucket in self.buckets]


@dataclass(frozen=True)
class GiftAidDeclared:
    """Donations whose donors declared Gift Aid on them, and what HMRC adds to what they paid (before checking
    which are claimable: see gift_aid_claims for the claim itself)."""

    donations: int
    paid_pence: int

    @property
    def gift_aid_pence(self) -> int:
        return gift_aid_pence(self.paid_pence)


@dataclass(frozen=True)
class Dashboard:
    appeal: Appeal
    raised_pence: int  # posted in the ledger, net of refunds and disputes
    settled_pence: int | None  # None until a settlement is recorded: "not yet reported", not zero
    pending_pence: int  # promised by donations whose charges are not confirmed yet
    pending_count: int
    paid_count: int
    average_gift_pence: int | None
    channels: list[ChannelLine]
    keywords: list[KeywordLine]
    failures: list[tuple[str, int]]
    activity: ActivitySeries | None
    latest: list[Donation]
    gift_aid: GiftAidDeclared
    declared_references: frozenset[str]  # the latest donations that carry a Gift Aid declaration

    @property
    def currency(self) -> str:
        return self.appeal.currency


def _bucket_seconds(span: timedelta) -> int:
    for seconds in BUCKET_CHOICES_SECONDS:
        if span.total_seconds() / seconds < MAX_CHART_BUCKETS:
            return seconds
    return BUCKET_CHOICES_SECONDS[-1]


def _activity(tx: Transaction, slug: str) -> ActivitySeries | None:
    span = tx.reporting.activity_span(slug)
    if span is None:
        return None
    first, last = span
    seconds = _bucket_seconds(last - first)
    start = datetime.fromtimestamp(int(first.timestamp()) // seconds * seconds, first.tzinfo)
    counted = {bucket.start: bucket.count for bucket in tx.reporting.donations_per_bucket(slug, start, seconds)}
    buckets, moment = [], start
    while moment <= last:
        buckets.append(TimeBucket(moment, counted.get(moment, 0)))
        moment += timedelta(seconds=seconds)
    return ActivitySeries(seconds, buckets)


def activity(uow: UnitOfWork, slug: str) -> ActivitySeries | None:
    """Donations received over the appeal's life, in the narrowest buckets that keep the chart readable."""
    with uow:
        stored_appeal(uow, slug)
        return _activity(uow, slug)


def _raised_and_settled(tx: Transaction, slug: str) -> tuple[dict[Channel, int], int | None]:
    """Raised by channel, and settled at its gross: the cash received plus any fee withheld from it (a fee
    the fee bearer owes us is settled money too; their reimbursement later is not settled again).
    None until any settlement is recorded."""
    settling = {TransferKind.SETTLEMENT.value, TransferKind.FEE.value}
    raising = {kind.value for kind in RAISING_KINDS}
    raised: dict[Channel, int] = defaultdict(int)
    settled: int | None = None
    for (code, kind), (posted, _pending) in tx.ledger.sums(slug).items():
        channel = AccountCode.channel_of(code)
        if channel is not None and kind in raising:
            raised[channel] += posted
        elif channel is not None and kind in settling:
            settled = (settled or 0) - posted  # settling credits the channel's receivable
    return raised, settled


def dashboard(uow: UnitOfWork, slug: str) -> Dashboard:
    with uow:
        appeal = stored_appeal(uow, slug)
        raised, settled = _raised_and_settled(uow, slug)
        groups = uow.reporting.donation_groups(slug)
        activity = _activity(uow, slug)
        latest = uow.reporting.latest_donations(slug, LATEST_DONATIONS)
        declared = GiftAidDeclared(*uow.reporting.gift_aid_declared(slug))
        declared_references = frozenset(uow.reporting.declared_among([donation.reference for donation in latest]))
    channels = {channel: ChannelLine(channel, raised_pence=raised.get(channel, 0)) for channel in Channel}
    keywords: dict[tuple[str, int], KeywordLine] = {}
    failures: dict[str, int] = defaultdict(int)
    pending_pence = pending_count = paid_count = paid_net_pence = 0
    for group in groups:
        line = channels[Channel(group.channel)]
        paid = group.count if group.status in PAID_STATUSES else 0
        pending = group.count if group.status == DonationStatus.PENDING.value else 0
        failed = group.count if group.status in FAILED_STATUSES else 0
        channels[line.channel] = replace(line, received=line.received + group.count, paid=line.paid + paid,
                                         pending=line.pending + pending, failed=line.failed + failed)
        if pending:
            pending_pence += group.promised_pence
            pending_count += pending
        if paid:
            paid_count += paid
            paid_net_pence += group.paid_pence - group.refunded_pence
        if failed:
            failures[group.failure_reason or "no reason given"] += failed
        if group.keyword is not None and group.keyword_amount_pence is not None:
            key = (group.keyword, group.keyword_amount_pence)
            before = keywords.get(key, KeywordLine(group.keyword, group.keyword_amount_pence, 0, 0, 0))
            keywords[key] = replace(before, received=before.received + group.count, paid=before.paid + paid,
                                    paid_pence=before.paid_pence + (group.paid_pence - group.refunded_pence
                                                                    if paid else 0))
    return Dashboard(
        appeal=appeal, raised_pence=sum(raised.values()), settled_pence=settled, pending_pence=pending_pence,
        pending_count=pending_count, paid_count=paid_count,
        average_gift_pence=average_pence(paid_net_pence, paid_count) if paid_count else None,
        channels=list(channels.values()), keywords=sorted(keywords.values(), key=lambda k: (k.keyword, k.amount_pence)),
        failures=sorted(failures.items(), key=lambda item: (-item[1], item[0])), activity=activity, latest=latest,
        gift_aid=declared, declared_references=declared_references)


# --- search and history --------------------------------------------------------------------------------

class SearchNotUnderstood(ValueError):
    pass


_REFERENCE = re.compile(r"^(EP-?)?([0-9A-HJKMNP-TV-Z]{10})$")
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
MIN_PHONE_DIGITS = 3
SEARCHABLE = ("You can search by a reference (EP-7K3M9Q2XDA), an email address (jane@example.org) or a whole "
              "email domain (@example.org), a phone number or its last 3 or more digits (07•••••123 or 123), or a "
              "donor's name as written on their Gift Aid declaration (Jane Doe; only donors who gave Gift Aid "
              "gave a name). Dates are UK calendar days and narrow any search; dates alone list the donations "
              "made then.")


@dataclass(frozen=True)
class SearchResult:
    understood_as: str
    donations: list[Donation]


def _day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None, str]:
    """UK calendar days as moments: from the first day's midnight to the midnight after the last day."""
    if since and until and until < since:
        raise SearchNotUnderstood(f"the dates run backwards: {until:%d %b %Y} is before {since:%d %b %Y}")
    start = datetime.combine(since, time(), UK_TIME) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UK_TIME) if until else None
    words = (f"made {since:%d %b %Y} to {until:%d %b %Y}" if since and until else
             f"made on or after {since:%d %b %Y}" if since else f"made on or before {until:%d %b %Y}" if until else "")
    return start, end, words


def _what_to_find(text: str) -> tuple[str, dict[str, Any]]:
    """What the typed text names (words for the page, and the store's search terms)."""
    reference = _REFERENCE.match(text.upper())
    if reference:
        found = f"EP-{reference.group(2)}"
        return f"reference {found}", {"reference": found}
    if "@" in text:
        email = text.lower()
        if email.startswith("@"):
            if not _DOMAIN.match(email[1:]):
                raise SearchNotUnderstood(f"{text} is not an email domain: write it as @example.org")
            return f"emails at {email}", {"email_domain": email[1:]}
        return f"email {mask_email(email)}", {"email": email}
    if not re.search(r"\d", text):
        words = tuple(word.casefold() for word in re.findall(r"[^\W\d_](?:[^\W\d_]|['-])*", text))
        if not words or any(len(word) < 2 for word in words):
            raise SearchNotUnderstood(f"{text!r} is too short to search names by: give at least two letters of "
                                      f"each name")
        return f"donors named {' '.join(words).title()} (from Gift Aid declarations)", {"name_words": words}
    digits = re.sub(r"\D", "", text)
    masked = not re.fullmatch(r"[+\d\s()-]+", text)
    if not masked and len(digits) >= 10:
        try:
            number = phonenumbers.parse(text, "GB")
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_possible_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return f"phone {mask_phone(e164)}", {"phone": e164}
        raise SearchNotUnderstood(f"{text} is not a valid phone number")
    trailing = re.search(r"(\d+)\s*$", text)
    if trailing is None or len(trailing.group(1)) < MIN_PHONE_DIGITS:
        raise SearchNotUnderstood(f"{text!r} has too few digits to search phone numbers by: give the last "
                                  f"{MIN_PHONE_DIGITS} or more")
    suffix = trailing.group(1)
    return f"phones ending {suffix}", {"phone_suffix": suffix}


def search_donations(uow: UnitOfWork, query: str, since: date | None = None, until: date | None = None,
                     limit: int = 50) -> SearchResult:
    """Donations found by what the text names (see SEARCHABLE), made within the UK dates given; newest first."""
    text = query.strip()
    if not text and since is None and until is None:
        raise SearchNotUnderstood(f"Type something to search for. {SEARCHABLE}")
    start, end, dates = _day_range(since, until)
    what, terms = _what_to_find(text) if text else ("donations", {})
    with uow:
        found = uow.reporting.find_donations(**terms, made_from=start, made_before=end, limit=limit)
    return SearchResult(" ".join(part for part in (what, dates) if part), found)


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime | None
    what: str
    detail: str = ""


@dataclass(frozen=True)
class HistorySection:
    title: str
    events: list[HistoryEvent]
    empty_note: str = "nothing recorded"


# One source per part of a donation's story. Other features (texts and charges, card payments) add theirs.
HistorySource = Callable[[Transaction, Donation], HistorySection]


def _donation_section(tx: Transaction, donation: Donation) -> HistorySection:
    def money(pence: int) -> str:
        return format_pence(pence, donation.currency)

    events = [HistoryEvent(donation.created_at, f"{CHANNEL_NAMES[donation.channel]} donation of "
                                                f"{money(donation.amount_pence)}",
                           f"keyword {donation.keyword}" if donation.keyword else "")]
    events.append(HistoryEvent(None, f"now {donation.status.value}",
                               f"paid {money(donation.paid_pence)}, refunded {money(donation.refunded_pence)}"
                               + (f"; {donation.failure_reason}" if donation.failure_reason else "")))
    return HistorySection("Donation", events)


def _ledger_section(tx: Transaction, donation: Donation) -> HistorySection:
    events = [HistoryEvent(entry.created_at,
                           f"{entry.phase} {entry.kind} {format_pence(entry.amount_pence, entry.currency)}",
                           f"{entry.debit} → {entry.credit}" + (f" ({entry.description})" if entry.description else ""))
              for entry in tx.reporting.transfers_for(donation.reference)]
    return HistorySection("Ledger transfers", events, "no transfer names this donation yet")


def _masked_contact(contact: str, medium: str) -> str:
    return mask_phone(contact) if medium == Medium.SMS.value else mask_email(contact)


def _consent_section(tx: Transaction, donation: Donation) -> HistorySection:
    contacts = [contact for contact in (donation.phone, donation.email) if contact]
    events = [HistoryEvent(entry.recorded_at, "opted in" if entry.granted else "opted out",
                           f"{entry.medium} {_masked_contact(entry.contact, entry.medium)} via {entry.source}"
                           + (f" ({entry.appeal})" if entry.appeal else ""))
              for entry in (tx.reporting.consents_for(contacts) if contacts else [])]
    return HistorySection("Marketing consent", events, "the donor has never said yes or no to marketing")


GIFT_AID_SCOPES = {GiftAidScope.THIS_DONATION: "this donation only",
                   GiftAidScope.PAST_AND_FUTURE: "this donation, the last 4 years' and future ones"}


def _gift_aid_section(tx: Transaction, donation: Donation) -> HistorySection:
    declaration = tx.gift_aid.for_donation(donation.reference)
    events = [] if declaration is None else [HistoryEvent(
        declaration.declared_at, f"Gift Aid declared ({GIFT_AID_SCOPES[declaration.scope]})",
        f"by {declaration.first_name} {declaration.last_name}, postcode {declaration.postcode}, "
        f"via {declaration.source}")]
    if declaration is not None and declaration.cancelled_at is not None:
        events.append(HistoryEvent(declaration.cancelled_at, "Gift Aid declaration cancelled",
                                   f"recorded by {declaration.cancelled_by}; later gifts are not claimed"))
    return HistorySection("Gift Aid", events, "the donor made no Gift Aid declaration with this donation")


CHARGE_NOTES = {
    "requested": "asked for; the network's report has not come yet",
    "unconfirmed": "no report came: not raised until the network's monthly statement settles it",
}


def _charges_section(tx: Transaction, donation: Donation) -> HistorySection:
    events = [HistoryEvent(None, f"charge {charge.sequence}: {format_pence(charge.amount_pence, charge.currency)} "
                                 f"{charge.status.value}",
                           "; ".join(note for note in (
                               CHARGE_NOTES.get(charge.status.value, ""), charge.failure_reason or "",
                               charge.network, f"aggregator id {charge.txguid}" if charge.txguid else "",
                               f"contradicted: {charge.contradicting_report}" if charge.contradicting_report else "")
                               if note))
              for charge in tx.texts.charges_for(donation.reference)]
    return HistorySection("Phone-bill charges", events, "no phone-bill charge: not a text donation")


HISTORY_SOURCES: list[HistorySource] = [_donation_section, _ledger_section, _gift_aid_section, _consent_section,
                                        _charges_section]


@dataclass(frozen=True)
class DonationHistory:
    donation: Donation
    sections: list[HistorySection]
    gift_aid: GiftAidDeclaration | None

    @property
    def gift_aid_pence(self) -> int:
        """What HMRC would add to what this donation kept (paid less refunded), if it is declared."""
        kept = self.donation.paid_pence - self.donation.refunded_pence
        return gift_aid_pence(kept) if self.gift_aid is not None else 0

    @property
    def gift_aid_scope(self) -> str:
        return GIFT_AID_SCOPES[self.gift_aid.scope] if self.gift_aid else ""


def donation_history(uow: UnitOfWork, reference: str) -> DonationHistory | None:
    with uow:
        donation = uow.donations.get(reference)
        if donation is None:
            return None
        return DonationHistory(donation, [source(uow, donation) for source in HISTORY_SOURCES],
                               uow.gift_aid.for_donation(reference))


# --- exports -------------------------------------------------------------------------------------------

class ExportRefused(ValueError):
    pass


EXPORT_CHUNK_ROWS = 1000


def check_export(uow: UnitOfWork, kind: str, slug: str) -> int:
    """How many rows the export will hold; refuses an unknown export or appeal before anything streams."""
    if kind not in EXPORT_COLUMNS:
        raise ExportRefused(f"no export is called {kind!r}; choose one of {', '.join(EXPORT_COLUMNS)}")
    with uow:
        stored_appeal(uow, slug)
        return uow.reporting.export_size(kind, slug)


def export_csv(uow: UnitOfWork, kind: str, slug: str) -> Iterator[ExportChunk]:
    """The export as CSV text in chunks of rows, streamed from the store; the header leads the first chunk.

    A download abandoned half way closes this generator: `closing` then ends the store's stream (a COPY in
    progress) before the unit of work ends its transaction, which would otherwise wait on it.
    """
    header = io.StringIO()
    csv.writer(header, lineterminator="\r\n").writerow(EXPORT_COLUMNS[kind])
    with uow, closing(uow.reporting.export_csv(kind, slug, EXPORT_CHUNK_ROWS)) as chunks:
        first = next(chunks, ExportChunk(0, ""))
        yield ExportChunk(first.rows, header.getvalue() + first.text)
        yield from chunks


def export_filename(kind: str, slug: str, now: datetime) -> str:
    return f"{slug}-{kind}-{now:%Y%m%d-%H%M%S}.csv"


# --- appeal lifecycle ----------------------------------------------------------------------------------

class StatusUnknown(ValueError):
    pass


def change_appeal_status(uow: UnitOfWork, slug: str, wanted: str, source: str) -> AppealStatus:
    """Moves an appeal along draft → live → closed, recording who did it; returns the status it had."""
    try:
        status = AppealStatus(wanted.strip().lower())
    except ValueError:
        raise StatusUnknown(f"{wanted!r} is not an appeal status; choose draft, live or closed") from None
    with uow:
        stored = uow.appeals.get(slug)
        if stored is None:
            raise UnknownAppeal(slug)
        check_transition(slug, stored.appeal.status, status)
        check_ready(replace(stored.appeal, status=status), f"appeal {slug}")
        definition = {**stored.definition, "status": status.value}
        new_hash = definition_hash(definition)
        uow.appeals.save(replace(stored.appeal, status=status), definition, new_hash)
        uow.appeals.record_change(slug, source, stored.definition_hash, new_hash, ["status"])
        uow.commit()
    return stored.appeal.status


# --- the public totaliser ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totaliser:
    appeal: Appeal
    raised_pence: int
    donation_count: int

    @property
    def progress_percent(self) -> int | None:
        """How far to the target, capped at 100 for the bar; None when the appeal has no target."""
        if not self.appeal.target_pence:
            return None
        return min(100, self.raised_pence * 100 // self.appeal.target_pence)


def totaliser(uow: UnitOfWork, slug: str) -> Totaliser:
    with uow:
        appeal = stored_appeal(uow, slug)
        totals = uow.ledger.totals(slug)
    return Totaliser(appeal, totals.raised_pence, totals.donation_count)


def appeal(uow: UnitOfWork, slug: str) -> Appeal:
    with uow:
        return stored_appeal(uow, slug)


def appeals(uow: UnitOfWork) -> list[Appeal]:
    with uow:
        return [stored.appeal for stored in uow.appeals.list()]
