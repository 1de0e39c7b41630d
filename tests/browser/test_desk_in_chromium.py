"""The appeal desk in a real browser: each role logs in and does (or is refused) its work."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from tests.builders import DonationBuilder
from tests.e2e.desk_helpers import PASSWORD, make_user, quick_passwords

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures(quick_passwords.__name__)]
DASHBOARD = "/admin/appeals/sun-ukraine-fund"


def log_in(page, live_server, platform, role: str, start: str = DASHBOARD) -> None:
    email = make_user(platform, role)
    page.goto(live_server + start)
    expect(page.get_by_role("heading", name="Log in to the appeal desk")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"{email} ({role})")).to_be_visible()


def test_the_dashboard_figures_update_by_themselves_and_keyboard_focus_stays_put(
        page, live_server, platform, seed_appeal):
    donations = DonationBuilder(platform)
    first = donations.text(500, phone="+447700900123")
    log_in(page, live_server, platform, "viewer")
    expect(page.locator("#raised")).to_have_text("£5")
    link = page.get_by_role("link", name=first.reference)
    link.focus()

    donations.text(1000, phone="+447700900456")
    donations.online(2500, email="jane.doe@example.org")

    expect(page.locator("#raised")).to_have_text("£40", timeout=15_000)
    expect(link).to_be_focused()
    expect(page.locator("#latest")).not_to_contain_text("j•••@e•••.org")  # the list holds still while read
    page.get_by_role("link", name="Show the newest donations").click()
    expect(page.locator("#latest")).to_contain_text("j•••@e•••.org")
    expect(page.locator("#latest")).to_contain_text("07•••••456")
    assert "+447700900123" not in page.content()
    expect(page.locator("img.chart")).to_be_visible()


def test_a_viewer_opens_a_donations_history_but_may_not_export(page, live_server, platform, seed_appeal):
    donation = DonationBuilder(platform).text(500, phone="+447700900123", consent=True)
    log_in(page, live_server, platform, "viewer")

    page.get_by_role("link", name=donation.reference).click()
    expect(page.get_by_role("heading", name=f"Donation {donation.reference}")).to_be_visible()
    expect(page.locator('[data-section="Ledger transfers"]')).to_contain_text("post donation £5")
    expect(page.locator('[data-section="Marketing consent"]')).to_contain_text("opted in")

    page.goto(live_server + DASHBOARD)
    expect(page.get_by_role("link", name="Donations", exact=True)).to_have_count(0)
    response = page.goto(live_server + DASHBOARD + "/exports/donations.csv")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("does not allow")


def test_finance_downloads_the_donations_export(page, live_server, platform, seed_appeal, tmp_path):
    donation = DonationBuilder(platform).text(500)
    log_in(page, live_server, platform, "finance")

    with page.expect_download() as download:
        page.get_by_role("link", name="Donations", exact=True).click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)

    assert path.name.startswith("sun-ukraine-fund-donations-")
    with path.open(newline="") as file:
        assert [row["reference"] for row in csv.DictReader(file)] == [donation.reference]
    expect(page.get_by_role("button", name="Close the appeal")).to_have_count(0)


def test_an_admin_finds_a_donation_by_masked_phone_and_closes_the_appeal(page, live_server, platform, seed_appeal):
    donation = DonationBuilder(platform).text(500, phone="+447700900123")
    log_in(page, live_server, platform, "admin", start="/admin/")

    page.get_by_role("link", name="Find a donation").click()
    page.get_by_role("searchbox").fill("07•••••123")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results")).to_contain_text(donation.reference)

    page.goto(live_server + DASHBOARD)
    page.get_by_label("To confirm, type the appeal's name").fill("The Sun's Ukraine")
    page.get_by_role("button", name="Close the appeal").click()
    expect(page.get_by_role("alert")).to_contain_text("type its name exactly as shown")
    expect(page.locator("#appeal-status")).to_have_text("live")
    expect(page.get_by_label("To confirm, type the appeal's name")).to_be_focused()

    page.get_by_label("To confirm, type the appeal's name").fill("The Sun’s Ukraine Fund")
    page.get_by_role("button", name="Close the appeal").click()
    expect(page.locator("#appeal-status")).to_have_text("closed")
    expect(page.get_by_role("button", name="Close the appeal")).to_have_count(0)


def test_the_widget_shows_the_total_and_refreshes_it(page, live_server, platform, seed_appeal):
    platform.settings = platform.settings.model_copy(update={"widget_poll_seconds": 1})
    page.goto(live_server + "/widget/sun-ukraine-fund")
    expect(page.locator("#raised")).to_have_text("£0")

    DonationBuilder(platform).text(1000)

    expect(page.locator("#raised")).to_have_text("£10", timeout=10_000)


@pytest.fixture
def page_without_javascript(browser):
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_without_javascript_finance_records_a_settlement_after_confirming(
        page_without_javascript, live_server, platform, seed_appeal):
    page = page_without_javascript
    DonationBuilder(platform).online(2500)
    log_in(page, live_server, platform, "finance")

    page.get_by_role("link", name="Record a settlement").click()
    page.get_by_label("Channel whose charges the cash settles").select_option("online")
    page.get_by_label("Gross settled").fill("25.00")
    page.get_by_label("Fee withheld").fill("0.60")
    page.get_by_label("Reference on the bank statement").fill("po_1")
    page.get_by_role("button", name="Check the settlement").click()
    expect(page.get_by_role("heading", name="Record settlement po_1 of £25?")).to_be_visible()
    page.get_by_role("button", name="Record the settlement").click()

    expect(page.get_by_role("status")).to_have_text(
        "settlement po_1 recorded: £25 gross, fee £0.60 recoverable from the fee bearer")


def test_without_javascript_an_admin_searches_by_domain_and_dates(
        page_without_javascript, live_server, platform, seed_appeal):
    page = page_without_javascript
    donation = DonationBuilder(platform).online(2500, email="ann@charity.org.uk")
    log_in(page, live_server, platform, "admin", start="/admin/donations")

    page.get_by_label("Reference, email or domain").fill("@charity.org.uk")
    page.get_by_label("Made from").fill("2026-11-26")
    page.get_by_label("Made to").fill("2026-11-26")
    page.get_by_role("button", name="Search").click()

    expect(page.locator("#results")).to_contain_text(donation.reference)
    expect(page.get_by_role("status")).to_contain_text("emails at @charity.org.uk made 26 Nov 2026 to 26 Nov 2026")


def test_on_a_phone_the_desk_fits_the_screen(page, live_server, platform, seed_appeal):
    page.set_viewport_size({"width": 390, "height": 844})
    DonationBuilder(platform).text(500)
    log_in(page, live_server, platform, "admin")

    for path in (DASHBOARD, "/admin/donations", DASHBOARD + "/gift-aid", DASHBOARD + "/settlements/new"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.locator("header.bar").bounding_box()["width"] <= 390, path
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
