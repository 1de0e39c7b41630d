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


SMTP_PASSWORD = "hun/ter#2?x@y"  # a URL parser takes these for the path, fragment, query and host
SMTP_PASSWORD_PARTS = ("hun", "ter#2", "?x@y", "x@y")


def paid_donation_with_receipt(client, platform, stripe_event) -> str:
    """A donation with an email, paid at Stripe: its receipt is queued for the outbox."""
    response = client.post(DONATIONS, json={"amount_pence": 500, "email": "donor@example.org"})
    reference = response.json()["id"]
    event = stripe_event("checkout.session.completed", {
        "id": f"cs_test_{reference}", "object": "checkout.session", "payment_status": "paid", "status": "complete",
        "amount_total": 500, "payment_intent": f"pi_{reference}", "metadata": {"reference": reference}})
    assert signed_stripe(client, platform, json.dumps(event).encode()).status_code == 200
    return reference


def test_an_smtp_password_with_url_characters_logs_in_as_typed(client, platform, fake_gateway, seed_appeal,
                                                              stripe_event):
    from tests.conftest import SmtpSink

    with SmtpSink(login_required=True) as sink:
        host_and_port = sink.url.removeprefix("smtp://")
        platform.settings.smtp_url = f"smtp://receipts:{SMTP_PASSWORD}@{host_and_port}"
        paid_donation_with_receipt(client, platform, stripe_event)

        platform.worker().drain()

    assert sink.logins == [("receipts", SMTP_PASSWORD)]
    assert len(sink.messages) == 1


def test_a_percent_encoded_smtp_password_is_decoded(client, platform, fake_gateway, seed_appeal, stripe_event):
    from tests.conftest import SmtpSink

    with SmtpSink(login_required=True) as sink:
        platform.settings.smtp_url = f"smtp://receipts%40charity:100%25%2Fsure@{sink.url.removeprefix('smtp://')}"
        paid_donation_with_receipt(client, platform, stripe_event)

        platform.worker().drain()

    assert sink.logins == [("receipts@charity", "100%/sure")]


@pytest.mark.usefixtures(quick_passwords.__name__)
def test_a_wrong_smtp_url_never_shows_its_password_in_the_log_the_stored_error_or_the_desk(
        client, platform, fake_gateway, seed_appeal, stripe_event, as_role, capsys):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from everypenny.adapters.db.schema import outbox_tasks
    from everypenny.logs import configure_logging

    configure_logging("INFO")
    platform.settings.smtp_url = f"smtpx://receipts:{SMTP_PASSWORD}@mail.example:587"  # a scheme nobody knows
    paid_donation_with_receipt(client, platform, stripe_event)
    worker = platform.worker(max_attempts=2)
    for _ in range(3):  # the Stripe event, then the receipt twice: parked
        with platform.engine.begin() as connection:  # every retry due at once
            connection.execute(update(outbox_tasks).values(available_at=datetime.now(UTC) - timedelta(seconds=1)))
        worker.run_once()

    with platform.uow() as uow:
        [parked] = uow.outbox.parked()
    desk_page = as_role("admin").get("/admin/tasks").text
    logged = capsys.readouterr().err
    masked = "smtpx://receipts:***@mail.example:587"
    assert masked in parked.last_error and masked in desk_page and masked in logged
    for shown in (parked.last_error, desk_page, logged):
        assert not any(part in shown for part in SMTP_PASSWORD_PARTS)


SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


def aggregator_callback(client, platform, kind: str, body: bytes):
    return client.post(f"/webhooks/aggregator/{platform.settings.aggregator_callback_token}/{kind}", content=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


@pytest.mark.parametrize("path", ["/donate/%00", "/transparency/%00", "/widget/%00", "/widget/%00.js",
                                  "/api/v1/appeals/%00/totals", "/donate/sun-ukraine-fund?amount_pence=5%00"])
def test_a_nul_in_the_address_is_a_400_before_any_lookup(client, seed_appeal, path):
    response = client.get(path)

    assert response.status_code == 400
    assert response.text == "The address holds a NUL character (%00), which no address here has."
    assert all(header in response.headers for header in SECURITY_HEADERS)


def test_a_nul_in_a_desk_address_is_a_400_too(as_role):
    assert as_role("viewer").get("/admin/donations/%00").status_code == 400


def test_a_superscript_digit_as_the_amount_is_a_422_on_the_page(client, fake_gateway, seed_appeal, stored):
    response = client.post("/donate/sun-ukraine-fund", data={"amount": "²", "email": "ann@example.org"})

    assert response.status_code == 422
    assert "Choose an amount or enter your own" in response.text
    assert stored()["donations"] == 0


def test_a_json_body_nested_a_thousand_deep_is_a_422(client, fake_gateway, seed_appeal, stored):
    response = client.post(DONATIONS, content=b'{"amount_pence": ' + b"[" * 1000 + b"]" * 1000 + b"}")

    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "body", "reason": "is nested too deeply"}]
    assert stored()["donations"] == 0


def test_a_file_posted_to_the_twilio_webhook_is_a_415(client, platform, seed_appeal, stored):
    response = client.post(TWILIO_PATH, data={"From": "+447700900001"}, files={"Body": ("a.txt", b"SUN5")},
                           headers={"X-Twilio-Signature": "x"})

    assert response.status_code == 415
    assert "Twilio posts application/x-www-form-urlencoded" in response.text
    assert stored()["inbox_messages"] == 0


@pytest.mark.parametrize(("kind", "body", "reason"), [
    ("charge-report", b"REQUESTID=a%00b&STATUSCODE=DELIVERED", "REQUESTID holds a NUL character"),
    ("delivery-report", b"GUID=g%00&STATUSCODE=DELIVERED", "GUID holds a NUL character"),
    ("mo", b"GUID=g1&MONUMBER=4477009%0000001&DESTINATION=70099&BODY=SUN5", "MONUMBER holds a NUL character"),
])
def test_an_aggregator_callback_with_a_nul_in_a_field_is_a_400(client, platform, seed_appeal, stored, kind, body,
                                                               reason):
    response = aggregator_callback(client, platform, kind, body)

    assert response.status_code == 400
    assert reason in response.text
    assert stored()["inbox_messages"] == 0


@pytest.mark.parametrize(("fields", "wrong"), [
    ("MONUMBER=447700900001x&DESTINATION=70099", "MONUMBER"),
    ("MONUMBER=%2B44%207700%20900001&DESTINATION=70099", "MONUMBER"),
    ("MONUMBER=4" + "4" * 15 + "&DESTINATION=70099", "MONUMBER"),
    ("MONUMBER=447700900001&DESTINATION=SUN", "DESTINATION"),
])
def test_an_mo_whose_number_is_not_e164_digits_is_a_400(client, platform, seed_appeal, stored, fields, wrong):
    response = aggregator_callback(client, platform, "mo", f"GUID=g1&{fields}&BODY=SUN5".encode())

    assert response.status_code == 400
    assert f"{wrong} not a phone number or shortcode (E.164 digits)" in response.text
    assert stored()["inbox_messages"] == 0


def test_more_headers_than_the_limit_is_a_431(client, platform):
    headers = {f"X-Extra-{n}": "1" for n in range(platform.settings.max_headers)}

    response = client.get("/healthz", headers=headers)

    assert response.status_code == 431
    assert "at most 100 headers" in response.text
    assert all(header in response.headers for header in SECURITY_HEADERS)


def test_headers_larger_than_the_limit_are_a_431(client, platform):
    response = client.get("/healthz", headers={"X-Big": "a" * platform.settings.max_header_bytes})

    assert response.status_code == 431


def test_a_500_carries_the_security_headers(platform, monkeypatch):
    from everypenny.entrypoints.web.app import create_app

    def broken_store():
        raise RuntimeError("the database went away")

    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        monkeypatch.setattr(platform, "uow", broken_store)
        response = client.get("/healthz")

    assert response.status_code == 500
    assert all(header in response.headers for header in SECURITY_HEADERS)


@pytest.mark.parametrize(("public_url", "hsts"), [("https://donate.example.org", "max-age=31536000"),
                                                  ("http://127.0.0.1:8000", None)])
def test_strict_transport_security_is_sent_with_an_https_public_url(platform, public_url, hsts):
    from everypenny.entrypoints.web.app import create_app

    platform.settings.public_url = public_url
    with TestClient(create_app(platform)) as client:
        for path in ("/healthz", "/donate/no-such-appeal", "/admin/login"):
            assert client.get(path).headers.get("strict-transport-security") == hsts
