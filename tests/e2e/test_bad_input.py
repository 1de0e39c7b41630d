"""Input that used to crash the app with a 500: each is now a 4xx that says what is wrong, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from everypenny.adapters.db.schema import donations, gift_aid_declarations, inbox_messages
from everypenny.entrypoints.web.sms_webhooks import TWILIO_PATH
from tests.e2e.desk_helpers import log_in, quick_passwords, session_csrf
from tests.e2e.test_stripe_webhook import signature

DONATIONS = "/api/v1/appeals/sun-ukraine-fund/donations"
GIFT_AID = {"first_name": "Ann", "last_name": "Donor", "house": "1", "postcode": "SW1A 1AA"}


@pytest.fixture
def stored(platform):
    """How many rows each table a refused request could have written holds."""

    def count() -> dict[str, int]:
        with platform.engine.connect() as connection:
            return {table.name: connection.scalar(select(func.count()).select_from(table))
                    for table in (donations, gift_aid_declarations, inbox_messages)}

    return count


def signed_stripe(client, platform, payload: bytes):
    return client.post("/webhooks/stripe", content=payload, headers={
        "stripe-signature": signature(payload, platform.settings.stripe_webhook_secret)})


@pytest.mark.parametrize("header", ["é", "t=1,v1=é"])
@pytest.mark.parametrize(("path", "signature_header"), [(TWILIO_PATH, "X-Twilio-Signature"),
                                                        ("/webhooks/stripe", "stripe-signature")])
def test_a_non_ascii_signature_header_is_refused(client, seed_appeal, stored, path, signature_header, header):
    response = client.post(path, content=b"From=%2B447700900001", headers={
        signature_header: header.encode("latin-1"), "content-type": "application/x-www-form-urlencoded"})

    assert response.status_code in (400, 403)
    assert stored()["inbox_messages"] == 0


@pytest.mark.parametrize("raw_email", ["ann\\u0000@example.org", "ann\\ud800@example.org"])
def test_an_email_with_a_nul_or_lone_surrogate_is_a_422(client, fake_gateway, seed_appeal, stored, raw_email):
    response = client.post(DONATIONS, content=b'{"amount_pence": 500, "email": "%s"}' % raw_email.encode())

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "email"
    assert stored()["donations"] == 0


@pytest.mark.parametrize("raw_name", ["A\\u0000nn", "\\udc00"])
def test_a_gift_aid_name_with_a_nul_or_lone_surrogate_is_a_422(client, fake_gateway, seed_appeal, stored, raw_name):
    gift_aid = json.dumps(GIFT_AID).replace('"Ann"', f'"{raw_name}"')
    response = client.post(DONATIONS, content=f'{{"amount_pence": 500, "gift_aid": {gift_aid}}}'.encode())

    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "gift_aid.first_name",
                                          "reason": "use letters, numbers and punctuation only"}]
    assert stored() == {"donations": 0, "gift_aid_declarations": 0, "inbox_messages": 0}


def test_the_donation_form_refuses_a_nul_in_the_email_on_the_page(client, fake_gateway, seed_appeal, stored):
    response = client.post("/donate/sun-ukraine-fund", data={"amount": "500", "email": "ann\x00@example.org"})

    assert response.status_code == 422
    assert "Enter an email address like name@example.com" in response.text
    assert stored()["donations"] == 0


@pytest.mark.usefixtures(quick_passwords.__name__)
def test_a_desk_login_with_a_nul_in_the_email_is_a_wrong_login(client, seed_appeal):
    assert log_in(client, "admin\x00@desk.example.org").status_code == 401


@pytest.mark.parametrize(("event", "reason"), [
    ([1, 2], "not a JSON object"),
    ({"id": 5, "type": "checkout.session.completed", "data": {"object": {}}}, "id is not a Stripe event id"),
    ({"id": "evt_" + "a" * 300, "type": "checkout.session.completed", "data": {"object": {}}},
     "id is not a Stripe event id"),
    ({"id": "evt_1", "type": "checkout.session.completed", "data": {}}, "data.object is missing"),
])
def test_a_signed_body_that_is_not_a_stripe_event_is_a_400(client, platform, seed_appeal, stored, event, reason):
    response = signed_stripe(client, platform, json.dumps(event).encode())

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert stored()["inbox_messages"] == 0


def test_a_twilio_text_from_a_25_digit_number_is_a_400(client, platform, seed_appeal, stored):
    params = {"MessageSid": "SM" + "1" * 32, "From": "+" + "4" * 25, "To": "+447700900141", "Body": "SUN5"}
    url = platform.settings.public_url + "/webhooks/twilio/sms"
    signed = RequestValidator(platform.settings.twilio_auth_token).compute_signature(url, params)

    response = client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signed})

    assert response.status_code == 400
    assert "From not in Twilio's format" in response.text
    assert stored()["inbox_messages"] == 0


@pytest.mark.parametrize(("password", "reason"), [
    ("aaaaaaaaaaaa", 'repeats like "aaa" are easy to guess'),
    ("password1234", "this is a very common password"),
    ("qwertyuiop12", "this is similar to a commonly used password"),
])
def test_a_desk_password_anyone_could_guess_is_refused_with_the_reason(as_role, password, reason):
    admin = as_role("admin")

    refused = admin.post("/admin/users", data={"email": "new@desk.example.org", "role": "viewer",
                                               "password": password, "csrf_token": session_csrf(admin)})

    assert refused.status_code == 400
    assert f"this password is too easy to guess ({reason})".replace('"', "&#34;") in refused.text
    with TestClient(admin.app) as newcomer:
        assert log_in(newcomer, "new@desk.example.org", password).status_code == 401
