"""The donation page, its JSON API and the Gift Aid page, through HTTP (the card processor is a fake)."""

from __future__ import annotations

import re

import pytest

from everypenny.domain.donation import DonationStatus
from everypenny.service_layer import links

SLUG = "sun-ukraine-fund"
PUBLIC_URL = "http://testserver"


def test_the_api_starts_a_donation_and_returns_its_id_and_checkout_url(client, seed_appeal, fake_gateway):
    response = client.post(f"/api/v1/appeals/{SLUG}/donations", json={
        "amount_pence": 1000, "email": "reader@example.org", "marketing_consent": False,
        "gift_aid": {"first_name": "A", "last_name": "Reader", "house": "Flat 2, 7", "postcode": "m1 1ae",
                     "scope": "past_and_future"}})

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"EP-[0-9A-Z]{10}", body["id"])
    assert body["checkout_url"] == f"https://checkout.example/cs_test_{body['id']}"
    assert (body["status"], body["amount_pence"], body["currency"]) == ("pending", 1000, "GBP")


def test_api_validation_errors_are_422_with_the_field_and_reason(client, seed_appeal, fake_gateway):
    response = client.post(f"/api/v1/appeals/{SLUG}/donations", json={
        "amount_pence": 250,
        "gift_aid": {"first_name": "A", "last_name": "Reader", "house": "", "postcode": "AZ1 1AA"}})

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"field": "amount_pence", "reason": "the smallest donation we can take online is £3"},
        {"field": "gift_aid.house", "reason": "enter your house name or number"},
        {"field": "gift_aid.postcode",
         "reason": "enter a UK postcode, such as SW1A 1AA, or X if you live outside the UK"},
    ]
    assert fake_gateway.requests == []


def test_the_api_refuses_a_declaration_hmrc_would_refuse_and_takes_a_latin_spelling(client, platform, seed_appeal,
                                                                                    fake_gateway):
    cyrillic = {"title": "Dr.", "first_name": "Тарас", "last_name": "Шевченко", "house": "Flat 2, 7",
                "postcode": "m1 1ae"}
    refused = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 1000, "gift_aid": cyrillic})
    spelled = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 1000, "gift_aid": cyrillic | {
        "first_name_latin": "Taras", "last_name_latin": "Shevchenko"}})

    assert refused.status_code == 422
    assert [problem["field"] for problem in refused.json()["detail"]] == ["gift_aid.first_name_latin",
                                                                          "gift_aid.last_name_latin"]
    assert "in Latin letters" in refused.json()["detail"][0]["reason"]
    assert spelled.status_code == 201
    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(spelled.json()["id"])
    assert (declaration.title, declaration.first_name, declaration.first_name_latin, declaration.last_name_latin) == (
        "Dr", "Тарас", "Taras", "Shevchenko")


def test_api_type_errors_and_unknown_fields_are_422_too(client, seed_appeal, fake_gateway):
    wrong_type = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": "five pounds"})
    unknown = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500, "card_number": "4242"})
    not_json = client.post(f"/api/v1/appeals/{SLUG}/donations", content=b"{",
                           headers={"Content-Type": "application/json"})

    assert [r.status_code for r in (wrong_type, unknown, not_json)] == [422, 422, 422]
    assert wrong_type.json()["detail"][0]["field"] == "amount_pence"
    assert unknown.json()["detail"][0]["field"] == "card_number"
    assert not_json.json()["detail"] == [{"field": "body", "reason": "is not valid JSON"}]


def test_api_unknown_appeal_is_404_and_the_limit_is_429(client, platform, seed_appeal, fake_gateway):
    assert client.post("/api/v1/appeals/no-such-appeal/donations", json={"amount_pence": 500}).status_code == 404

    platform.settings.donation_limit_per_email = 1
    attempt = {"amount_pence": 500, "email": "card@tester.example"}
    assert client.post(f"/api/v1/appeals/{SLUG}/donations", json=attempt).status_code == 201
    limited = client.post(f"/api/v1/appeals/{SLUG}/donations", json=attempt)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_api_is_in_the_openapi_document(client):
    assert "/api/v1/appeals/{slug}/donations" in client.get("/openapi.json").json()["paths"]


def test_the_page_shows_the_appeal_and_its_choices_with_consent_unticked(client, seed_appeal):
    page = client.get(f"/donate/{SLUG}")

    assert page.status_code == 200
    html = page.text
    for expected in ("The Sun&#39;s Ukraine Fund", "British Red Cross", "Ukraine Crisis Appeal", "£3", "£5", "£10",
                     "£25", "at least £3", 'for="email"', "I am a UK taxpayer"):
        assert expected in html
    consent = re.search(r'<input[^>]*id="marketing_consent"[^>]*>', html).group(0)
    assert "checked" not in consent


def test_a_text_to_link_link_prefills_the_amount_and_shows_the_phone_masked(client, platform, seed_appeal):
    url = links.prefilled_donation_url("http://testserver", platform.settings.secret_key, SLUG, 500, "+447700900123")

    html = client.get(url.removeprefix("http://testserver")).text

    assert re.search(r'<input[^>]*value="500"[^>]*checked', html)
    assert "Donating from the text sent to 07•••••123." in html
    assert "7700900123" not in html


def test_posting_the_form_redirects_to_the_hosted_checkout(client, seed_appeal, fake_gateway):
    response = client.post(f"/donate/{SLUG}", data={"amount": "other", "other_amount": "7.50", "email": ""},
                           follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("https://checkout.example/cs_test_EP-")
    assert fake_gateway.requests[0].amount_pence == 750


def test_the_form_refuses_less_than_the_minimum_with_a_clear_message(client, seed_appeal, fake_gateway):
    response = client.post(f"/donate/{SLUG}", data={"amount": "other", "other_amount": "2.99"})

    assert response.status_code == 422
    assert "The smallest donation we can take online is £3" in response.text
    assert 'value="2.99"' in response.text  # what the donor typed is kept
    assert fake_gateway.requests == []


def test_a_filled_honeypot_is_quietly_refused(client, seed_appeal, fake_gateway):
    response = client.post(f"/donate/{SLUG}", data={"amount": "500", "website": "http://spam.example"})

    assert response.status_code == 400
    assert "We could not start your donation" in response.text
    assert fake_gateway.requests == []


def _return_path(url: str) -> str:
    """Where Stripe sends the donor back to, as a path on our site."""
    return url.removeprefix(PUBLIC_URL)


def test_the_thank_you_page_says_honestly_that_payment_is_pending(client, platform, seed_appeal, fake_gateway):
    reference = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500}).json()["id"]
    [request] = fake_gateway.requests

    page = client.get(_return_path(request.success_url))

    assert page.status_code == 200
    assert "pending until the card processor confirms it" in page.text
    assert reference in page.text
    cancelled = client.get(_return_path(request.cancel_url))
    assert cancelled.status_code == 200 and "You have not been charged" in cancelled.text
    assert client.get(f"/donate/{SLUG}/thank-you/EP-NOTAREALONE").status_code == 404


def test_the_gift_aid_link_adds_a_declaration_with_the_wording_shown(client, platform, seed_appeal, fake_gateway):
    reference = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500}).json()["id"]
    path = links.gift_aid_url("", platform.settings.secret_key, reference)

    form = client.get(path)
    assert form.status_code == 200
    shown = re.search(r'<label for="scope-past_and_future">(.*?)</label>', form.text, re.S).group(1)
    invalid = client.post(path, data={"first_name": "Jo", "last_name": "", "house": "3", "postcode": "SW1A 1AA"})
    done = client.post(path, data={"first_name": "Jo", "last_name": "Bloggs", "house": "3", "postcode": "sw1a1aa",
                                   "scope": "past_and_future"})
    again = client.post(path, data={"first_name": "Jo", "last_name": "Bloggs", "house": "3", "postcode": "SW1A 1AA"})

    assert invalid.status_code == 422 and "Enter your surname" in invalid.text
    assert done.status_code == 200 and "Thank you for adding Gift Aid" in done.text
    assert again.status_code == 409
    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(reference)
    assert declaration.wording == shown.strip().replace("&#39;", "'")
    assert declaration.postcode == "SW1A 1AA"


def test_the_gift_aid_form_asks_for_a_latin_spelling_of_a_name_hmrc_cannot_take(client, platform, seed_appeal,
                                                                                fake_gateway):
    reference = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500}).json()["id"]
    path = links.gift_aid_url("", platform.settings.secret_key, reference)
    answers = {"first_name": "Тарас", "last_name": "Шевченко", "house": "Flat 12, The Old Rectory, 4 Long Church Lane",
               "postcode": "SW1A 1AA"}

    form = client.get(path)
    refused = client.post(path, data=answers)
    done = client.post(path, data=answers | {"first_name_latin": "Taras", "last_name_latin": "Shevchenko",
                                             "house": "Flat 12"})

    assert 'name="first_name_latin"' in form.text and 'name="last_name_latin"' in form.text
    assert refused.status_code == 422
    assert "please also give your first name in Latin letters" in refused.text
    assert "at most 40 characters for a house name or number" in refused.text
    assert 'value="Тарас"' in refused.text  # what the donor typed is kept
    assert done.status_code == 200 and "Thank you for adding Gift Aid" in done.text
    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(reference)
    assert (declaration.schedule_first_name, declaration.schedule_last_name, declaration.house) == (
        "Taras", "Shevchenko", "Flat 12")


def test_a_forged_gift_aid_link_is_refused(client, seed_appeal):
    response = client.get("/gift-aid/not-a-real-token")

    assert response.status_code == 404
    assert "This Gift Aid link is not valid: please use the link from your receipt" in response.text


def test_a_donation_that_failed_cannot_take_gift_aid(client, platform, seed_appeal, fake_gateway):
    fake_gateway.fail = True
    assert client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500}).status_code == 503
    with platform.uow() as uow:
        [failed] = uow.donations.latest(SLUG)
    assert failed.status is DonationStatus.FAILED

    path = links.gift_aid_url("", platform.settings.secret_key, failed.reference)
    response = client.post(path, data={"first_name": "Jo", "last_name": "Bloggs", "house": "3", "postcode": "SW1A 1AA"})

    assert response.status_code == 409
    assert "did not go through" in response.text


def test_after_a_declined_card_the_pages_keep_the_checkout_open_to_another_card(client, platform, seed_appeal,
                                                                                fake_gateway, stripe_event):
    from everypenny.adapters.payments.stripe_events import read_event
    from everypenny.service_layer.online_donations import apply_stripe_event

    reference = client.post(f"/api/v1/appeals/{SLUG}/donations", json={"amount_pence": 500}).json()["id"]
    declined = stripe_event("payment_intent.payment_failed", {
        "id": "pi_1", "metadata": {"reference": reference},
        "last_payment_error": {"message": "Your card was declined."}})
    with platform.uow() as uow:
        apply_stripe_event(uow, read_event(declined))
        uow.commit()

    # Stripe sends the donor to the thank-you page only once another card has succeeded.
    [request] = fake_gateway.requests
    assert "pending until the card processor confirms it" in client.get(_return_path(request.success_url)).text
    cancelled = client.get(_return_path(request.cancel_url)).text
    assert f'href="https://checkout.example/cs_test_{reference}"' in cancelled


def test_the_chosen_amount_is_charged_and_a_leftover_other_amount_is_ignored(client, seed_appeal, fake_gateway):
    tile = client.post(f"/donate/{SLUG}", data={"amount": "1000", "other_amount": "50"}, follow_redirects=False)
    typed_without_a_choice = client.post(f"/donate/{SLUG}", data={"other_amount": "£12"}, follow_redirects=False)

    assert (tile.status_code, typed_without_a_choice.status_code) == (303, 303)
    assert [r.amount_pence for r in fake_gateway.requests] == [1000, 1200]


@pytest.mark.parametrize(("form", "message"), [
    ({"amount": "other", "other_amount": "five"}, "Enter an amount in pounds, such as 7 or 7.50"),
    ({"amount": "other", "other_amount": " "}, "Type the amount you would like to give, or choose one of ours"),
    ({}, "Choose an amount or enter your own")])
def test_an_amount_that_cannot_be_read_is_explained(client, seed_appeal, fake_gateway, form, message):
    response = client.post(f"/donate/{SLUG}", data=form)

    assert response.status_code == 422 and message in response.text
    assert fake_gateway.requests == []


def test_messages_keep_their_capitals(client, seed_appeal, fake_gateway):
    response = client.post(f"/donate/{SLUG}", data={"amount": "500", "gift_aid": "yes", "first_name": "Jo",
                                                     "last_name": "Bloggs", "house": "3", "postcode": "nowhere"})

    assert response.status_code == 422
    assert "Enter a UK postcode, such as SW1A 1AA" in response.text


def test_the_donation_page_refuses_gift_aid_details_hmrc_would_refuse_before_any_payment(client, seed_appeal,
                                                                                        fake_gateway):
    response = client.post(f"/donate/{SLUG}", data={"amount": "500", "gift_aid": "yes", "title": "Doctor",
                                                     "first_name": "Тарас", "last_name": "Shevchenko", "house": "3",
                                                     "postcode": "AZ1 1AA"})

    assert response.status_code == 422
    for message in ("A title has 2 to 4 letters, such as Mr, Mrs, Ms, Mx, Dr or Prof",
                    "please also give your first name in Latin letters",
                    "Enter a UK postcode, such as SW1A 1AA, or X if you live outside the UK"):
        assert message in response.text
    assert fake_gateway.requests == []


def test_a_closed_appeals_page_thanks_donors_with_the_final_total_and_takes_nothing(
        client, platform, load_seed_variant, fake_gateway):
    from tests.builders import DonationBuilder

    load_seed_variant()
    DonationBuilder(platform).text(1000)
    load_seed_variant(status="closed")

    page = client.get(f"/donate/{SLUG}")
    posted = client.post(f"/donate/{SLUG}", data={"amount": "500"})

    assert page.status_code == 410
    assert "Thank you: £10 was raised for British Red Cross from 1 donation." in page.text
    assert "<form" not in page.text and 'class="donate-link"' not in page.text
    assert posted.status_code == 410 and fake_gateway.requests == []
