"""Links that open a donor's own pages: only the donor's receipt link works, links expire, guessing is limited."""

from __future__ import annotations

import base64
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from everypenny.domain.appeal import Channel
from everypenny.service_layer import links

SLUG = "sun-ukraine-fund"
PHONE = "+447700900123"


def _start(client, email: str = "olena@example.org") -> str:
    response = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 2500, "email": email})
    assert response.status_code == 201
    return response.json()["id"]


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def _later(monkeypatch, days: int) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + days * 86400)


def test_the_thank_you_page_needs_the_donors_own_key_and_says_nothing_without_it(client, seed_appeal,
                                                                                   fake_gateway):
    reference = _start(client)
    other = _start(client, "someone@example.org")
    own_page = _path(fake_gateway.requests[0].success_url)
    others_key = parse_qs(urlparse(fake_gateway.requests[1].success_url).query)[links.RECEIPT_KEY_PARAM][0]

    by_reference = client.get(f"/donate/{SLUG}/thank-you/{reference}")
    with_anothers_key = client.get(f"/donate/{SLUG}/thank-you/{reference}?key={others_key}")
    cancelled_by_reference = client.get(f"/donate/{SLUG}/cancelled/{reference}")
    own = client.get(own_page)

    for refused in (by_reference, with_anothers_key, cancelled_by_reference):
        assert refused.status_code == 404
        assert "please use the link from your receipt" in refused.text
        for personal in ("£25", "o•••@e•••.org", "/gift-aid/", "checkout.example"):
            assert personal not in refused.text
    assert own.status_code == 200
    assert "£25" in own.text and "/gift-aid/" in own.text
    # The key is in the URL: it must not reach another site as a Referer, nor stay in a shared cache.
    assert (own.headers["Referrer-Policy"], own.headers["Cache-Control"]) == ("no-referrer", "no-store")
    assert other != reference


def test_the_thank_you_page_masks_the_receipts_address_as_the_desk_does(client, platform, record_donation):
    donation = record_donation(2500, email="jane.doe@example.org")
    key = links.receipt_key(platform.settings.secret_key, donation.reference)

    page = client.get(f"/donate/{SLUG}/thank-you/{donation.reference}?{links.RECEIPT_KEY_PARAM}={key}")

    assert page.status_code == 200
    assert "We are emailing your receipt to j•••@e•••.org." in page.text
    assert "jane.doe" not in page.text and "@example.org" not in page.text


def test_a_text_donation_gets_no_gift_aid_link_from_the_thank_you_page(client, record_donation):
    reference = record_donation(500, Channel.CARRIER_SMS, phone=PHONE).reference

    page = client.get(f"/donate/{SLUG}/thank-you/{reference}")

    assert page.status_code == 404
    assert "/gift-aid/" not in page.text


def test_gift_aid_links_expire_after_the_configured_lifetime(client, platform, seed_appeal, fake_gateway,
                                                             monkeypatch):
    reference = _start(client)
    path = links.gift_aid_url("", platform.settings.secret_key, reference)
    thank_you = _path(fake_gateway.requests[0].success_url)
    platform.settings.donor_link_days = 30

    _later(monkeypatch, 29)
    form = client.get(path)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    assert client.get(thank_you).status_code == 200
    _later(monkeypatch, 2)
    expired = client.get(path)
    declared = client.post(path, data={"first_name": "Jo", "last_name": "Bloggs", "house": "3",
                                       "postcode": "SW1A 1AA"})

    assert expired.status_code == declared.status_code == client.get(thank_you).status_code == 404
    assert "This Gift Aid link has expired" in expired.text
    with platform.uow() as uow:
        assert uow.gift_aid.for_donation(reference) is None


def test_guessing_links_is_rate_limited_per_client(client, platform, seed_appeal, fake_gateway):
    reference = _start(client)
    platform.settings.link_probes_per_ip = 3

    answers = [client.get(f"/gift-aid/guess-{n}").status_code for n in range(2)]
    answers += [client.get(f"/donate/{SLUG}/thank-you/{reference}?key=guess").status_code]
    limited = client.get("/gift-aid/guess-4")

    assert answers == [404, 404, 404]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "too many attempts" in limited.text
    assert client.get(_path(fake_gateway.requests[0].success_url)).status_code == 200  # the donor still gets in


def test_the_phone_in_a_text_to_link_link_is_encrypted_and_the_page_shows_it_masked(client, platform, seed_appeal):
    url = links.prefilled_donation_url("http://testserver", platform.settings.secret_key, SLUG, 500, PHONE)
    token = parse_qs(urlparse(url).query)["from"][0]
    again = links.prefilled_donation_url("http://testserver", platform.settings.secret_key, SLUG, 500, PHONE)

    page = client.get(_path(url))

    assert not re.search(r"7700\s?900\s?123", url)
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"7700900123" not in decoded  # not merely encoded: unreadable without the key
    assert again != url  # a fresh nonce each time: two links to one phone cannot be matched
    assert page.status_code == 200 and "07•••••123" in page.text and "7700900123" not in page.text


def test_a_text_to_link_token_expires_and_a_tampered_one_is_refused(platform, monkeypatch):
    url = links.prefilled_donation_url("http://testserver", platform.settings.secret_key, SLUG, 500, PHONE)
    token = parse_qs(urlparse(url).query)["from"][0]
    tampered = token[:-2] + ("BB" if token.endswith("AA") else "AA")
    lifetime = timedelta(days=30)

    assert links.phone_from_prefill_token(platform.settings.secret_key, token, lifetime) == PHONE
    for wrong in (tampered, "not base64!", ""):
        with pytest.raises(links.InvalidLink):
            links.phone_from_prefill_token(platform.settings.secret_key, wrong, lifetime)
    with pytest.raises(links.InvalidLink):
        links.phone_from_prefill_token("another-secret-key", token, lifetime)
    _later(monkeypatch, 31)
    with pytest.raises(links.ExpiredLink):
        links.phone_from_prefill_token(platform.settings.secret_key, token, lifetime)
