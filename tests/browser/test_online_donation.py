"""A donor gives on the donation page in Chromium, pays on the Stripe simulator's hosted page, gets a receipt."""

from __future__ import annotations

import threading

import httpx
import pytest
from playwright.sync_api import expect

from everypenny.simulators.stripe import SimulatorServer, StripeSimulator, WebhookOptions
from tests.eventually import eventually

pytestmark = pytest.mark.browser

SLUG = "sun-ukraine-fund"


class Stack:
    def __init__(self, url: str, sim: StripeSimulator, smtp) -> None:
        self.url, self.sim, self.smtp = url, sim, smtp

    def totals(self) -> dict:
        return httpx.get(f"{self.url}/api/v1/appeals/{SLUG}/totals").json()

    def wait_for_totals(self, raised_pence: int, pending_pence: int, timeout_s: float = 15) -> dict:
        def reached() -> dict | None:
            totals = self.totals()
            return totals if (totals["raised_pence"], totals["pending_pence"]) == (raised_pence, pending_pence) \
                else None

        return eventually(reached, timeout_s, 0.1, lambda: f"totals stayed at {self.totals()}")

    def wait_for_receipts(self, count: int, timeout_s: float = 15) -> list:
        eventually(lambda: len(self.smtp.messages) >= count, timeout_s, 0.1,
                   lambda: f"{len(self.smtp.messages)} receipts, not {count}")
        return self.smtp.messages


@pytest.fixture
def stack(platform, seed_appeal, smtp_sink, live_server):
    """The app, the Stripe simulator delivering webhooks to it, an outbox worker and a mail server."""
    settings = platform.settings
    settings.public_url = live_server
    sim = StripeSimulator(settings.stripe_webhook_secret, settings.stripe_api_key,
                          WebhookOptions(url=f"{live_server}/webhooks/stripe", retry_base_s=0.2))
    stop = threading.Event()
    worker = threading.Thread(target=platform.worker().run_until, args=(stop,), daemon=True)
    with SimulatorServer(sim) as sim_url:
        settings.stripe_api_base = sim_url
        worker.start()
        yield Stack(live_server, sim, smtp_sink)
        stop.set()
        worker.join(timeout=10)


def fill_donation(page, stack: Stack, amount_label: str, email: str, other: str | None = None,
                  gift_aid: bool = False) -> None:
    page.goto(f"{stack.url}/donate/{SLUG}")
    if other is None:
        page.get_by_label(amount_label, exact=True).check()
    else:
        page.get_by_label("Other amount", exact=True).check()
        page.get_by_label("Other amount in pounds").fill(other)
    page.get_by_label("Email for your receipt").fill(email)
    if gift_aid:
        page.get_by_label("Yes, I am a UK taxpayer and want to add Gift Aid").check()
        page.get_by_label("First name or initial").fill("Olena")
        page.get_by_label("Surname", exact=True).fill("Shevchenko")
        page.get_by_label("House name or number").fill("12")
        page.get_by_label("Postcode").fill("ls1 4ap")
    page.get_by_role("button", name="Continue to secure card payment").click()
    page.wait_for_url(f"{stack.sim.public_url}/c/pay/*")


def pay(page, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("O Shevchenko")
    page.get_by_role("button", name="Donate").click()


def wait_until_confirmed(page, timeout_s: float = 15) -> None:
    """The thank-you page checks again by itself every 3 s; a test reloads sooner."""
    def confirmed() -> bool:
        if "Your payment is confirmed" in page.content():
            return True
        page.reload()
        return False

    eventually(confirmed, timeout_s, 0.2, lambda: f"still not confirmed: {page.inner_text('main')}")


def test_a_success_card_without_gift_aid(page, stack):
    fill_donation(page, stack, "£5", "reader@example.org")
    assert "£5" in page.inner_text("main")

    pay(page, "4242 4242 4242 4242")

    page.wait_for_url(f"{stack.url}/donate/{SLUG}/thank-you/*")
    wait_until_confirmed(page)
    assert "Thank you for your £5 donation" in page.inner_text("h1")
    assert "Add Gift Aid" in page.inner_text("main")
    assert stack.wait_for_totals(500, 0)["by_channel"] == {"carrier_sms": 0, "text_to_link": 0, "online": 500}
    [receipt] = stack.wait_for_receipts(1)
    body = receipt.get_content()
    assert receipt["To"] == "reader@example.org"
    assert "Amount: £5" in body and "Gift Aid: not declared" in body


def test_a_success_card_with_gift_aid_and_an_amount_of_the_donors_choosing(page, stack):
    fill_donation(page, stack, "", "olena@example.org", other="7.50", gift_aid=True)

    pay(page, "5555 5555 5555 4444")

    page.wait_for_url(f"{stack.url}/donate/{SLUG}/thank-you/*")
    wait_until_confirmed(page)
    assert "Yes — worth an extra £1.87" in page.inner_text("main")
    stack.wait_for_totals(750, 0)
    [receipt] = stack.wait_for_receipts(1)
    assert "Amount: £7.50" in receipt.get_content()
    assert "Gift Aid: yes, declared on" in receipt.get_content()


def test_a_declined_card_with_gift_aid_takes_nothing_and_sends_no_receipt(page, stack):
    fill_donation(page, stack, "£10", "declined@example.org", gift_aid=True)
    stack.wait_for_totals(0, 1000)

    pay(page, "4000 0000 0000 0002")

    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    stack.wait_for_totals(0, 0)
    page.get_by_role("link", name="Back").click()
    assert "You have not been charged for your £10 donation" in page.inner_text("main")
    assert stack.smtp.messages == []


def test_a_declined_card_without_gift_aid_then_a_good_card_counts_once(page, stack):
    fill_donation(page, stack, "£3", "retry@example.org")

    pay(page, "4000 0000 0000 9995")
    assert page.get_by_role("alert").inner_text() == "Your card has insufficient funds."
    pay(page, "4242 4242 4242 4242")

    page.wait_for_url(f"{stack.url}/donate/{SLUG}/thank-you/*")
    wait_until_confirmed(page)
    totals = stack.wait_for_totals(300, 0)
    assert totals["donation_count"] == 1
    assert len(stack.wait_for_receipts(1)) == 1


def test_less_than_the_minimum_is_refused_on_the_page_without_javascript(browser, stack):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.url}/donate/{SLUG}")
    page.get_by_label("Other amount", exact=True).check()
    page.get_by_label("Other amount in pounds").fill("2")
    page.get_by_role("button", name="Continue to secure card payment").click()

    assert "The smallest donation we can take online is £3" in page.inner_text(".error-summary")
    assert stack.totals()["pending_pence"] == 0
    context.close()


def test_a_text_to_link_donor_arrives_with_the_amount_chosen_and_is_counted_as_text_to_link(page, stack, platform):
    from everypenny.service_layer import links

    page.goto(links.prefilled_donation_url(stack.url, platform.settings.secret_key, SLUG, 1000, "+447700900123"))

    assert page.get_by_label("£10", exact=True).is_checked()
    assert "Donating from the text sent to 07•••••123." in page.inner_text("main")
    assert "7700900123" not in page.content()
    page.get_by_role("button", name="Continue to secure card payment").click()
    page.get_by_label("Email").fill("texter@example.org")
    pay(page, "4242 4242 4242 4242")

    page.wait_for_url(f"{stack.url}/donate/{SLUG}/thank-you/*")
    wait_until_confirmed(page)
    assert stack.wait_for_totals(1000, 0)["by_channel"] == {"carrier_sms": 0, "text_to_link": 1000, "online": 0}
    [receipt] = stack.wait_for_receipts(1)
    assert receipt["To"] == "texter@example.org"  # the address given on the checkout page


def test_an_abandoned_checkout_expires_and_releases_the_pending_money(page, stack):
    fill_donation(page, stack, "£25", "abandoner@example.org")
    stack.wait_for_totals(0, 2500)

    httpx.post(f"{stack.sim.public_url}/_simulator/clock", json={"advance_s": 2 * 3600})

    stack.wait_for_totals(0, 0)
    page.get_by_role("link", name="Back").click()
    assert "You have not been charged" in page.inner_text("main")
    assert page.get_by_role("link", name="Return to the payment page").count() == 0


def test_the_chosen_tile_is_charged_even_with_an_other_amount_left_behind(browser, stack):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.url}/donate/{SLUG}")
    other_box = page.get_by_label("Other amount in pounds")
    page.get_by_label("Other amount", exact=True).check()
    other_box.fill("50")

    page.get_by_label("£10", exact=True).check()

    expect(other_box).to_be_hidden()
    chosen = page.locator(".amount", has=page.get_by_label("£10", exact=True))
    assert chosen.evaluate("tile => getComputedStyle(tile).borderTopWidth") == "4px"
    assert page.locator(".amount", has=page.get_by_label("£5", exact=True)).evaluate(
        "tile => getComputedStyle(tile).borderTopWidth") == "2px"
    page.get_by_role("button", name="Continue to secure card payment").click()
    page.wait_for_url(f"{stack.sim.public_url}/c/pay/*")
    assert "£10" in page.inner_text("main") and "£50" not in page.inner_text("main")
    context.close()
