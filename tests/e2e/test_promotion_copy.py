"""Every place a text-to-give call to action appears shows the same small print, written from the appeal file."""

from __future__ import annotations

import html
import re

import pytest

from everypenny.domain.promotion import small_print
from tests.e2e.desk_helpers import quick_passwords

pytestmark = [pytest.mark.usefixtures(quick_passwords.__name__)]
SLUG = "sun-ukraine-fund"


def shown(page: str) -> str:
    """The page's text as a reader sees it: tags and entities gone."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_widget_prints_the_small_print_next_to_its_call_to_action(client, seed_appeal):
    page = shown(client.get(f"/widget/{SLUG}").text)

    assert "Text SUN£10 to 70141 to give £10." in page
    assert small_print(seed_appeal, [1000]) in page


def test_the_donation_page_offers_giving_by_text_with_its_small_print(client, seed_appeal):
    page = shown(client.get(f"/donate/{SLUG}").text)

    assert "Text SUN5 to 70141 to give £5" in page
    assert small_print(seed_appeal, [300, 500, 1000]) in page


def test_the_desk_gives_print_on_air_and_web_copy_each_with_the_small_print(as_role, seed_appeal):
    viewer = as_role("viewer")
    page = viewer.get(f"/admin/appeals/{SLUG}/promotion")

    assert page.status_code == 200
    copies = {name: html.unescape(words) for name, words in
              re.findall(r'<textarea id="([a-z-]+)"[^>]*>(.*?)</textarea>', page.text, re.DOTALL)}
    assert set(copies) == {"print", "on-air", "web"}
    fine = small_print(seed_appeal, [300, 500, 1000])
    assert fine in copies["print"] and fine in copies["on-air"] and fine in shown(copies["web"])
    assert '<a href="https://www.redcross.org.uk/mobile"' in copies["web"]  # the web snippet links the terms
    for name in ("print", "on-air script", "web snippet (html)"):
        assert f"Copy {name}</button>" in page.text
    assert f'href="/admin/appeals/{SLUG}/promotion"' in viewer.get(f"/admin/appeals/{SLUG}").text


def test_every_page_that_collects_details_links_the_privacy_notice(client, platform, seed_appeal):
    from everypenny.service_layer import links
    from tests.builders import DonationBuilder

    donation = DonationBuilder(platform).online(2500)
    gift_aid = links.gift_aid_url("http://testserver", platform.settings.secret_key, donation.reference)
    for url in (f"/donate/{SLUG}", gift_aid):
        page = client.get(url).text
        assert 'British Red Cross uses your details as its <a href="https://www.redcross.org.uk/privacy-policy">' \
               "privacy notice</a> explains." in page, url


def test_the_donation_page_says_how_to_get_a_refund_or_complain(client, seed_appeal):
    page = shown(client.get(f"/donate/{SLUG}").text)

    assert ("To ask for a refund or to complain, see https://www.redcross.org.uk/about-us/contact-us/complaints or "
            "call 0344 871 11 11. If you are not happy with the answer, you can complain to the Fundraising "
            "Regulator") in page


def test_the_refunds_route_may_be_the_charitys_own_words(client, load_seed_variant):
    load_seed_variant(refunds_wording="Write to Supporter Care, 44 Moorfields, London EC2Y 9AL.")

    assert "Write to Supporter Care, 44 Moorfields, London EC2Y 9AL. If you are not happy" in \
        shown(client.get(f"/donate/{SLUG}").text)


def test_the_pages_print_the_scottish_number_and_the_participators_statement_with_the_charity_number(
        client, load_seed_variant):
    load_seed_variant(commercial_participator_statement="The Sun bears every cost of this appeal.")

    for url in (f"/donate/{SLUG}", f"/transparency/{SLUG}", f"/widget/{SLUG}"):
        page = shown(client.get(url).text)
        assert "Donations go to British Red Cross, registered charity 220949, Scottish charity SC037738. " \
               "The Sun bears every cost of this appeal." in page, url
