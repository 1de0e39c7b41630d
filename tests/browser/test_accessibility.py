"""Every public and desk page, in each state a donor or member of staff can meet, passes axe-core's WCAG 2.2 AA
rules and best practices; and the keyboard focus ring stands out (3:1) on every background it meets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from everypenny.domain.branding import contrast_ratio
from everypenny.service_layer import links
from tests.browser.axe import assert_no_axe_violations
from tests.builders import DonationBuilder
from tests.e2e.desk_helpers import PASSWORD, make_user, quick_passwords

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures(quick_passwords.__name__)]
SLUG = "sun-ukraine-fund"
PICTURE = ("https://cdn.example/sun-logo.png", "https://cdn.example/convoy.png")
# A 1×1 PNG stands in for the branding pictures: tests never reach outside services.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf000000020001e221bc330000000049454e44ae426082")


@pytest.fixture(params=[(390, 844), (1280, 900)], ids=["phone", "desktop"])
def axe_page(browser, request):
    """A page at phone or desktop size; CSP bypassed only so axe's script can be injected into the widget."""
    context = browser.new_context(viewport=dict(zip(("width", "height"), request.param, strict=True)),
                                  bypass_csp=True)
    context.route("https://cdn.example/**", lambda route: route.fulfill(body=PNG, content_type="image/png"))
    page = context.new_page()
    yield page
    context.close()


def visit(page, url: str, state: str) -> None:
    page.goto(url)
    assert_no_axe_violations(page, state)


def test_the_donation_journey_pages_pass_axe_in_every_state(axe_page, live_server, platform, load_seed_variant):
    load_seed_variant(branding={"logo_url": PICTURE[0], "image_url": PICTURE[1],
                                "image_alt": "A Red Cross convoy crossing into Ukraine"})
    donations = DonationBuilder(platform)
    page, base = axe_page, live_server
    visit(page, f"{base}/donate/{SLUG}", "branded, nothing chosen")

    page.get_by_label("Yes, I am a UK taxpayer and want to add Gift Aid").check()
    assert_no_axe_violations(page, "Gift Aid chosen")
    page.get_by_role("button", name="Continue to secure card payment").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_no_axe_violations(page, "errors showing")

    visit(page, links.prefilled_donation_url(base, platform.settings.secret_key, SLUG, 1000, "+447700900123"),
          "text-to-link")
    pending, paid = donations.online(500, outcome="pending"), donations.online(2500)
    failed = donations.online(1000, outcome="failed", failure_reason="Your card was declined.")
    for donation, state in ((pending, "pending"), (paid, "paid"), (failed, "failed")):
        visit(page, f"{base}/donate/{SLUG}/thank-you/{donation.reference}", f"thank-you, {state}")
    visit(page, f"{base}/donate/{SLUG}/cancelled/{pending.reference}", "cancelled")

    gift_aid = links.gift_aid_url(base, platform.settings.secret_key, paid.reference)
    visit(page, gift_aid, "Gift Aid form")
    page.get_by_role("button", name="Add Gift Aid").click()
    assert_no_axe_violations(page, "Gift Aid errors showing")
    visit(page, f"{base}/donate/no-such-appeal", "not found")

    load_seed_variant(status="closed")
    visit(page, f"{base}/donate/{SLUG}", "closed")


def test_the_transparency_page_and_widget_pass_axe_in_every_state(axe_page, live_server, platform, seed_appeal,
                                                                     load_seed_variant):
    donations = DonationBuilder(platform)
    counted = donations.text(1000)
    donations.text(500, outcome="pending")
    page, base = axe_page, live_server
    visit(page, f"{base}/transparency/{SLUG}", "money pending")
    page.get_by_text("How the seal works, and how to check it").click()
    assert_no_axe_violations(page, "seal detail open")
    page.get_by_label("Your receipt reference").fill(counted.reference)
    page.get_by_role("button", name="Check").click()
    assert_no_axe_violations(page, "donation counted")
    page.get_by_label("Your receipt reference").fill("EP-0000000000")
    page.get_by_role("button", name="Check").click()
    assert_no_axe_violations(page, "donation not found")
    visit(page, f"{base}/widget/{SLUG}", "widget, live")

    load_seed_variant(status="closed")
    visit(page, f"{base}/transparency/{SLUG}", "closed")
    visit(page, f"{base}/widget/{SLUG}", "widget, closed")


def log_in(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_the_desk_pages_pass_axe_in_every_state(axe_page, live_server, platform, seed_appeal, load_seed_variant):
    page, base = axe_page, live_server
    donation = DonationBuilder(platform).text(500, phone="+447700900123")
    DonationBuilder(platform).online(1000, outcome="pending")
    admin = make_user(platform, "admin")
    viewer = make_user(platform, "viewer")

    visit(page, f"{base}/admin/login", "login")
    log_in(page, base, admin, password="not the password")
    assert_no_axe_violations(page, "login refused")
    log_in(page, base, admin)
    dashboard = f"{base}/admin/appeals/{SLUG}"
    for url, state in ((f"{base}/admin/", "appeals"), (dashboard, "dashboard, live"),
                       (f"{base}/admin/donations?q=07%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A2123", "search"),
                       (f"{base}/admin/donations?q=1", "search refused"),
                       (f"{base}/admin/donations/{donation.reference}", "donation"),
                       (f"{dashboard}/reconciliation", "reconciliation"), (f"{base}/admin/users", "users"),
                       (f"{dashboard}/promotion", "promotion copy")):
        visit(page, url, state)
    page.get_by_role("button", name="Copy print").click()
    expect(page.locator("#print-copied")).not_to_be_empty()
    assert_no_axe_violations(page, "promotion copied")

    load_seed_variant(status="closed")
    visit(page, dashboard, "dashboard, closed")

    page.context.clear_cookies()
    log_in(page, base, viewer)
    visit(page, f"{dashboard}/exports/donations.csv", "refused")


def rgb(css: str) -> str:
    """'rgb(11, 12, 12)' (as getComputedStyle writes colours) → '#0b0c0c'."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", css)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


FOCUS_RING = """element => {
  let around = element.parentElement, ground = "rgb(255, 255, 255)";
  for (; around; around = around.parentElement) {
    const colour = getComputedStyle(around).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)") { ground = colour; break; }
  }
  const style = getComputedStyle(element);
  return {outline: style.outlineColor, width: parseFloat(style.outlineWidth), style: style.outlineStyle,
          shadow: style.boxShadow, ground};
}"""


def assert_focus_ring_stands_out(locator, where: str) -> None:
    """The ring's better part (black outline or yellow halo) is at least 3:1 against what lies around it."""
    locator.focus()
    ring = locator.evaluate(FOCUS_RING)
    assert ring["style"] == "solid" and ring["width"] >= 2, f"{where}: no visible outline: {ring}"
    colours = [ring["outline"]] + ([ring["shadow"]] if ring["shadow"] != "none" else [])
    best = max(contrast_ratio(rgb(colour), rgb(ring["ground"])) for colour in colours)
    assert best >= 3, f"{where}: focus ring {best:.2f}:1 against {ring['ground']}"


def test_the_focus_ring_is_at_least_3_to_1_on_every_background(page, live_server, platform, seed_appeal):
    page.goto(f"{live_server}/donate/{SLUG}")
    assert_focus_ring_stands_out(page.get_by_label("£10", exact=True), "amount tile on white")
    assert_focus_ring_stands_out(page.get_by_label("Yes, I am a UK taxpayer"), "Gift Aid box on grey")
    assert_focus_ring_stands_out(page.get_by_role("button", name="Continue to secure card payment"),
                                 "green button")
    assert_focus_ring_stands_out(page.get_by_role("link", name="Skip to main content"), "skip link")
    page.goto(f"{live_server}/transparency/{SLUG}")
    assert_focus_ring_stands_out(page.locator(".masthead").get_by_role("link", name="Donate"), "red masthead")

    log_in(page, live_server, make_user(platform, "admin"))
    assert_focus_ring_stands_out(page.locator(".bar a").first, "the desk's dark bar")
    page.goto(f"{live_server}/admin/appeals/{SLUG}")
    assert_focus_ring_stands_out(page.get_by_role("button").first, "a desk button")
