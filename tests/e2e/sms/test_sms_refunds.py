"""`everypenny sms refund`: a text gift given back through the aggregator, booked only once it is done."""

from __future__ import annotations

import html

from card_harness import balances
from tests.e2e.desk_helpers import csrf_in

from everypenny.domain.donation import DonationStatus

EE = "+447700900021"
REFUNDS_PENDING = "+447700900561"  # Virgin Mobile: the network never finishes a refund
BARRED = "+447700900251"


def _gift(texts, phone: str, body: str = "SUN5"):
    texts.text(phone, body)
    return next(d for d in texts.donations() if d.phone == phone)


def test_a_refund_is_asked_of_the_aggregator_and_booked_once_done(texts, platform, cli):
    gift = _gift(texts, EE)

    result = cli("sms", "refund", gift.reference.lower())

    assert result.exit_code == 0, result.output
    assert f"{gift.reference} charge 1, £5: refunded and booked" in result.output
    [record] = texts.simulator.charge_records()
    assert record["refunded_pence"] == 500
    [donation] = texts.donations()
    assert (donation.status, donation.refunded_pence) == (DonationStatus.REFUNDED, 500)
    assert texts.totals()["raised_pence"] == 0
    assert balances(platform)["fund:restricted"] == 0
    again = cli("sms", "refund", gift.reference)
    assert again.exit_code == 2 and "no charged text payment left to refund" in again.output


def test_a_pending_refund_waits_and_books_nothing(texts, cli):
    gift = _gift(texts, REFUNDS_PENDING)

    result = cli("sms", "refund", gift.reference)

    assert result.exit_code == 0
    assert "pending with the network: ask again later to book it" in result.output
    [donation] = texts.donations()
    assert (donation.status, donation.refunded_pence) == (DonationStatus.PAID, 0)
    assert texts.totals()["raised_pence"] == 500
    [charge] = texts.charges(gift.reference)
    assert charge.refund_status == "pending"


def test_a_refused_refund_is_reported_and_changes_nothing(texts, cli):
    gift = _gift(texts, EE)
    [charge] = texts.charges(gift.reference)
    texts.simulator.charges[charge.request_id]["status"] = "failed"  # the aggregator no longer sees a charge

    result = cli("sms", "refund", gift.reference)

    assert result.exit_code == 1
    assert "refused by the aggregator, nothing changed (NOT_REFUNDABLE No charge to refund)" in result.output
    assert texts.donations()[0].status is DonationStatus.PAID and texts.totals()["raised_pence"] == 500


def test_only_a_charged_text_gift_can_be_refunded(texts, cli):
    failed = _gift(texts, BARRED)

    assert "no charged text payment left to refund" in cli("sms", "refund", failed.reference).output
    unknown = cli("sms", "refund", "EP-0000000000")
    assert unknown.exit_code == 2 and "no text donation has reference EP-0000000000" in unknown.output


def test_finance_refunds_a_text_gift_to_the_phone_bill_from_the_desk_after_confirming(texts, as_role):
    gift = _gift(texts, EE)
    finance = as_role("finance")
    page = finance.get(f"/admin/donations/{gift.reference}")

    asked = finance.post(f"/admin/donations/{gift.reference}/phone-refund", data={"csrf_token": csrf_in(page)})
    nothing_yet = texts.donations()
    done = finance.post(f"/admin/donations/{gift.reference}/phone-refund",
                        data={"confirmed": "yes", "csrf_token": csrf_in(page)})

    assert "Refund to the phone bill" in page.text and "Refund to the card" not in page.text
    assert asked.status_code == 200
    assert f"Refund £5 of {gift.reference} to the donor's phone bill?" in html.unescape(asked.text)
    assert nothing_yet[0].refunded_pence == 0
    assert done.status_code == 200 and "charge 1, £5: refunded and booked" in done.text
    assert texts.donations()[0].status is DonationStatus.REFUNDED and texts.totals()["raised_pence"] == 0
    again = finance.post(f"/admin/donations/{gift.reference}/phone-refund",
                         data={"confirmed": "yes", "csrf_token": csrf_in(page)})
    assert again.status_code == 400 and "no charged text payment left to refund" in again.text


def test_a_refund_the_aggregator_refuses_is_shown_on_the_desk_and_changes_nothing(texts, as_role):
    gift = _gift(texts, EE)
    [charge] = texts.charges(gift.reference)
    texts.simulator.charges[charge.request_id]["status"] = "failed"  # the aggregator no longer sees a charge
    finance = as_role("finance")
    page = finance.get(f"/admin/donations/{gift.reference}")

    refused = finance.post(f"/admin/donations/{gift.reference}/phone-refund",
                           data={"confirmed": "yes", "csrf_token": csrf_in(page)})

    assert refused.status_code == 502
    assert "charge 1, £5: refused by the aggregator, nothing changed (NOT_REFUNDABLE No charge to refund)" \
        in refused.text
    assert texts.donations()[0].status is DonationStatus.PAID and texts.totals()["raised_pence"] == 500
