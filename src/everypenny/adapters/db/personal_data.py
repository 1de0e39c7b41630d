"""Every place a donor's personal data is stored, and what erasure does to it: the one list erasure works from.

A table that holds personal data is listed here column by column (its other columns in OTHER_COLUMNS); a table
that holds none is named in NO_PERSONAL_DATA with the reason. A test checks that every table and every column
of the schema is placed, so a new store cannot be forgotten silently: adding a table, or a column to a table
with personal data, means deciding here how erasure treats it.
docs/privacy-and-erasure.md describes the same list in prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import Column

from everypenny.adapters.db.schema import (
    consents,
    donations,
    email_messages,
    gift_aid_declarations,
    inbox_messages,
    outbox_tasks,
    sms_outbound,
)
from everypenny.domain.retention import GIFT_AID, PHONE_PAID


class Treatment(Enum):
    # The column holds one contact (a phone or an email): replaced by the contact's pseudonym.
    CONTACT = "contact"
    # Free text or a JSON payload that may mention the contact anywhere (provider callbacks, queued work):
    # every row mentioning any spelling of it, in any case or JSON-escaped, is scrubbed.
    MENTIONS = "mentions"
    # Text that belongs to the contact in `owner` (a message to them, their donation's metadata): scrubbed
    # of the contact, of personal fields and of link tokens that carry their phone.
    OWNED_TEXT = "owned text"
    # A short field about the person in `owner` (a name, a postcode): emptied.
    OWNED_FIELD = "owned field"


@dataclass(frozen=True)
class PersonalData:
    column: Column
    treatment: Treatment
    holds: str  # what of a person it holds, in words
    owners: tuple[Column, ...] = ()  # for OWNED_*: the contact columns saying whose row it is
    kept_by: tuple[str, ...] = ()  # the retention periods (domain/retention.py) that keep it past a request


DONATION_RECORDS = (PHONE_PAID.rule, GIFT_AID.rule)

PERSONAL_DATA: tuple[PersonalData, ...] = (
    PersonalData(donations.c.metadata, Treatment.OWNED_TEXT, "a channel's details about the donor",
                 (donations.c.phone, donations.c.email), DONATION_RECORDS),
    PersonalData(sms_outbound.c.body, Treatment.OWNED_TEXT, "texts we sent, with links carrying the phone",
                 (sms_outbound.c.to_number,), (PHONE_PAID.rule,)),
    PersonalData(email_messages.c.body, Treatment.OWNED_TEXT, "receipts we emailed", (email_messages.c.recipient,)),
    *(PersonalData(column, Treatment.OWNED_FIELD, "a Gift Aid declarant's name and address "
                                                  "(kept six years by the Gift Aid retention rule)",
                   (gift_aid_declarations.c.contact,), (GIFT_AID.rule,))
      for column in (gift_aid_declarations.c.title, gift_aid_declarations.c.first_name,
                     gift_aid_declarations.c.last_name, gift_aid_declarations.c.first_name_latin,
                     gift_aid_declarations.c.last_name_latin, gift_aid_declarations.c.house,
                     gift_aid_declarations.c.address, gift_aid_declarations.c.postcode)),
    PersonalData(donations.c.phone, Treatment.CONTACT, "the donor's phone", kept_by=DONATION_RECORDS),
    PersonalData(donations.c.email, Treatment.CONTACT, "the donor's email", kept_by=DONATION_RECORDS),
    PersonalData(consents.c.contact, Treatment.CONTACT, "who agreed to hear from the charity"),
    PersonalData(gift_aid_declarations.c.contact, Treatment.CONTACT, "a Gift Aid declarant's contact",
                 kept_by=(GIFT_AID.rule,)),
    PersonalData(email_messages.c.recipient, Treatment.CONTACT, "where a receipt went"),
    PersonalData(sms_outbound.c.to_number, Treatment.CONTACT, "where a text went", kept_by=(PHONE_PAID.rule,)),
    PersonalData(inbox_messages.c.payload, Treatment.MENTIONS, "providers' callbacks: phones, Stripe's "
                                                              "customer_details (name, email, address)"),
    PersonalData(outbox_tasks.c.payload, Treatment.MENTIONS, "queued work, e.g. Stripe events to apply"),
    PersonalData(outbox_tasks.c.last_error, Treatment.MENTIONS, "why a task failed, e.g. a refused recipient"),
)

# The other columns of the tables above: none holds a donor's personal data. Listing them means a column added
# to one of these tables must be placed here or in PERSONAL_DATA (the test says which).
OTHER_COLUMNS: dict[str, frozenset[str]] = {
    "donations": frozenset({"id", "reference", "appeal_id", "channel", "status", "amount_pence", "paid_pence",
                            "refunded_pence", "currency", "keyword", "partner", "marketing_consent",
                            "failure_reason", "created_at", "updated_at"}),
    "consents": frozenset({"id", "medium", "appeal_id", "granted", "source", "recorded_at", "wording_version"}),
    "gift_aid_declarations": frozenset({"id", "donation_id", "charity_name", "scope", "wording", "source",
                                        "declared_at", "cancelled_at", "cancelled_by"}),
    "email_messages": frozenset({"id", "purpose", "reference", "subject", "sent_at"}),
    "sms_outbound": frozenset({"id", "request_id", "txguid", "provider", "sender", "purpose", "in_reply_to",
                               "donation_id", "status", "status_detail", "created_at", "updated_at"}),
    "inbox_messages": frozenset({"id", "provider", "message_id", "kind", "received_at"}),
    # dismissed_by names a desk user (staff), not a donor
    "outbox_tasks": frozenset({"id", "topic", "dedupe_key", "created_at", "available_at", "attempts",
                               "locked_until", "done_at", "parked_at", "dismissed_by"}),
}

NO_PERSONAL_DATA: dict[str, str] = {
    "appeals": "appeal definitions",
    "consent_wordings": "the words shown about marketing, once per version",
    "broadcast_markers": "when an appeal went on air, and what was shown",
    "appeal_changes": "who changed an appeal: desk users and files, not donors",
    "ledger_accounts": "account codes",
    "ledger_transfers": "money movements name donations by receipt reference, never by person",
    "ledger_chain": "hashes of transfers",
    "ledger_account_sums": "running sums",
    "donation_paid_counts": "running counts",
    "donation_group_sums": "rollups by channel, status, keyword and media partner",
    "donation_minute_counts": "rollups by minute",
    "online_checkouts": "Stripe session ids and URLs (the session, not the donor)",
    "sms_charges": "charges by request id, amount and network",
    "payouts": "money paid out to the charity",
    "donor_erasures": "pseudonyms and counts only",
    "erasure_schedule": "a contact whose records a retention period keeps, until the day they are erased; "
                        "the row goes with them",
    "contact_marks": "suppressions and blocks by a keyed hash (HMAC) of the contact, kept through erasure by design",
    "rate_limit_windows": "attempt counts; addresses and emails only as keyed hashes (HMAC), pruned after a window",
    "settlement_statements": "aggregator and Stripe statements: totals",
    "settlement_lines": "statement lines: provider ids and amounts",
    "gift_aid_claims": "claim totals",
    "gift_aid_claimed_donations": "which donations a claim covered",
    "desk_users": "the charity's own staff, removed with `everypenny desk users remove`",
    "desk_sessions": "staff sessions, hashed tokens",
}


def in_erasure_order() -> list[PersonalData]:
    """Owned data first (found through the contact before it is replaced), then contacts, then mentions."""
    order = [Treatment.OWNED_TEXT, Treatment.OWNED_FIELD, Treatment.CONTACT, Treatment.MENTIONS]
    return sorted(PERSONAL_DATA, key=lambda entry: order.index(entry.treatment))
