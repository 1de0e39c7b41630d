"""Email receipts for online donations, sent by the outbox once the payment is confirmed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from everypenny.domain.appeal import UK_TIME
from everypenny.domain.gift_aid import gift_aid_pence
from everypenny.domain.money import format_pence
from everypenny.domain.promotion import charity_statement
from everypenny.service_layer import links
from everypenny.service_layer.appeals import appeal_of
from everypenny.service_layer.online_ports import EmailMessage, Mailer, Undeliverable
from everypenny.service_layer.unit_of_work import Transaction

log = structlog.get_logger(__name__)


def receipt_text(tx: Transaction, reference: str, public_url: str, secret_key: str) -> tuple[str, str]:
    """(subject, body) of the receipt: amount, appeal, beneficiary, date, reference and Gift Aid status."""
    donation = tx.donations.get(reference)
    assert donation is not None  # a receipt is queued for a stored donation
    appeal = appeal_of(tx, donation)
    amount = format_pence(donation.amount_pence, donation.currency)
    declaration = tx.gift_aid.for_donation(reference)
    if declaration is not None:
        extra = format_pence(gift_aid_pence(donation.amount_pence), donation.currency)
        gift_aid = (f"Gift Aid: yes, declared on {declaration.declared_at.astimezone(UK_TIME):%d %B %Y}. "
                    f"{appeal.beneficiary.name} can claim an extra {extra} from HMRC at no cost to you.")
    else:
        gift_aid = ("Gift Aid: not declared. If you are a UK taxpayer, you can add 25% to your donation at no "
                    f"cost to you: {links.gift_aid_url(public_url, secret_key, reference)}")
    subject = f"Thank you for your {amount} donation to {appeal.name}"
    body = "\n".join([
        f"Thank you for donating to {appeal.name}.",
        "",
        f"Amount: {amount}",
        f"Appeal: {appeal.name}",
        charity_statement(appeal),
        f"Date: {donation.created_at.astimezone(UK_TIME):%d %B %Y}",
        f"Reference: {donation.reference}",
        gift_aid,
        "",
        f"Every penny goes to {appeal.restricted_fund.name}: {appeal.restricted_fund.purpose}",
        "",
        f"Questions? Call {appeal.helpline} and quote your reference. Terms: {appeal.terms_url}",
    ])
    return subject, body


def send_receipt(tx: Transaction, payload: dict[str, Any], mailer: Mailer, public_url: str,
                 secret_key: str) -> None:
    """Sends at most one receipt per donation; a donor who gave no email gets none."""
    reference = payload["reference"]
    donation = tx.donations.get(reference)
    if donation is None or donation.email is None or tx.emails.find("receipt", reference) is not None:
        return
    subject, body = receipt_text(tx, reference, public_url, secret_key)
    try:
        mailer.send(donation.email, subject, body)
    except Undeliverable as error:
        log.warning("receipt cannot be delivered; not retrying", reference=reference, reason=str(error))
        return
    tx.emails.record(EmailMessage(purpose="receipt", reference=reference, recipient=donation.email,
                                   subject=subject, body=body, sent_at=datetime.now(UTC)))
