"""The public totaliser a newspaper embeds: cacheable totals with ETag and CORS, and the widget."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from everypenny.config import Settings
from everypenny.entrypoints.web.app import create_app
from tests.builders import DonationBuilder

TOTALS = "/api/v1/appeals/sun-ukraine-fund/totals"
NEWSPAPER = "https://www.thesun.co.uk"


@pytest.fixture
def newspaper_client(platform, seed_appeal):
    platform.settings = Settings(database_url=platform.settings.database_url, public_url="https://give.example",
                                 totaliser_origins=f"{NEWSPAPER}, https://www.thescottishsun.co.uk")
    with TestClient(create_app(platform)) as client:
        yield client


def test_totals_are_cacheable_briefly_and_carry_an_etag(client, seed_appeal):
    response = client.get(TOTALS)

    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.headers["ETag"].startswith('W/"')
    assert response.json()["raised_pence"] == 0


def test_an_unchanged_total_is_a_304_and_a_new_donation_changes_the_etag(client, platform, seed_appeal):
    etag = client.get(TOTALS).headers["ETag"]

    unchanged = client.get(TOTALS, headers={"If-None-Match": etag})
    DonationBuilder(platform).text(500)
    changed = client.get(TOTALS, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["ETag"] == etag
    assert changed.status_code == 200 and changed.json()["raised_pence"] == 500
    assert changed.headers["ETag"] != etag


def test_a_configured_newspaper_may_read_the_totals_from_its_pages(newspaper_client):
    response = newspaper_client.get(TOTALS, headers={"Origin": NEWSPAPER})

    assert response.headers["Access-Control-Allow-Origin"] == NEWSPAPER
    assert "Origin" in response.headers["Vary"]


def test_other_sites_get_no_cors_grant(newspaper_client):
    response = newspaper_client.get(TOTALS, headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_no_site_gets_a_cors_grant_until_origins_are_configured(client, seed_appeal):
    assert "Access-Control-Allow-Origin" not in client.get(TOTALS, headers={"Origin": NEWSPAPER}).headers


def test_a_preflight_from_the_newspaper_is_answered(newspaper_client):
    response = newspaper_client.options(TOTALS, headers={
        "Origin": NEWSPAPER, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "If-None-Match"})

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == NEWSPAPER
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_an_unknown_appeals_totals_are_not_cached(client, seed_appeal):
    response = client.get("/api/v1/appeals/no-such-appeal/totals")
    assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"


def test_the_widget_shows_the_amount_raised_and_may_be_framed_by_the_newspaper(newspaper_client, platform):
    DonationBuilder(platform).text(1000)
    widget = newspaper_client.get("/widget/sun-ukraine-fund")

    assert widget.status_code == 200
    assert '<span class="raised" id="raised">£10</span>' in widget.text
    assert f"frame-ancestors https://www.thescottishsun.co.uk {NEWSPAPER}" in widget.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in widget.headers
    assert "Text SUN£10 to 70141" in widget.text


def test_the_widget_shows_progress_to_the_target(platform, seed_appeal):
    from dataclasses import replace

    with platform.uow() as uow:
        stored = uow.appeals.get("sun-ukraine-fund")
        uow.appeals.save(replace(stored.appeal, target_pence=4000), {**stored.definition, "target_pence": 4000},
                         "with-target")
        uow.commit()
    DonationBuilder(platform).text(1000)

    with TestClient(create_app(platform)) as client:
        widget = client.get("/widget/sun-ukraine-fund").text

    assert 'aria-valuenow="25"' in widget and "of our £40 target" in widget


def test_the_embed_script_inserts_an_iframe_of_the_widget(newspaper_client):
    script = newspaper_client.get("/widget/sun-ukraine-fund.js")

    assert script.headers["content-type"].startswith("text/javascript")
    assert '"https://give.example/widget/sun-ukraine-fund"' in script.text
    assert "createElement('iframe')" in script.text


def test_an_unknown_appeals_widget_is_a_404(client, seed_appeal):
    assert client.get("/widget/no-such-appeal").status_code == 404
    assert client.get("/widget/no-such-appeal.js").status_code == 404


def test_the_widget_links_to_the_donation_page_and_offers_tap_to_text(client, seed_appeal):
    widget = client.get("/widget/sun-ukraine-fund").text

    assert 'href="/donate/sun-ukraine-fund" target="_blank" rel="noopener">Donate' in widget
    assert 'href="sms:70141?body=SUN10">Text SUN10 to 70141</a>' in widget


def test_a_closed_appeals_widget_says_so_and_offers_no_way_to_give(client, load_seed_variant):
    load_seed_variant(status="closed")

    widget = client.get("/widget/sun-ukraine-fund").text
    totals = client.get(TOTALS).json()

    assert totals["status"] == "closed"
    assert '<span id="closed">This appeal has closed: thank you.</span>' in widget
    assert widget.count("data-while-live hidden") == 3  # the text line, its small print and the buttons


def test_the_widget_page_carries_an_etag_and_an_unchanged_one_is_a_304(client, platform, seed_appeal):
    first = client.get("/widget/sun-ukraine-fund")
    unchanged = client.get("/widget/sun-ukraine-fund", headers={"If-None-Match": first.headers["ETag"]})
    DonationBuilder(platform).text(500)
    changed = client.get("/widget/sun-ukraine-fund", headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert changed.status_code == 200 and "£5" in changed.text
    assert "frame-ancestors" in changed.headers["Content-Security-Policy"]


def test_public_responses_are_compressed_for_clients_that_accept_gzip(client, seed_appeal):
    widget = client.get("/widget/sun-ukraine-fund", headers={"Accept-Encoding": "gzip"})
    page = client.get("/donate/sun-ukraine-fund", headers={"Accept-Encoding": "gzip"})

    assert widget.headers["Content-Encoding"] == page.headers["Content-Encoding"] == "gzip"
    assert "Vary" in widget.headers and "Accept-Encoding" in widget.headers["Vary"]

