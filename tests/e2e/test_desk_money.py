"""Finance's money work on the desk: card refunds, settlements and the Gift Aid claim, each confirmed first,
each with the CLI's rules, and each refused to viewers and to forms that did not come from the desk."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.e2e.desk_helpers import csrf_in, quick_passwords
from tests.hmrc_validator import read_schedule, validate_schedule

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]
SLUG = "sun-ukraine-fund"


def balance(platform, code: str) -> int:
    with platform.uow() as uow:
        return sum(posted for (account, _kind), (posted, _pending) in uow.ledger.sums(SLUG).items()
                   if account == code)


# --- refunds --------------------------------------------------------------------------------------------------

def test_finance_refunds_part_of_a_card_donation_after_confirming(as_role, donations, fake_gateway):
    donation = donations.paid_by_card(donations.online(2500))
    finance = as_role("finance")
    page = finance.get(f"/admin/donations/{donation.reference}")
    refund = f"/admin/donations/{donation.reference}/refund"

    asked = finance.post(refund, data={"amount": "10.50", "csrf_token": csrf_in(page)})
    assert fake_gateway.refunds == []  # nothing is asked of Stripe before the confirmation
    done = finance.post(refund, data={"amount": "10.50", "confirmed": "yes", "csrf_token": csrf_in(page)})

    assert asked.status_code == 200 and f"Refund £10.50 of {donation.reference}?" in asked.text
    assert "Kept after the refund</dt><dd>£14.50" in asked.text and 'name="amount" value="10.50"' in asked.text
    assert done.status_code == 200
    assert f"refund re_fake_1 of £10.50 requested for {donation.reference}; the ledger records it when Stripe " \
           "confirms" in done.text
    assert [(intent, pence) for intent, pence, _key in fake_gateway.refunds] == [
        (f"pi_test_{donation.reference}", 1050)]


def test_a_refund_larger_than_the_donation_is_refused_with_the_clis_message(as_role, donations, fake_gateway):
    donation = donations.paid_by_card(donations.online(2500))
    finance = as_role("finance")
    csrf = csrf_in(finance.get(f"/admin/donations/{donation.reference}"))

    too_much = finance.post(f"/admin/donations/{donation.reference}/refund",
                            data={"amount": "30", "confirmed": "yes", "csrf_token": csrf})
    nonsense = finance.post(f"/admin/donations/{donation.reference}/refund",
                            data={"amount": "ten pounds", "csrf_token": csrf})

    assert too_much.status_code == 400
    assert f"can refund between 1 and 2500 pence of donation {donation.reference}, not 3000" in too_much.text
    assert nonsense.status_code == 400 and "is not an amount in pounds and pence, e.g. 12.50" in nonsense.text
    assert fake_gateway.refunds == []


def test_a_text_has_no_card_to_refund_and_shows_no_refund_form(as_role, donations, fake_gateway):
    text = donations.text(500)
    finance = as_role("finance")
    page = finance.get(f"/admin/donations/{text.reference}")

    refused = finance.post(f"/admin/donations/{text.reference}/refund",
                           data={"confirmed": "yes", "csrf_token": csrf_in(page)})

    assert "Refund to the card" not in page.text
    assert refused.status_code == 400 and f"donation {text.reference} has no card payment left to refund" \
        in refused.text


def test_viewers_cannot_refund_and_a_refund_without_the_desks_token_is_refused(as_role, donations, fake_gateway):
    donation = donations.paid_by_card(donations.online(2500))
    viewer = as_role("viewer")
    page = viewer.get(f"/admin/donations/{donation.reference}")

    by_viewer = viewer.post(f"/admin/donations/{donation.reference}/refund",
                            data={"confirmed": "yes", "csrf_token": csrf_in(page)})
    forged = as_role("finance").post(f"/admin/donations/{donation.reference}/refund", data={"confirmed": "yes"})

    assert "Refund to the card" not in page.text
    assert by_viewer.status_code == 403 and "it needs the manage money permission" in by_viewer.text
    assert forged.status_code == 403 and "CSRF check failed" in forged.text
    assert fake_gateway.refunds == []


# --- settlements ----------------------------------------------------------------------------------------------

def test_finance_records_a_settlement_after_confirming_it(as_role, donations, platform):
    donations.online(2500)
    donations.online(1000)
    finance = as_role("finance")
    form = finance.get(f"/admin/appeals/{SLUG}/settlements/new")
    fields = {"channel": "online", "gross": "35.00", "fee": "0.85", "reference": "po_123",
              "csrf_token": csrf_in(form)}

    asked = finance.post(f"/admin/appeals/{SLUG}/settlements", data=fields)
    assert balance(platform, "bank") == 0
    done = finance.post(f"/admin/appeals/{SLUG}/settlements", data={**fields, "confirmed": "yes"})
    again = finance.post(f"/admin/appeals/{SLUG}/settlements", data={**fields, "confirmed": "yes"})

    assert asked.status_code == 200 and "Record settlement po_123 of £35?" in asked.text
    assert "Cash received</dt><dd>£34.15" in asked.text
    assert "settlement po_123 recorded: £35 gross, fee £0.85 recoverable from the fee bearer" in done.text
    assert "settlement po_123 already recorded" in again.text
    assert balance(platform, "bank") == 3415 and balance(platform, "recoverable:fees") == 85


def test_a_settlement_the_ledger_cannot_take_is_refused_and_nothing_changes(as_role, donations, platform):
    donations.online(1000)
    finance = as_role("finance")
    csrf = csrf_in(finance.get(f"/admin/appeals/{SLUG}/settlements/new"))
    settle = f"/admin/appeals/{SLUG}/settlements"

    too_much = finance.post(settle, data={"channel": "online", "gross": "50", "reference": "po_9",
                                          "confirmed": "yes", "csrf_token": csrf})
    no_channel = finance.post(settle, data={"gross": "5", "reference": "po_9", "csrf_token": csrf})
    bad_fee = finance.post(settle, data={"channel": "online", "gross": "5", "fee": "5", "reference": "po_9",
                                         "confirmed": "yes", "csrf_token": csrf})

    assert too_much.status_code == 400
    assert "settlement po_9 of £50 is more than the £10 charged on online and not yet settled" in too_much.text
    assert no_channel.status_code == 400 and "choose which channel" in no_channel.text
    assert bad_fee.status_code == 400 and "a settlement needs a positive gross and a fee below it" in bad_fee.text
    assert 'value="po_9"' in too_much.text  # the form keeps what was typed
    assert balance(platform, "bank") == 0


def test_viewers_may_not_record_settlements(as_role, donations):
    viewer = as_role("viewer")
    assert viewer.get(f"/admin/appeals/{SLUG}/settlements/new").status_code == 403
    assert "Record a settlement" not in viewer.get(f"/admin/appeals/{SLUG}").text


# --- Gift Aid -------------------------------------------------------------------------------------------------

def test_finance_downloads_the_schedule_then_records_the_claim_once(as_role, donations, platform):
    declared = donations.online(2500)
    donations.declare_gift_aid(declared)
    donations.online(1000)
    finance = as_role("finance")

    page = finance.get(f"/admin/appeals/{SLUG}/gift-aid")
    schedule = finance.get(f"/admin/appeals/{SLUG}/gift-aid/schedule.csv")
    asked = finance.post(f"/admin/appeals/{SLUG}/gift-aid/claim",
                         data={"gift_aid_pence": "625", "csrf_token": csrf_in(page)})
    recorded = finance.post(f"/admin/appeals/{SLUG}/gift-aid/claim",
                            data={"gift_aid_pence": "625", "confirmed": "yes", "csrf_token": csrf_in(page)})

    assert '<span class="value" id="claimable">£6.25</span>' in page.text
    assert '<span class="value" id="without-declaration">1</span>' in page.text
    assert schedule.headers["content-disposition"].startswith(f'attachment; filename="{SLUG}-gift-aid-schedule-')
    rows = list(csv.reader(io.StringIO(schedule.text)))
    assert len(rows) == 2 and rows[1][2:4] == ["Olena", "Kovalenko"] and rows[1][-1] == "25.00"
    assert asked.status_code == 200 and "Record a Gift Aid claim of £6.25?" in asked.text
    assert "claim #1 recorded: £6.25 of Gift Aid on £25 from 1 donation" in recorded.text
    assert 'href="/admin/appeals/sun-ukraine-fund/gift-aid/schedule-1.ods"' in page.text
    assert '<span class="value" id="claimed">£6.25</span>' in recorded.text
    assert "there is nothing to claim now" in recorded.text


def test_the_spreadsheet_finance_downloads_is_one_hmrcs_validator_accepts(as_role, donations, tmp_path):
    declared = donations.online(2500)
    donations.declare_gift_aid(declared)
    finance = as_role("finance")

    spreadsheet = finance.get(f"/admin/appeals/{SLUG}/gift-aid/schedule-1.ods")
    (tmp_path / "schedule.ods").write_bytes(spreadsheet.content)

    assert spreadsheet.headers["content-type"] == "application/vnd.oasis.opendocument.spreadsheet"
    assert spreadsheet.headers["content-disposition"].endswith('-1-of-1.ods"')
    assert validate_schedule(tmp_path / "schedule.ods", date.today()) == []
    assert [(row.first_name, row.last_name, row.amount) for row in read_schedule(tmp_path / "schedule.ods").rows] == [
        ("Olena", "Kovalenko", "25.00")]
    assert finance.get(f"/admin/appeals/{SLUG}/gift-aid/schedule-2.ods").status_code == 404


def test_a_claim_is_refused_when_the_schedule_changed_since_it_was_downloaded(as_role, donations, platform):
    first = donations.online(2000)
    donations.declare_gift_aid(first)
    finance = as_role("finance")
    page = finance.get(f"/admin/appeals/{SLUG}/gift-aid")
    later = donations.online(4000)
    donations.declare_gift_aid(later)

    stale = finance.post(f"/admin/appeals/{SLUG}/gift-aid/claim",
                         data={"gift_aid_pence": "500", "confirmed": "yes", "csrf_token": csrf_in(page)})

    assert stale.status_code == 409 and "The schedule has changed since you downloaded it" in stale.text
    with platform.uow() as uow:
        assert uow.gift_aid_claims.claimed(SLUG) == (0, 0, 0)


def test_viewers_see_no_gift_aid_claim(as_role, donations):
    viewer = as_role("viewer")
    assert viewer.get(f"/admin/appeals/{SLUG}/gift-aid").status_code == 403
    assert viewer.get(f"/admin/appeals/{SLUG}/gift-aid/schedule.csv").status_code == 403
