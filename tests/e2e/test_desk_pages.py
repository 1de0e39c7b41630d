"""The desk's pages as its users see them, through HTTP."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from everypenny.domain.appeal import Channel
from everypenny.entrypoints.web.app import create_app
from tests.builders import DonationBuilder
from tests.e2e.desk_helpers import log_in, make_user, quick_passwords, session_csrf

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]


@pytest.fixture
def donations(platform, seed_appeal):
    return DonationBuilder(platform)


@pytest.fixture
def as_role(platform, seed_appeal):
    clients = []

    def client_for(role: str) -> TestClient:
        client = TestClient(create_app(platform))
        clients.append(client)
        log_in(client, make_user(platform, role))
        return client

    yield client_for
    for client in clients:
        client.close()


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


def test_the_live_fragment_keeps_polling_and_shows_new_donations(as_role, donations):
    viewer = as_role("viewer")
    before = viewer.get("/admin/appeals/sun-ukraine-fund/live", headers={"HX-Request": "true"})
    donations.text(1000)
    after = viewer.get("/admin/appeals/sun-ukraine-fund/live", headers={"HX-Request": "true"})

    assert 'hx-trigger="every 3s"' in after.text
    assert '<span class="value" id="raised">£0</span>' in before.text
    assert '<span class="value" id="raised">£10</span>' in after.text
    assert "<html" not in after.text


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


def test_a_search_that_cannot_be_understood_is_a_400_with_advice(as_role, donations):
    page = as_role("viewer").get("/admin/donations", params={"q": "12"})
    assert page.status_code == 400 and "at least the last 3 digits" in page.text


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


def test_an_admin_closes_an_appeal_and_cannot_reopen_it(as_role, platform):
    admin = as_role("admin")
    csrf = session_csrf(admin)

    closed = admin.post("/admin/appeals/sun-ukraine-fund/status", data={"status": "closed", "csrf_token": csrf})
    reopen = admin.post("/admin/appeals/sun-ukraine-fund/status", data={"status": "live", "csrf_token": csrf})

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
