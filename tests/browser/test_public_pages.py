"""What donors see on the public pages in Chromium, with and without JavaScript: the donation form's Gift Aid
and amount rules, its errors, the live total, the thank-you page's own check, and the widget on a newspaper."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from everypenny.adapters.payments.stripe_events import read_event
from everypenny.service_layer import links
from everypenny.service_layer.online_donations import apply_stripe_event
from everypenny.simulators.server import BackgroundServer
from tests.builders import DonationBuilder

pytestmark = pytest.mark.browser
SLUG = "sun-ukraine-fund"


@pytest.fixture(params=[True, False], ids=["script", "no-script"])
def any_page(browser, request):
    """A phone-sized page with JavaScript on, then off: each behaviour must hold both ways."""
    context = browser.new_context(java_script_enabled=request.param, viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def field_labelled(page, label: str):
    """The text box whose label is `label`, with or without its hint in brackets (not its Latin-letters twin)."""
    return page.get_by_role("textbox", name=re.compile(rf"^{re.escape(label)}( \(.*\))?$"))


def test_gift_aid_asks_for_name_and_address_only_once_chosen(any_page, live_server, seed_appeal):
    page = any_page
    page.goto(f"{live_server}/donate/{SLUG}")
    expect(page.get_by_text("£10 becomes £12.50")).to_be_visible()
    for field in ("First name or initial", "Postcode"):
        expect(field_labelled(page, field)).to_be_hidden()
    expect(page.get_by_role("group", name="Your declaration")).to_be_hidden()

    page.get_by_label("Yes, I am a UK taxpayer and want to add Gift Aid").check()

    for field in ("First name or initial", "Surname", "House name or number", "Postcode"):
        expect(field_labelled(page, field)).to_be_visible()
    expect(page.get_by_role("group", name="Your declaration")).to_be_visible()


def test_the_other_amount_box_shows_only_with_other_amount_chosen(any_page, live_server, seed_appeal):
    page = any_page
    page.goto(f"{live_server}/donate/{SLUG}")
    rule = "Choose an amount, or choose “Other amount” and type your own (at least £3)."
    expect(page.get_by_text(rule)).to_be_visible()
    other_box = page.get_by_label("Other amount in pounds")

    page.get_by_label("£25", exact=True).check()
    expect(other_box).to_be_hidden()
    page.get_by_label("Other amount", exact=True).check()
    expect(other_box).to_be_visible()


def test_a_failed_submit_moves_focus_to_a_linked_error_summary(any_page, live_server, seed_appeal):
    page = any_page
    page.goto(f"{live_server}/donate/{SLUG}")
    page.get_by_label("Yes, I am a UK taxpayer and want to add Gift Aid").check()

    page.get_by_role("button", name="Continue to secure card payment").click()

    assert page.title().startswith("Error: Donate to")
    summary = page.get_by_role("alert").filter(has_text="There is a problem with your donation")
    expect(summary).to_be_focused()
    expect(page.get_by_role("group", name="How much would you like to give?")).to_have_accessible_description(
        re.compile("Choose an amount or enter your own"))
    summary.get_by_role("link", name="Choose an amount or enter your own").click()
    expect(page.get_by_label("£3", exact=True)).to_be_focused()
    summary.get_by_role("link", name="Enter your surname").click()
    expect(page.get_by_label("Surname", exact=True)).to_be_focused()


def test_the_donation_page_shows_the_total_and_keeps_it_live(page, live_server, platform, seed_appeal):
    platform.settings = platform.settings.model_copy(update={"widget_poll_seconds": 1})
    donations = DonationBuilder(platform)
    donations.text(1000)
    page.goto(f"{live_server}/donate/{SLUG}")
    total = page.get_by_role("region", name="Raised so far")
    expect(total).to_contain_text("£10 raised from 1 donation")

    donations.online(2500)

    expect(total).to_contain_text("£35 raised from 2 donations", timeout=10_000)


def test_the_appeals_branding_shows_on_its_pages(page, live_server, load_seed_variant):
    load_seed_variant(branding={"masthead_colour": "#003a70", "logo_url": "https://cdn.example/sun.png",
                                "image_url": "https://cdn.example/convoy.png",
                                "image_alt": "A Red Cross convoy crossing into Ukraine"})
    page.route("https://cdn.example/**", lambda route: route.fulfill(body=b"", content_type="image/png"))
    page.goto(f"{live_server}/donate/{SLUG}")

    expect(page.get_by_role("img", name="The Sun")).to_be_attached()
    expect(page.get_by_role("img", name="A Red Cross convoy crossing into Ukraine")).to_be_attached()
    assert page.locator(".masthead").evaluate("bar => getComputedStyle(bar).backgroundColor") == "rgb(0, 58, 112)"


def pending_donation(live_server, fake_gateway) -> str:
    response = httpx.post(f"{live_server}/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500})
    return response.json()["id"]


def mark_paid(platform, stripe_event, reference: str) -> None:
    completed = stripe_event("checkout.session.completed", {
        "id": f"cs_test_{reference}", "object": "checkout.session", "status": "complete", "payment_status": "paid",
        "amount_total": 500, "payment_intent": f"pi_{reference}", "client_reference_id": reference,
        "metadata": {"reference": reference}, "customer_details": None})
    with platform.uow() as uow:
        apply_stripe_event(uow, read_event(completed))
        uow.commit()


def test_the_pending_thank_you_page_checks_again_by_itself_and_says_so_politely(
        page, live_server, platform, seed_appeal, fake_gateway, stripe_event):
    reference = pending_donation(live_server, fake_gateway)
    page.goto(thank_you_url(live_server, platform, reference))
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    status = page.get_by_role("status")
    expect(status).to_contain_text("pending until the card processor confirms it")
    page.get_by_role("link", name="Check again").focus()

    mark_paid(platform, stripe_event, reference)

    expect(status).to_have_text("Your payment is confirmed.", timeout=10_000)
    assert status.get_attribute("role") == "status"  # the same polite live region, now with the news
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your £5 donation")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # the link that had focus is gone
    expect(page).to_have_title(re.compile("^Your donation to"))


def test_without_javascript_the_donor_checks_again_by_hand(browser, live_server, platform, seed_appeal,
                                                            fake_gateway, stripe_event):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    reference = pending_donation(live_server, fake_gateway)
    page.goto(thank_you_url(live_server, platform, reference))
    page.get_by_role("link", name="Check again").click()
    expect(page.get_by_role("status")).to_contain_text("pending")

    mark_paid(platform, stripe_event, reference)
    page.get_by_role("link", name="Check again").click()

    expect(page.get_by_role("status")).to_have_text("Your payment is confirmed.")
    expect(page.get_by_role("link", name="Donate")).to_have_attribute("href", f"/donate/{SLUG}")
    context.close()


def thank_you_url(live_server: str, platform, reference: str) -> str:
    """Where Stripe returns the donor: their donation's page, opened with their own receipt key."""
    key = links.receipt_key(platform.settings.secret_key, reference)
    return f"{live_server}/donate/{SLUG}/thank-you/{reference}?{links.RECEIPT_KEY_PARAM}={key}"


def newspaper_article(live_server: str):
    """A newspaper's article page, served from its own origin, embedding the widget with the one-line loader."""
    html = ('<!doctype html><html lang="en"><title>News</title><h1>Help Ukraine</h1>'
            f'<script src="{live_server}/widget/{SLUG}.js" async></script><p>The article goes on.</p>')
    return Starlette(routes=[Route("/ukraine-appeal", lambda request: HTMLResponse(html))])


def test_on_a_narrow_newspaper_page_the_iframe_grows_to_show_the_whole_widget(browser, live_server, platform,
                                                                               seed_appeal):
    platform.settings.public_url = live_server
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    with BackgroundServer(newspaper_article(live_server), name="newspaper") as newspaper:
        page.goto(f"{newspaper}/ukraine-appeal")
        frame = page.frame_locator("iframe").first
        expect(frame.get_by_role("link", name=re.compile("^Donate"))).to_be_visible()

        widget = page.frames[1]
        widget.wait_for_function("document.documentElement.scrollHeight <= window.innerHeight", timeout=5_000)
        assert widget.evaluate("document.documentElement.scrollHeight") > 150  # the old fixed height cut it off
    context.close()


@pytest.mark.parametrize(("device", "tap_to_text_shown"), [
    ({"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}, True),
    ({"viewport": {"width": 1280, "height": 800}}, False)], ids=["phone", "desktop"])
def test_the_widget_offers_tap_to_text_on_phones_only(browser, live_server, seed_appeal, device, tap_to_text_shown):
    context = browser.new_context(**device)
    page = context.new_page()
    page.goto(f"{live_server}/widget/{SLUG}")

    expect(page.get_by_role("link", name=re.compile("^Donate"))).to_have_attribute("href", f"/donate/{SLUG}")
    text = page.locator('a[href^="sms:"]')
    expect(text).to_have_attribute("href", "sms:70141?body=SUN10")
    expect(text).to_have_text("Text SUN10 to 70141")
    assert text.is_visible() is tap_to_text_shown
    context.close()


def test_an_open_widget_learns_that_the_appeal_closed(page, live_server, platform, load_seed_variant):
    platform.settings = platform.settings.model_copy(update={"widget_poll_seconds": 1})
    load_seed_variant()
    page.goto(f"{live_server}/widget/{SLUG}")
    expect(page.get_by_text("This appeal has closed: thank you.")).to_be_hidden()

    load_seed_variant(status="closed")

    expect(page.get_by_text("This appeal has closed: thank you.")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("link", name=re.compile("^Donate"))).to_be_hidden()
    expect(page.get_by_text("Text SUN£10 to 70141")).to_be_hidden()
