"""HMRC: a donor may cancel a Gift Aid declaration; the cancellation is recorded with its date and honoured,
so gifts made after it are not claimed. The donor's link, the desk and the CLI each cancel one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.service_layer import links
from tests.e2e.desk_helpers import csrf_in, quick_passwords

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]

SLUG = "sun-ukraine-fund"
EMAIL = "maria@example.org"


def declare_for_good(platform, record_donation):
    """Maria declared "past and future" with a gift a week ago: her later gifts are covered by it."""
    first = record_donation(1000, email=EMAIL, created_at=datetime.now(UTC) - timedelta(days=7))
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration.make(
            donation_reference=first.reference, charity_name="British Red Cross", title="Ms", first_name="Maria",
            last_name="Kovalenko", house="7", address="", postcode="YO1 7HH", scope=GiftAidScope.PAST_AND_FUTURE,
            declared_at=first.created_at, source="test", contact=EMAIL))
        uow.commit()
    return first


def test_gifts_after_a_cancelled_declaration_are_not_claimed_and_the_schedule_says_so(
        platform, record_donation, cli, tmp_path):
    first = declare_for_good(platform, record_donation)

    cancelled = cli("giftaid", "cancel", first.reference.lower())
    record_donation(2500, email=EMAIL)  # after the cancellation

    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled on {datetime.now(UTC):%d %b %Y}: gifts from then on are not claimed" in cancelled.output
    schedule = cli("giftaid", "schedule", "--appeal", SLUG, "--output", tmp_path / "s.csv")
    assert "wrote 1 row (1 donation, £10)" in schedule.output  # the gift before the cancellation still counts
    assert "1 paid donation made after the donor cancelled their Gift Aid declaration (not claimed)" in \
        schedule.output
    again = cli("giftaid", "cancel", first.reference)
    assert again.exit_code == 2 and "already cancelled on" in again.output
    nothing = cli("giftaid", "cancel", "EP-NONE")
    assert nothing.exit_code == 2 and "has no Gift Aid declaration to cancel" in nothing.output


def test_a_donor_cancels_from_their_gift_aid_link(client, platform, record_donation):
    first = declare_for_good(platform, record_donation)
    path = links.gift_aid_url("", platform.settings.secret_key, first.reference)
    assert "Cancel my Gift Aid declaration" in client.get(path).text

    page = client.post(f"{path}/cancel")

    assert page.status_code == 200 and "Your Gift Aid declaration is cancelled" in page.text
    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(first.reference)
    assert declaration.cancelled_at is not None and declaration.cancelled_by == "donor:gift-aid-link"


def test_finance_records_a_cancellation_on_the_desk_and_the_donation_shows_it(as_role, platform, record_donation):
    first = declare_for_good(platform, record_donation)
    finance = as_role("finance")
    detail = f"/admin/donations/{first.reference}"
    page = finance.get(detail)
    action = f"{detail}/gift-aid-cancel"

    asked = finance.post(action, data={"csrf_token": csrf_in(page)})
    with platform.uow() as uow:
        assert uow.gift_aid.for_donation(first.reference).cancelled_at is None  # not before confirming
    done = finance.post(action, data={"confirmed": "yes", "csrf_token": csrf_in(page)})

    assert "Cancel the Gift Aid declaration made with" in asked.text
    assert done.status_code == 200 and "cancelled on" in done.text and "Gift Aid declaration cancelled" in done.text
    assert "recorded by desk:" in finance.get(detail).text
    record_donation(500, email=EMAIL)
    claim_page = finance.get(f"/admin/appeals/{SLUG}/gift-aid")
    assert '<span class="value" id="cancelled-declarations">1</span>' in claim_page.text
