"""The desk's pages as its users see them, through HTTP."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from everypenny.domain.appeal import Channel
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer import desk
from tests.e2e.desk_helpers import log_in, make_user, quick_passwords, session_csrf

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]


def test_the_dashboard_shows_the_figures_and_masks_every_donor(as_role, donations):
    donations.text(500, phone="+447700900123")
    donations.text(1000, outcome="failed", failure_reason="insufficient credit")
    donations.text(300, outcome="pending")
    donations.online(2500, email="jane.doe@example.org")

    page = as_role("viewer").get("/admin/appeals/sun-ukraine-fund")

    assert page.status_code == 200
    assert '<span class="value" id="raised">£30</span>' in page.text
    assert '<span class="value" id="pending">£3</span>' in page.text
    assert "not yet reported" in page.text
    assert "insufficient credit" in page.text
    assert "07•••••123" in page.text and "j•••@e•••.org" in page.text
    assert "+447700900123" not in page.text and "07700900123" not in page.text
    assert "jane.doe" not in page.text


def test_viewers_see_neither_exports_nor_status_buttons(as_role, donations):
    page = as_role("viewer").get("/admin/appeals/sun-ukraine-fund").text
    assert "exports/donations.csv" not in page and "Close the appeal" not in page


def test_finance_sees_exports_but_no_status_buttons(as_role, donations):
    page = as_role("finance").get("/admin/appeals/sun-ukraine-fund").text
    assert "exports/donations.csv" in page and "Close the appeal" not in page


def test_the_dashboard_polls_its_figures_alone_and_the_figures_hold_nothing_to_focus(as_role, donations):
    viewer = as_role("viewer")
    dashboard = viewer.get("/admin/appeals/sun-ukraine-fund").text
    before = viewer.get("/admin/appeals/sun-ukraine-fund/live", headers={"HX-Request": "true"})
    donations.text(1000)
    after = viewer.get("/admin/appeals/sun-ukraine-fund/live", headers={"HX-Request": "true"})

    assert '<div id="live" hx-get="/admin/appeals/sun-ukraine-fund/live" hx-trigger="every 3s" hx-swap="innerHTML">' \
        in dashboard
    live_region = dashboard.split('<div id="live"')[1].split('<section id="latest-donations"')[0]
    assert "Latest donations" not in live_region and "<a " not in live_region
    assert '<span class="value" id="raised">£0</span>' in before.text
    assert '<span class="value" id="raised">£10</span>' in after.text
    assert "<html" not in after.text and "<a " not in after.text and "<button" not in after.text


def test_times_on_the_desk_are_uk_time_with_the_zone_named(as_role, donations):
    donations.text(500, at=datetime(2026, 7, 1, 9, 0, 7, tzinfo=UTC))
    winter = donations.text(500, at=datetime(2026, 11, 26, 9, 0, 7, tzinfo=UTC))
    viewer = as_role("viewer")

    dashboard = viewer.get("/admin/appeals/sun-ukraine-fund").text
    history = viewer.get(f"/admin/donations/{winter.reference}").text

    assert "<th>When (UK time)</th>" in dashboard
    assert "01 Jul 2026 10:00:07 BST" in dashboard and "26 Nov 2026 09:00:07 GMT" in dashboard
    assert "26 Nov 2026 09:00:07 GMT" in history and "UTC" not in history


def test_phone_and_email_have_their_own_columns(as_role, donations):
    donations.text(500, phone="+447700900123")
    donations.online(2500, email="jane.doe@example.org")

    page = as_role("viewer").get("/admin/appeals/sun-ukraine-fund").text

    assert "<th>Phone</th><th>Email</th>" in page
    assert "<td>07•••••123</td><td></td>" in page and "<td></td><td>j•••@e•••.org</td>" in page


def test_declared_gift_aid_shows_on_the_dashboard_and_the_donation(as_role, donations):
    declared = donations.online(2000, email="olena@example.org")
    donations.declare_gift_aid(declared)
    donations.online(1000, email="sam@example.org")
    viewer = as_role("viewer")

    dashboard = viewer.get("/admin/appeals/sun-ukraine-fund").text
    history = viewer.get(f"/admin/donations/{declared.reference}").text

    assert '<span class="value" id="gift-aid-declared">£5</span>' in dashboard
    assert "25% of £20 given by 1 donation with a declaration" in dashboard
    assert dashboard.count("<td>declared</td>") == 1
    assert 'id="gift-aid">declared (this donation only): worth £5 from HMRC' in history
    assert 'data-section="Gift Aid"' in history and "by Olena Kovalenko, postcode YO1 7HH" in history

def test_the_activity_chart_is_an_svg_drawn_on_the_server(as_role, donations):
    donations.text(500)
    chart = as_role("viewer").get("/admin/appeals/sun-ukraine-fund/activity.svg")

    assert chart.headers["content-type"] == "image/svg+xml"
    assert chart.text.startswith("<?xml") or chart.text.startswith("<svg")
    assert "Donations per minute" in chart.text


def test_a_new_appeal_without_donations_gets_an_empty_chart_not_an_error(as_role):
    chart = as_role("viewer").get("/admin/appeals/sun-ukraine-fund/activity.svg")

    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "No donations yet" in chart.text


def test_reconciliation_counts_text_to_link_card_gifts_as_charged(as_role, donations):
    donations.text(1000, channel=Channel.TEXT_TO_LINK)
    donations.online(2500)

    page = as_role("finance").get("/admin/appeals/sun-ukraine-fund/reconciliation").text

    assert '<span class="value" id="charged">£35</span>' in page
    assert '<span class="value" id="awaiting">£35</span>' in page


def test_an_unknown_appeal_is_a_404_page(as_role):
    page = as_role("viewer").get("/admin/appeals/no-such-appeal")
    assert page.status_code == 404 and "no-such-appeal" in page.text


def test_search_finds_by_masked_phone_and_links_to_the_history(as_role, donations):
    donation = donations.text(500, phone="+447700900123", consent=True)
    viewer = as_role("viewer")

    results = viewer.get("/admin/donations", params={"q": "07•••••123"})
    history = viewer.get(f"/admin/donations/{donation.reference}")

    assert f'href="/admin/donations/{donation.reference}"' in results.text
    assert "phones ending 123" in results.text
    for section in ("Donation", "Ledger transfers", "Marketing consent"):
        assert f'data-section="{section}"' in history.text
    assert "pending donation £5" in history.text and "opted in" in history.text
    assert "+447700900123" not in history.text


def test_a_search_that_cannot_be_understood_is_a_400_that_says_what_can_be_searched(as_role, donations):
    page = as_role("viewer").get("/admin/donations", params={"q": "12"})

    assert page.status_code == 400
    assert "<title>Error: Find a donation" in page.text
    assert "&#39;12&#39; has too few digits to search phone numbers by: give the last 3 or more" in page.text
    assert "You can search by a reference" in page.text and "email domain (@example.org)" in page.text
    assert 'aria-describedby="search-help search-error"' in page.text


def test_search_by_email_domain_name_and_dates(as_role, donations):
    summer = donations.online(2500, email="ann@charity.org.uk", at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    autumn = donations.online(1000, email="bob@CHARITY.org.uk", at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    donations.online(500, email="eve@example.org", at=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    donations.declare_gift_aid(autumn, first_name="Robert", last_name="Smith")
    viewer = as_role("viewer")

    def found(**params) -> str:
        return viewer.get("/admin/donations", params=params).text

    by_domain = found(q="@charity.org.uk")
    by_name = found(q="rob smith")
    in_november = found(q="@charity.org.uk", **{"from": "2026-11-01", "to": "2026-11-30"})
    on_a_day = found(**{"from": "2026-11-26", "to": "2026-11-26"})

    assert summer.reference in by_domain and autumn.reference in by_domain and "eve@" not in by_domain
    assert "emails at @charity.org.uk" in by_domain
    assert autumn.reference in by_name and summer.reference not in by_name
    assert "donors named Rob Smith (from Gift Aid declarations)" in by_name
    assert autumn.reference in in_november and summer.reference not in in_november
    assert "made 01 Nov 2026 to 30 Nov 2026" in in_november
    assert "2 found" in on_a_day


def test_search_dates_that_run_backwards_or_are_not_dates_are_a_400(as_role, donations):
    viewer = as_role("viewer")

    backwards = viewer.get("/admin/donations", params={"from": "2026-11-30", "to": "2026-11-01"})
    nonsense = viewer.get("/admin/donations", params={"q": "123", "from": "26/11/2026"})

    assert backwards.status_code == 400 and "the dates run backwards" in backwards.text
    assert nonsense.status_code == 400 and "From date &#39;26/11/2026&#39; is not a date" in nonsense.text


def test_finance_downloads_a_csv_export(as_role, donations):
    donation = donations.text(500)
    response = as_role("finance").get("/admin/appeals/sun-ukraine-fund/exports/donations.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="sun-ukraine-fund-donations-')
    assert [row["reference"] for row in csv.DictReader(io.StringIO(response.text))] == [donation.reference]


def test_an_unknown_export_is_a_404(as_role, donations):
    response = as_role("finance").get("/admin/appeals/sun-ukraine-fund/exports/gift_aid.csv")
    assert response.status_code == 404 and "no export is called" in response.text


def test_closing_an_appeal_sits_apart_from_going_live_and_asks_for_its_name(as_role):
    page = as_role("admin").get("/admin/appeals/sun-ukraine-fund").text

    assert page.index('<section class="danger" id="close"') > page.index('<section id="latest-donations"')
    assert "To confirm, type the appeal's name: <strong>The Sun&#39;s Ukraine Fund</strong>" in page
    assert '<button type="submit" class="danger">Close the appeal</button>' in page


def test_a_draft_appeal_goes_live_with_a_button_of_its_own_colour_far_from_closing(platform, load_seed_variant):
    load_seed_variant(status="draft")
    with TestClient(create_app(platform)) as admin:
        log_in(admin, make_user(platform, "admin"))
        page = admin.get("/admin/appeals/sun-ukraine-fund").text
        went_live = admin.post("/admin/appeals/sun-ukraine-fund/status",
                               data={"status": "live", "csrf_token": session_csrf(admin)})

    assert '<button type="submit" class="primary">Go live</button>' in page
    actions = page.split('<section class="actions"')[1].split("</section>")[0]
    assert "Close the appeal" not in actions
    assert went_live.status_code == 200 and '<span class="status live" id="appeal-status">' in went_live.text


def test_a_draft_that_lacks_what_a_live_appeal_needs_cannot_go_live_from_the_desk(platform, load_seed_variant):
    load_seed_variant(status="draft", privacy_url=None)
    with TestClient(create_app(platform)) as admin:
        log_in(admin, make_user(platform, "admin"))
        refused = admin.post("/admin/appeals/sun-ukraine-fund/status",
                             data={"status": "live", "csrf_token": session_csrf(admin)})

    assert refused.status_code == 409
    assert "privacy_url: a live appeal needs the charity&#39;s privacy notice" in refused.text
    assert desk.appeal(platform.uow(), "sun-ukraine-fund").status.value == "draft"


def test_an_appeal_closes_only_when_its_name_is_typed(as_role, platform):
    admin = as_role("admin")
    csrf = session_csrf(admin)
    close = "/admin/appeals/sun-ukraine-fund/status"

    unnamed = admin.post(close, data={"status": "closed", "csrf_token": csrf})
    misnamed = admin.post(close, data={"status": "closed", "confirm_name": "Sun Ukraine", "csrf_token": csrf})
    live_still = desk.appeal(platform.uow(), "sun-ukraine-fund").status
    closed = admin.post(close, data={"status": "closed", "confirm_name": " the sun\u2019s  ukraine fund",
                                     "csrf_token": csrf})
    reopen = admin.post(close, data={"status": "live", "csrf_token": csrf})

    assert unnamed.status_code == 400 and misnamed.status_code == 400 and live_still.value == "live"
    assert "type its name exactly as shown: The Sun&#39;s Ukraine Fund. Nothing has changed." in misnamed.text
    assert "You typed &#39;Sun Ukraine&#39;." in misnamed.text and 'aria-invalid="true"' in misnamed.text
    assert closed.status_code == 200 and '<span class="status closed" id="appeal-status">' in closed.text
    assert reopen.status_code == 409 and "a closed appeal stays closed" in reopen.text
    with platform.uow() as uow:
        assert uow.appeals.changes("sun-ukraine-fund")[-1].source == "desk:admin@desk.example.org"


def test_an_admin_adds_a_user_and_mistakes_are_explained(as_role):
    admin = as_role("admin")
    csrf = session_csrf(admin)

    added = admin.post("/admin/users", data={"email": "new@desk.example.org", "role": "finance",
                                             "password": "a long enough passphrase", "csrf_token": csrf})
    duplicate = admin.post("/admin/users", data={"email": "NEW@desk.example.org", "role": "viewer",
                                                 "password": "a long enough passphrase", "csrf_token": csrf})
    short = admin.post("/admin/users", data={"email": "other@desk.example.org", "role": "viewer",
                                             "password": "short", "csrf_token": csrf})

    assert added.status_code == 200 and "Added new@desk.example.org" in added.text
    assert duplicate.status_code == 400 and "already exists" in duplicate.text
    assert short.status_code == 400 and "at least 12 characters" in short.text
    with TestClient(admin.app) as newcomer:
        assert log_in(newcomer, "new@desk.example.org").status_code == 303


def test_an_admin_removes_a_user_whose_sessions_end_at_once(as_role, platform):
    leaver = as_role("viewer")
    admin = as_role("admin")

    removed = admin.post("/admin/users/remove", data={"email": "viewer@desk.example.org",
                                                      "csrf_token": session_csrf(admin)})
    yourself = admin.post("/admin/users/remove", data={"email": "admin@desk.example.org",
                                                       "csrf_token": session_csrf(admin)})

    assert removed.status_code == 200 and "Removed viewer@desk.example.org" in removed.text
    assert yourself.status_code == 400 and "cannot remove yourself" in yourself.text
    assert leaver.get("/admin/", follow_redirects=False).status_code == 303


def test_finance_sees_how_many_declared_donations_hmrc_would_refuse(as_role, donations, platform):
    donation = donations.online(2500)
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration(  # taken before the schedule's rules were checked at declaration
            donation_reference=donation.reference, charity_name="British Red Cross", first_name="Тарас",
            last_name="Шевченко", house="7", address="", postcode="YO1 7HH", scope=GiftAidScope.THIS_DONATION,
            wording="…", declared_at=donation.created_at, source="test"))
        uow.commit()

    page = as_role("finance").get("/admin/appeals/sun-ukraine-fund/reconciliation")

    assert page.status_code == 200
    assert "1 declared donation is left out: HMRC would refuse the declaration" in page.text
    assert 'id="gift-aid-claimable">£0<' in page.text
