"""The web's own rules, without a server: how a typed amount is read, where a login leads, what closing an
appeal needs typed, and which HTTP answer each refusal of the service layer gets."""

import json
from datetime import UTC, datetime

import pytest

from everypenny.domain.appeal import AppealStatus, Channel
from everypenny.domain.appeal_lifecycle import TransitionRefused
from everypenny.domain.donation import Donation, DonationStatus
from everypenny.entrypoints.web.admin.appeals import closing_refused
from everypenny.entrypoints.web.admin.login import after_login
from everypenny.entrypoints.web.errors import problem_response, status_of
from everypenny.entrypoints.web.online import awaiting_success_event, chosen_amount
from everypenny.service_layer.appeals import UnknownAppeal
from everypenny.service_layer.online_donations import CheckoutUnavailable, DonationRefused, RateLimited
from everypenny.service_layer.online_ports import Checkout, CheckoutStatus
from everypenny.service_layer.views import DonorDonation


@pytest.mark.parametrize(("choice", "other", "pence"), [
    ("1000", "50", 1000),  # the chosen radio decides; a leftover box is ignored
    ("other", "7.5", 750), ("other", "£12", 1200), ("", "£ 7.50", 750),
])
def test_the_amount_is_the_chosen_radio_or_else_the_box(choice, other, pence):
    assert chosen_amount(choice, other) == (pence, None)


@pytest.mark.parametrize(("choice", "other", "problem"), [
    ("other", "  ", "type the amount you would like to give, or choose one of ours"),
    ("other", "7.505", "enter an amount in pounds, such as 7 or 7.50"),
    ("", "", "choose an amount or enter your own"),
])
def test_an_amount_that_cannot_be_read_says_what_to_do(choice, other, problem):
    assert chosen_amount(choice, other) == (None, problem)


@pytest.mark.parametrize(("wanted", "lands_on"), [
    ("/admin/appeals/sun-ukraine-fund", "/admin/appeals/sun-ukraine-fund"),
    ("/admin/login?next=/admin/users", "/admin/"),
    ("https://evil.example/admin", "/admin/"), ("", "/admin/"),
])
def test_a_login_returns_to_the_desk_page_asked_for_and_never_elsewhere(wanted, lands_on):
    assert after_login(wanted) == lands_on


def test_closing_an_appeal_needs_its_name_typed_whatever_the_case_spacing_or_apostrophe():
    assert closing_refused("Children’s  Fund", "children's fund") is None
    assert closing_refused("Children's Fund", " Childrens Fund ") == (
        "You typed 'Childrens Fund'. To close the appeal, type its name exactly as shown: Children's Fund. "
        "Nothing has changed.")
    assert closing_refused("Children's Fund", "").startswith("To close the appeal")


@pytest.mark.parametrize(("refusal", "status"), [
    (UnknownAppeal("nope"), 404), (TransitionRefused("fund", AppealStatus.CLOSED, AppealStatus.LIVE), 409),
    (DonationRefused({"amount_pence": "too little"}), 422), (RateLimited(120), 429),
    (CheckoutUnavailable("card payments are unavailable just now"), 503),
])
def test_each_refusal_has_one_status_wherever_it_is_met(refusal, status):
    assert status_of(refusal) == status
    assert problem_response(refusal).status_code == status


def test_the_api_answers_a_refusal_with_why_and_when_to_try_again():
    unknown, limited = problem_response(UnknownAppeal("nope")), problem_response(RateLimited(120))
    refused = problem_response(DonationRefused({"amount_pence": "too little", "email": "not an address"}))

    assert json.loads(unknown.body) == {"detail": "no appeal has the slug 'nope'"}
    assert limited.headers["Retry-After"] == "120"
    assert json.loads(refused.body) == {"detail": [{"field": "amount_pence", "reason": "too little"},
                                                   {"field": "email", "reason": "not an address"}]}


def _gift(status: DonationStatus, checkout: CheckoutStatus | None) -> DonorDonation:
    donation = Donation("EP-7K3M9Q2XDA", "sun-ukraine-fund", Channel.ONLINE, 500, "GBP", datetime.now(UTC),
                        status=status)
    paid_through = Checkout("cs_1", donation.reference, "https://checkout.example", checkout) if checkout else None
    return DonorDonation(donation, None, None, paid_through)


def test_the_thank_you_page_waits_for_stripe_after_a_declined_card_while_the_checkout_is_still_open():
    assert awaiting_success_event(_gift(DonationStatus.PENDING, CheckoutStatus.OPEN))
    assert awaiting_success_event(_gift(DonationStatus.FAILED, CheckoutStatus.FAILED))
    assert not awaiting_success_event(_gift(DonationStatus.FAILED, CheckoutStatus.EXPIRED))
    assert not awaiting_success_event(_gift(DonationStatus.FAILED, None))
    assert not awaiting_success_event(_gift(DonationStatus.PAID, CheckoutStatus.PAID))
