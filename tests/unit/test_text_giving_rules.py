"""Text giving's rules: eligible numbers, caps, split charges, outcomes and the texts donors read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.domain.appeal import AppealStatus
from everypenny.domain.donation import Donation, DonationStatus
from everypenny.domain.sms_text import fit_parts, gsm7_length, to_gsm7
from everypenny.domain.text_giving import (
    ChargeStatus,
    FailureFamily,
    Given,
    NotUkMobile,
    Refusal,
    SmsCharge,
    charge_failed,
    charge_request_id,
    donation_after_charges,
    help_text,
    link_to_give,
    london_day_start,
    london_month_start,
    message_request_id,
    needs_amount,
    network_for,
    not_uk_mobile,
    receipt,
    refusal,
    refused,
    split_charges,
    stopped,
    uk_mobile,
    unknown_text,
)

APPEAL = load_appeal_file(Path(__file__).resolve().parents[2] / "appeals" / "sun-ukraine-fund.toml")[0]
SHORTCODE = APPEAL.shortcode("70141")
LONG_NUMBER = APPEAL.shortcode("+447700900141")
URL = "http://127.0.0.1:8000/gift-aid/IkVQLTdLM005UTJYREEi.Zr8gkT3mZ1i3e0yq6O4bS6PHyR8"


@pytest.mark.parametrize("msisdn", ["447700900123", "+447700900999", "+447400123456"])
def test_uk_mobiles_can_give(msisdn):
    assert uk_mobile(msisdn).startswith("+447")


@pytest.mark.parametrize(("msisdn", "says"), [
    ("447781123456", "Guernsey"), ("+447797123456", "Jersey"), ("447624123456", "Isle of Man"),
    ("33612345678", "not a UK number"), ("442079460000", "not a UK mobile"), ("banana", "not a phone number"),
])
def test_other_numbers_are_refused_with_the_reason(msisdn, says):
    with pytest.raises(NotUkMobile, match=says):
        uk_mobile(msisdn)


def test_the_daily_cap_resets_at_london_midnight_not_utc():
    summer_evening = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 July in London
    assert london_day_start(summer_evening) == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert london_day_start(winter) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_caps_and_listed_amounts_on_the_carrier_shortcode():
    assert refusal(APPEAL, SHORTCODE, "SUN", 500, Given()) is None
    assert refusal(APPEAL, SHORTCODE, "SUN", 700, Given()) is Refusal.NOT_OFFERED
    assert refusal(APPEAL, SHORTCODE, "SUN", 2500, Given()) is Refusal.OVER_TEXT_CAP
    assert refusal(APPEAL, SHORTCODE, "SUN", 1000, Given(2000, 2000)) is None  # exactly the £30 cap
    assert refusal(APPEAL, SHORTCODE, "SUN", 1000, Given(2500, 2500)) is Refusal.OVER_DAILY_CAP


def test_no_text_takes_a_number_past_the_psr_240_pounds_a_month_on_every_appeal():
    """Payment Services Regulations 2017, electronic communications exclusion: at most £240 a month per subscriber."""
    assert refusal(APPEAL, SHORTCODE, "SUN", 1000, Given(today_pence=0, month_pence=23_000)) is None
    assert refusal(APPEAL, SHORTCODE, "SUN", 1000, Given(today_pence=0, month_pence=23_500)) is \
        Refusal.OVER_MONTHLY_LIMIT
    [reply] = refused(APPEAL, SHORTCODE, Refusal.OVER_MONTHLY_LIMIT, 1000, "https://give.example/d")
    assert "past the £240 a month that can be charged to a phone bill, so no charge was made" in reply
    assert "Give £10 online: https://give.example/d" in reply


def test_the_month_starts_at_london_midnight_on_the_first():
    assert london_month_start(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)


def test_the_link_number_takes_any_amount_the_donation_page_takes():
    assert refusal(APPEAL, LONG_NUMBER, "SUN", 5000, Given(10_000, 10_000)) is None
    assert refusal(APPEAL, LONG_NUMBER, "SUN", 250, Given()) is Refusal.NOT_OFFERED


@pytest.mark.parametrize("status", [AppealStatus.CLOSED, AppealStatus.DRAFT])
def test_closed_and_draft_appeals_take_no_money(status):
    appeal = replace(APPEAL, status=status)
    assert refusal(appeal, SHORTCODE, "SUN", 500, Given()) is Refusal.CLOSED
    assert "has closed" in refused(appeal, SHORTCODE, Refusal.CLOSED, 500, None)[0]


@pytest.mark.parametrize(("amount", "network", "charges"), [
    (2000, "O2", [1000, 1000]), (1500, "tesco", [1000, 500]), (2000, "EE", [2000]), (500, "O2", [500]),
])
def test_networks_with_a_per_charge_maximum_get_several_charges(amount, network, charges):
    assert split_charges(amount, network) == charges


@pytest.mark.parametrize(("operator", "network"), [
    ("o2-uk", "O2"), ("eeora-uk", "EE"), ("eetmo-uk", "EE"), ("voda-uk", "VODAFONE"), ("three-uk", "THREE"),
    ("virgin-uk", "VIRGIN"), ("TESCO-UK", "TESCO"), ("", ""),
])
def test_fonix_operator_codes_name_networks(operator, network):
    assert network_for(operator) == network


def test_a_gift_on_o2_reported_by_its_operator_code_is_split():
    assert split_charges(2000, network_for("o2-uk")) == [1000, 1000]


def test_request_ids_are_stable_short_letters_and_digits():
    assert charge_request_id("7CDEB38F-4370-18FD-D7CE-329F21B99209", 2) == "7CDEB38F437018FDD7CE329F21B99209C2"
    assert message_request_id(charge_request_id("a-b", 1), "r", 1) == "abC1R1"
    for request_id in (charge_request_id("x" * 300, 1), message_request_id("y" * 300, "m", 9)):
        assert len(request_id) <= 80 and request_id.isalnum()


def _donation(amount=2000):
    return Donation("EP-0000000001", APPEAL.slug, SHORTCODE.channel, amount, "GBP", datetime.now(UTC))


def _charge(sequence, status, reason=None):
    return SmsCharge(f"r-c{sequence}", "EP-0000000001", sequence, 1000, "GBP", "O2", status, reason)


def test_a_donation_settles_only_when_every_charge_is_final():
    donation = _donation()
    assert donation_after_charges(donation, [_charge(1, ChargeStatus.CHARGED), _charge(2, ChargeStatus.REQUESTED)]
                                  ) is donation
    both = donation_after_charges(donation, [_charge(1, ChargeStatus.CHARGED), _charge(2, ChargeStatus.CHARGED)])
    assert (both.status, both.paid_pence) == (DonationStatus.PAID, 2000)
    half = donation_after_charges(donation, [_charge(1, ChargeStatus.CHARGED),
                                             _charge(2, ChargeStatus.FAILED, "SPEND_CAP")])
    assert (half.status, half.paid_pence, half.failure_reason) == (DonationStatus.PART_PAID, 1000, "SPEND_CAP")


def test_the_first_final_report_wins_and_a_contradiction_is_noted():
    failed = _charge(1, ChargeStatus.REQUESTED).reported(ChargeStatus.FAILED, "BARRED")
    assert failed.reported(ChargeStatus.FAILED, "BARRED") == failed
    contradicted = failed.reported(ChargeStatus.CHARGED, None)
    assert contradicted.status is ChargeStatus.FAILED
    assert contradicted.contradicting_report == "charged after failed"


@pytest.mark.parametrize(("code", "family"), [
    ("INSUFFICIENT_FUNDS", FailureFamily.NO_CREDIT), ("TEMPORARY_BARRED", FailureFamily.BARRED),
    ("MAX_SPEND_MSISDN", FailureFamily.SPEND_CAP), ("OPERATOR_SRV_MONTHLY_MAX_SPEND", FailureFamily.SPEND_CAP),
    ("OPERATOR_SRV_TYPE_WEEKLY_MAX_SPEND", FailureFamily.SPEND_CAP),
    ("SECTOR_NOT_ALLOWED", FailureFamily.NOT_NOW), ("PAYM_MNO_SPEND_LIMIT", FailureFamily.SPEND_CAP),
    ("insufficient_funds", FailureFamily.NO_CREDIT), ("SOMETHING_NEW", FailureFamily.OTHER),
])
def test_fonix_failure_codes_fall_into_families_and_unknown_ones_into_other(code, family):
    assert FailureFamily.of(code) is family


def _all_replies():
    donate = "http://127.0.0.1:8000/donate/sun-ukraine-fund?amount_pence=500&from=ImFiYyI.c2lnbmF0dXJlc2lnbmF0dXJl"
    for code in ("INSUFFICIENT_FUNDS", "TEMPORARY_BARRED", "MAX_SPEND_MSISDN", "SECTOR_NOT_ALLOWED", "NEW_CODE"):
        yield charge_failed(APPEAL, 500, code, donate)
    for why in Refusal:
        yield refused(APPEAL, SHORTCODE, why, 2500, donate)
    yield not_uk_mobile(APPEAL, "numbers from Jersey cannot give by text", donate)
    yield needs_amount(APPEAL, SHORTCODE)
    yield unknown_text(APPEAL, SHORTCODE)
    yield help_text(APPEAL)
    yield stopped(APPEAL, everything=True)
    yield link_to_give(APPEAL, 5000, donate)


@pytest.mark.parametrize("parts", list(_all_replies()))
def test_every_reply_is_gsm7_parts_of_at_most_160(parts):
    assert parts
    for part in parts:
        assert gsm7_length(part) is not None and gsm7_length(part) <= 160, part


def test_a_receipt_says_who_how_much_helpline_and_opt_out_and_carries_the_gift_aid_link():
    text = receipt(APPEAL, 500, 1, 1, URL)
    for expected in ("£5", "The Sun's Ukraine Fund", "British Red Cross", "0344 871 11 11", "STOP",
                     f"Add Gift Aid at no cost to you: {URL}"):
        assert expected in text
    assert gsm7_length(text) is not None
    assert "(part 1 of 2 of your gift)" in receipt(APPEAL, 1000, 1, 2, URL)


def test_a_failure_reply_says_what_happened_and_that_nothing_was_charged():
    text = " ".join(charge_failed(APPEAL, 500, "INSUFFICIENT_FUNDS", "http://x/donate"))
    assert "not enough pay-as-you-go credit" in text and "no charge was made" in text
    assert "give online instead: http://x/donate" in text


def test_unknown_text_lists_the_valid_keywords():
    assert "SUN3, SUN5 or SUN10 to 70141" in unknown_text(APPEAL, SHORTCODE)[0]


@given(st.lists(st.text(min_size=0, max_size=400), max_size=5))
def test_any_sentences_fit_into_gsm7_parts(sentences):
    for part in fit_parts(sentences):
        length = gsm7_length(part)
        assert length is not None and 0 < length <= 160


def test_a_link_stays_in_the_same_message_as_the_words_that_introduce_it():
    parts = charge_failed(APPEAL, 500, "TEMPORARY_BARRED", URL)
    assert any(part.startswith("You can give online") and part.endswith(URL) for part in parts)


GSM7_SAMPLES = "@£$¥èéAZaz09 \n{}[]~|^€\\’“–…ΔΩЖ漢😀"


@given(st.text(alphabet=GSM7_SAMPLES, max_size=200))
def test_gsm7_length_counts_a_septet_per_character_and_two_per_extension_or_none_outside_gsm7(text):
    extension = "^{}\\[~]|€"
    outside = "’“–…Ж漢😀"
    expected = None if any(ch in outside for ch in text) else len(text) + sum(ch in extension for ch in text)
    assert gsm7_length(text) == expected
    assert gsm7_length(to_gsm7(text)) is not None


def test_the_closed_appeal_reply_keeps_the_helpline_in_one_message():
    parts = refused(APPEAL, SHORTCODE, Refusal.CLOSED, 0, None)

    assert any("call 0344 871 11 11." in part for part in parts), parts


def test_a_sentence_longer_than_a_message_is_never_broken_inside_a_phone_number():
    sentence = ("The Sun's Ukraine Fund has closed, so no charge was made. Thank you for thinking of British Red "
                "Cross: see https://www.redcross.org.uk/mobile or call 0344 871 11 11.")

    assert fit_parts([sentence])[-1] == "0344 871 11 11."


UNBREAKABLE_WORDS = [
    "0344 871 11 11", "+44 7700 900123", "0800 123 4567", "£1,000.50", "£10", "SUN10NOINFO", "SUN£5",
    "https://www.redcross.org.uk/mobile", "http://testserver/gift-aid/EP-0000000001?key=abcdefABCDEF0123456789"]
UNBREAKABLE = st.sampled_from(UNBREAKABLE_WORDS)
FILLER = st.text(alphabet="abcdefghij", min_size=1, max_size=12)


# Sentences as we write them: words, and between them the things a donor must read whole (two numbers are
# never written side by side, which would read as one).
SENTENCES = st.lists(st.lists(st.tuples(FILLER, st.one_of(UNBREAKABLE, FILLER)).map(" ".join),
                              min_size=4, max_size=30).map(" ".join), min_size=1, max_size=3)


@settings(max_examples=300)
@given(SENTENCES)
def test_no_phone_number_amount_link_or_keyword_is_ever_broken_across_messages(sentences):
    """Issue 22 item 9: a donor reads each of them whole in one message."""
    parts = fit_parts(sentences)

    for sentence in sentences:
        for word in (w for w in UNBREAKABLE_WORDS if w in sentence):
            assert any(word in part for part in parts), (word, parts)
