"""A national appeal's texts: each keyword is one media partner's call to action, and the totals say so."""

from __future__ import annotations

import re
from urllib.parse import urlparse
from xml.etree import ElementTree

import pytest
from sms_harness import TextGiving, connect
from tests.conftest import ROOT

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.service_layer import links
from everypenny.service_layer.appeals import load_appeal

EXAMPLE = ROOT / "appeals" / "national-appeal-example.toml"
SLUG = "national-appeal-example"
EE = "+447700900001"
EE_TOO = "+447700900002"
DONOR = "+447700900042"


@pytest.fixture
def national(platform, client) -> TextGiving:
    appeal, definition = load_appeal_file(EXAMPLE)
    load_appeal(platform.uow(), appeal, definition, str(EXAMPLE))
    return TextGiving(platform, client, connect(platform, client))


def test_each_gift_belongs_to_the_partner_whose_keyword_was_texted(national, client):
    national.text(EE, "FLOOD10", to="70999")
    national.text(EE, "COURIER5", to="70999")
    national.text(EE_TOO, "FLOOD20", to="70999")

    with national.platform.uow() as uow:
        gifts = uow.donations.latest(SLUG)
    assert sorted((d.keyword, d.partner) for d in gifts) == [
        ("COURIER", "daily-courier"), ("FLOOD", "northwind-tv"), ("FLOOD", "northwind-tv")]
    totals = client.get(f"/api/v1/appeals/{SLUG}/totals").json()
    assert totals["raised_pence"] == 3500
    assert totals["partners"] == [
        {"slug": "northwind-tv", "name": "Northwind Television", "raised_pence": 3000, "donors": 2},
        {"slug": "daily-courier", "name": "The Daily Courier", "raised_pence": 500, "donors": 1},
        {"slug": "evening-lantern", "name": "The Evening Lantern", "raised_pence": 0, "donors": 0}]


def test_a_single_partner_appeal_reports_its_one_partner(texts, client):
    texts.text(EE, "SUN5")
    texts.text(EE_TOO, "SUN10")

    assert texts.totals()["partners"] == [
        {"slug": "the-sun", "name": "The Sun", "raised_pence": 1500, "donors": 2}]
    assert {d.partner for d in texts.donations()} == {"the-sun"}


def test_text_to_link_sends_the_texter_to_the_keywords_partners_page_and_the_gift_counts_for_it(
        national, client, fake_gateway):
    response = national.twilio(DONOR, "LANTERN5", sid="SM" + "4" * 32, to="+447700900999")
    parts = [message.text for message in ElementTree.fromstring(response.text).iter("Message")]
    assert f"http://testserver/donate/{SLUG}/evening-lantern?amount_pence=" in "".join(parts).replace(" ", "")

    link = urlparse(links.prefilled_donation_url("http://testserver", national.platform.settings.secret_key, SLUG,
                                                 500, DONOR, "evening-lantern"))
    page = client.get(f"{link.path}?{link.query}")
    form_from = re.search(r'name="from" value="([^"]+)"', page.text).group(1)
    client.post(link.path, data={"amount": "500", "email": "", "from": form_from}, follow_redirects=False)

    with national.platform.uow() as uow:
        [gift] = uow.donations.latest(SLUG)
    assert (gift.channel.value, gift.partner, gift.phone) == ("text_to_link", "evening-lantern", DONOR)
