"""A keyword texted to the shortcode becomes a charged, receipted, ledgered donation."""

from __future__ import annotations

import pytest
from sms_harness import count_rows, load_seed_variant
from sqlalchemy import select

from everypenny.adapters.db.schema import appeals, consents, sms_outbound
from everypenny.domain.donation import DonationStatus, Medium
from everypenny.domain.text_giving import ChargeStatus, MessageStatus

EE = "+447700900001"
O2 = "+447700900101"
O2_PAYG_15 = "+447700900501"
PAYG_5 = "+447700900201"
BARRED = "+447700900251"
SPEND_CAPPED_10 = "+447700900301"
NO_DONATIONS_NETWORK = "+447700900351"
UNKNOWN_SUBSCRIBER = "+447700900401"


def test_sun5_from_a_uk_mobile_is_charged_receipted_and_raised(texts):
    replies = texts.text(EE, "SUN£5")

    [receipt] = replies  # sent by the network with the charge: no second message
    assert "Thank you! You gave £5 to The Sun's Ukraine Fund for British Red Cross" in receipt
    assert "0344 871 11 11" in receipt and "STOP" in receipt
    assert "Add Gift Aid at no cost to you: http://testserver/gift-aid/" in receipt
    [donation] = texts.donations()
    assert (donation.status, donation.amount_pence, donation.paid_pence) == (DonationStatus.PAID, 500, 500)
    assert donation.phone == EE and donation.keyword == "SUN" and donation.marketing_consent
    [charge] = texts.charges(donation.reference)
    assert (charge.status, charge.amount_pence, charge.network) == (ChargeStatus.CHARGED, 500, "EE")
    assert texts.totals()["raised_pence"] == 500 == texts.simulator.charged_pence()
    assert texts.totals()["by_channel"]["carrier_sms"] == 500


@pytest.mark.parametrize("body", ["sun 5", " Sun £5 ", "SUN\x015", "SUNÂ£5"])
def test_case_spaces_and_every_spelling_of_the_pound_sign_give_five_pounds(texts, body):
    texts.text(EE, body)

    assert [d.amount_pence for d in texts.donations()] == [500]
    assert texts.totals()["raised_pence"] == 500


def test_a_text_is_pending_until_its_charge_report_says_charged(texts):
    texts.simulator.text(EE, "70141", "SUN10")
    texts.simulator.deliver_due()  # the MO
    texts.worker.drain()  # accepted, charge requested; the report has not come back

    assert texts.totals()["raised_pence"] == 0 and texts.totals()["pending_pence"] == 1000
    assert texts.donations()[0].status is DonationStatus.PENDING

    texts.settle()
    assert texts.totals()["raised_pence"] == 1000 and texts.totals()["pending_pence"] == 0


def test_noinfo_donates_without_marketing_consent(texts, platform):
    texts.text(EE, "SUN5 NOINFO")

    [donation] = texts.donations()
    assert donation.status is DonationStatus.PAID and not donation.marketing_consent
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is False


def test_the_plain_keyword_records_consent_as_the_terms_say(texts, platform):
    texts.text(EE, "SUN5")

    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is True


def test_a_bare_keyword_without_a_default_explains_how_to_give_and_charges_nothing(texts):
    [reply] = texts.text(EE, "SUN")

    assert "text SUN3, SUN5 or SUN10 to 70141" in reply
    assert texts.donations() == [] and texts.simulator.charges == {}


def test_a_bare_keyword_gets_the_default_amount_when_the_appeal_has_one(texts, platform):
    def default_five(definition):
        definition["sms"]["shortcodes"][0]["keywords"][0]["default_pence"] = 500
    load_seed_variant(platform, default_five)

    texts.text(EE, "sun")

    assert [d.amount_pence for d in texts.donations()] == [500]


def test_unknown_text_gets_the_valid_keywords_and_no_charge(texts):
    [reply] = texts.text(EE, "hello, how do I give?")

    assert "did not recognise" in reply and "SUN3, SUN5 or SUN10 to 70141" in reply
    assert "No charge was made" in reply
    assert texts.donations() == [] and texts.simulator.charges == {}


def test_an_amount_the_appeal_does_not_list_is_refused(texts):
    [reply] = texts.text(EE, "SUN7")

    assert "£7 is not an amount you can give by text" in reply and "no charge was made" in reply
    assert texts.donations() == []


def test_over_the_per_text_cap_no_charge_and_a_reply_with_a_link_to_give_online(texts):
    replies = texts.text(EE, "SUN25")

    assert "The most you can give in one text is £20, so no charge was made" in replies[0]
    assert "http://testserver/donate/sun-ukraine-fund?amount_pence=2500&from=" in " ".join(replies)
    assert texts.donations() == [] and texts.simulator.charges == {}


def test_the_daily_cap_counts_pending_texts_too(texts):
    for _ in range(4):
        texts.simulator.text(EE, "70141", "SUN10")
    texts.simulator.deliver_due()
    texts.worker.run_once()  # all four texts decided before any charge is confirmed
    texts.settle()

    assert sorted(d.status for d in texts.donations()) == [DonationStatus.PAID] * 3
    assert texts.totals()["raised_pence"] == 3000 == texts.simulator.charged_pence()
    refusals = [m for m in texts.received(EE) if "£30 a day limit" in m]
    assert len(refusals) == 1 and "so no charge was made" in refusals[0]


def test_the_per_number_caps_come_from_the_appeal_file(texts, platform):
    def tighter(definition):
        definition["limits"] = {"per_text_cap_pence": 1000, "per_number_daily_cap_pence": 1000}
    load_seed_variant(platform, tighter)

    texts.text(EE, "SUN5")
    replies = texts.text(EE, "SUN10")

    assert "£10 a day limit" in replies[0]
    assert texts.totals()["raised_pence"] == 500


@pytest.mark.parametrize(("number", "place"), [
    ("+447781123456", "Guernsey"), ("+447797123456", "Jersey"), ("+447624123456", "Isle of Man"),
])
def test_channel_islands_and_isle_of_man_numbers_are_refused(texts, number, place):
    replies = texts.text(number, "SUN5")

    text = " ".join(replies)
    assert "UK mobiles only" in text and place in text and "No charge was made" in text
    assert "http://testserver/donate/sun-ukraine-fund?amount_pence=500" in text
    assert texts.donations() == [] and texts.simulator.charges == {}


def test_a_closed_appeal_takes_no_money_and_points_to_the_charity(texts, platform):
    def closed(definition):
        definition["status"] = "closed"
    load_seed_variant(platform, closed)

    reply = " ".join(texts.text(EE, "SUN5"))

    assert "has closed, so no charge was made" in reply and "redcross.org.uk/mobile" in reply
    assert texts.donations() == []


def test_stop_opts_out_at_once_and_a_later_keyword_does_not_opt_back_in(texts, platform):
    [reply] = texts.text(EE, "STOP")
    assert "no more marketing texts from British Red Cross" in reply and "START" in reply
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is False

    texts.text(EE, "SUN5")
    [donation] = texts.donations()
    assert donation.status is DonationStatus.PAID and not donation.marketing_consent
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is False

    [reply] = texts.text(EE, "START")
    assert "Text STOP at any time" in reply
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is True


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe"])
def test_stopall_and_unsubscribe_opt_out_of_everything_on_the_number(texts, platform, word):
    [reply] = texts.text(EE, word)

    assert "any charity on this number" in reply
    assert count_rows(platform, consents) == 1
    assert texts.simulator.charges == {}


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_gives_the_helpline_and_terms_and_charges_nothing(texts, word):
    reply = " ".join(texts.text(EE, word))

    assert "0344 871 11 11" in reply and "https://www.redcross.org.uk/mobile" in reply
    assert texts.simulator.charges == {} and texts.donations() == []


@pytest.mark.parametrize(("number", "body", "says"), [
    (PAYG_5, "SUN10", "not enough pay-as-you-go credit"),
    (BARRED, "SUN5", "barred from premium or donation texts"),
    (NO_DONATIONS_NETWORK, "SUN5", "your network cannot take this donation just now"),
])
def test_each_failure_reason_is_explained_voided_and_never_counted(texts, number, body, says):
    replies = texts.text(number, body)

    text = " ".join(replies)
    assert says in text and "no charge was made" in text and "give online instead" in text
    [donation] = texts.donations()
    assert donation.status is DonationStatus.FAILED and donation.paid_pence == 0
    assert texts.totals()["raised_pence"] == 0 and texts.totals()["pending_pence"] == 0


def test_a_spend_cap_fails_the_charge_that_passes_it(texts):
    texts.text(SPEND_CAPPED_10, "SUN10")
    replies = texts.text(SPEND_CAPPED_10, "SUN3")

    assert "reached its network spending limit" in replies[0]
    assert {d.amount_pence: d.status for d in texts.donations()} == {
        1000: DonationStatus.PAID, 300: DonationStatus.FAILED}
    assert texts.totals()["raised_pence"] == 1000 == texts.simulator.charged_pence()


def test_an_unknown_subscriber_fails_and_the_reply_is_reported_undelivered(texts, platform):
    assert texts.text(UNKNOWN_SUBSCRIBER, "SUN5") == []  # nobody there to read it

    [donation] = texts.donations()
    assert donation.status is DonationStatus.FAILED and donation.failure_reason == "UNKNOWN_SUBSCRIBER"
    with platform.engine.connect() as connection:
        statuses = set(connection.scalars(sms_outbound.select().with_only_columns(sms_outbound.c.status)))
    assert statuses == {MessageStatus.FAILED.value}


def test_a_receipt_is_delivered_when_its_charge_report_says_so(texts, platform):
    texts.text(EE, "SUN5")

    with platform.engine.connect() as connection:
        [row] = connection.execute(sms_outbound.select()).all()
    # One message, sent with the charge; the charge report (DELIVERED) is its delivery report.
    assert (row.purpose, row.status) == ("receipt", MessageStatus.DELIVERED.value)
    assert texts.simulator.queued() == 0


def _twenty_pound_keyword(definition):
    definition["sms"]["shortcodes"][0]["keywords"][0]["amounts_pence"] = [300, 500, 1000, 2000]


def test_twenty_pounds_on_a_ten_pound_network_is_one_donation_of_two_charges_with_two_receipts(texts, platform):
    load_seed_variant(platform, _twenty_pound_keyword)

    replies = texts.text(O2, "SUN20")

    [donation] = texts.donations()
    assert (donation.status, donation.paid_pence) == (DonationStatus.PAID, 2000)
    charges = texts.charges(donation.reference)
    assert [(c.sequence, c.amount_pence, c.status) for c in charges] == [
        (1, 1000, ChargeStatus.CHARGED), (2, 1000, ChargeStatus.CHARGED)]
    receipts = [r for r in replies if r.startswith("Thank you!")]
    assert sorted(receipts) == sorted([
        r for r in receipts if "You gave £10 (part 1 of 2" in r or "You gave £10 (part 2 of 2" in r])
    assert len(receipts) == 2
    assert texts.totals()["raised_pence"] == 2000 == texts.simulator.charged_pence()
    assert texts.totals()["donation_count"] == 1


def test_a_split_donation_whose_second_charge_fails_is_part_paid(texts, platform):
    load_seed_variant(platform, _twenty_pound_keyword)

    replies = texts.text(O2_PAYG_15, "SUN20")

    [donation] = texts.donations()
    assert (donation.status, donation.paid_pence) == (DonationStatus.PART_PAID, 1000)
    assert donation.failure_reason == "INSUFFICIENT_FUNDS"
    assert any(r.startswith("Thank you! You gave £10 (part") for r in replies)
    assert any("Sorry, your £10 gift" in r and "no charge was made" in r for r in replies)
    assert texts.totals()["raised_pence"] == 1000 == texts.simulator.charged_pence()


def test_the_phone_bill_shows_the_appeal_files_charge_description(texts, platform):
    load_seed_variant(platform, lambda d: d["sms"].update(charge_description="Sun Ukraine Fund"))

    texts.text(EE, "SUN5")

    [charge] = texts.simulator.charge_records()
    assert charge["description"] == "Sun Ukraine Fund"


def test_the_help_reply_links_the_privacy_notice(texts):
    replies = texts.text(EE, "HELP")

    assert "Privacy: https://www.redcross.org.uk/privacy-policy" in " ".join(replies)


def _second_appeal_on_the_shortcode(definition) -> None:
    definition.update(slug="ukraine-two", name="A second appeal")
    definition["sms"]["shortcodes"] = [{"number": "70141", "billing": "carrier",
                                        "keywords": [{"word": "AID", "amounts_pence": [500]}]}]


@pytest.mark.parametrize("words", ["STOP ALL", "STOPALL"])
def test_stop_all_on_a_shortcode_opts_out_of_every_appeal_on_it(texts, platform, words):
    load_seed_variant(platform, _second_appeal_on_the_shortcode)

    [reply] = texts.text(EE, words)

    assert "any charity on this number" in reply
    with platform.engine.connect() as connection:
        stopped = connection.execute(select(appeals.c.slug, consents.c.granted, consents.c.source).join(
            appeals, appeals.c.id == consents.c.appeal_id).order_by(appeals.c.slug)).all()
    assert stopped == [("sun-ukraine-fund", False, "sms:STOPALL"), ("ukraine-two", False, "sms:STOPALL")]
