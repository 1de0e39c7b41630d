"""A media partner's own donation page for a national appeal: /donate/{appeal}/{partner}."""

from __future__ import annotations

import pytest

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.service_layer.appeals import load_appeal
from tests.conftest import ROOT

EXAMPLE = ROOT / "appeals" / "national-appeal-example.toml"
SLUG = "national-appeal-example"


@pytest.fixture
def national(platform):
    appeal, definition = load_appeal_file(EXAMPLE)
    load_appeal(platform.uow(), appeal, definition, str(EXAMPLE))
    return appeal


def test_a_partners_page_carries_its_name_and_look_and_posts_back_to_itself(client, national):
    page = client.get(f"/donate/{SLUG}/evening-lantern")

    assert page.status_code == 200
    assert "The Evening Lantern · Northern Floods Emergency Appeal" in page.text
    assert "--masthead: #5a2d0c" in page.text
    assert f'action="/donate/{SLUG}/evening-lantern"' in page.text
    own = client.get(f"/donate/{SLUG}")
    assert f'action="/donate/{SLUG}"' in own.text and "Northwind Television ·" in own.text


def test_a_gift_on_a_partners_page_is_that_partners_and_on_the_appeals_own_page_nobodys(client, platform, national,
                                                                                       fake_gateway):
    for path in (f"/donate/{SLUG}/daily-courier", f"/donate/{SLUG}"):
        response = client.post(path, data={"amount": "1000", "email": ""}, follow_redirects=False)
        assert response.status_code == 303

    with platform.uow() as uow:
        gifts = uow.donations.latest(SLUG)
    assert sorted((d.partner or "") for d in gifts) == ["", "daily-courier"]


def test_an_unknown_partner_is_a_clear_404_and_nothing_is_stored(client, platform, national, fake_gateway):
    page = client.get(f"/donate/{SLUG}/daily-bugle")
    posted = client.post(f"/donate/{SLUG}/daily-bugle", data={"amount": "1000", "email": ""})

    assert page.status_code == posted.status_code == 404
    assert "Northern Floods Emergency Appeal has no media partner &#39;daily-bugle&#39;: please check the link." \
        in page.text
    assert fake_gateway.requests == []
    with platform.uow() as uow:
        assert uow.donations.latest(SLUG) == []
