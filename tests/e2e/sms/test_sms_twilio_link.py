"""Text-to-link on Twilio: a keyword to the long number gets a personalised link to the donation page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

import pytest
from sms_harness import count_rows
from sqlalchemy import select

from everypenny.adapters.db.schema import consents, inbox_messages, sms_outbound
from everypenny.domain.donation import Medium
from everypenny.service_layer.links import phone_from_prefill_token

DONOR = "+447700900042"


def _messages(response) -> list[str]:
    assert response.headers["content-type"].startswith("application/xml")
    return [message.text for message in ElementTree.fromstring(response.text).iter("Message")]


def _link(text: str) -> str:
    return re.search(r"https?://\S+", text).group(0)


def test_a_keyword_to_the_long_number_replies_with_a_prefilled_donation_link(texts):
    response = texts.twilio(DONOR, "Sun £5", sid="SM" + "1" * 32)

    assert response.status_code == 200
    messages = _messages(response)
    text = " ".join(messages)
    assert messages[0].startswith("Thank you for giving to The Sun's Ukraine Fund for British Red Cross")
    assert "Tap to give £5: http://testserver/donate/" in text
    link = urlparse(_link(text))
    assert (link.netloc, link.path) == ("testserver", "/donate/sun-ukraine-fund")
    query = parse_qs(link.query)
    assert query["amount_pence"] == ["500"]
    assert phone_from_prefill_token(texts.platform.settings.secret_key, query["from"][0], timedelta(days=1)) == DONOR
    assert "STOP" in text
    assert texts.donations() == [] and texts.totals()["raised_pence"] == 0  # the online flow completes it


def test_the_long_number_takes_amounts_a_text_could_not(texts):
    messages = _messages(texts.twilio(DONOR, "SUN50", sid="SM" + "2" * 32))

    assert "amount_pence=5000" in _link(" ".join(messages))


def test_a_forged_twilio_signature_is_refused_and_nothing_stored(texts):
    response = texts.twilio(DONOR, "SUN5", sid="SM" + "3" * 32, token="someone-elses-token")
    unsigned = texts.client.post("/webhooks/twilio/sms", data={"MessageSid": "SM1", "From": DONOR,
                                                               "To": "+447700900141", "Body": "SUN5"})

    assert response.status_code == unsigned.status_code == 403
    assert count_rows(texts.platform, inbox_messages) == 0 == count_rows(texts.platform, sms_outbound)


def test_a_replayed_message_gets_the_same_reply_and_stores_nothing_new(texts):
    first = texts.twilio(DONOR, "SUN10", sid="SM" + "4" * 32)
    again = texts.twilio(DONOR, "SUN10", sid="SM" + "4" * 32)

    assert _messages(first) == _messages(again)
    assert count_rows(texts.platform, inbox_messages) == 1


def test_an_unknown_text_on_the_long_number_gets_the_keywords(texts):
    [unknown] = _messages(texts.twilio(DONOR, "what is this", sid="SM" + "6" * 32))

    assert "SUN3, SUN5 or SUN10 to +447700900141" in unknown


def test_channel_islands_numbers_get_a_link_without_their_number_in_it(texts):
    messages = _messages(texts.twilio("+447797123456", "SUN5", sid="SM" + "7" * 32))

    text = " ".join(messages)
    assert "UK mobiles only" in text and "Jersey" in text
    assert "from=" not in _link(text) and "amount_pence=500" in _link(text)


def _consents(platform) -> list[tuple[bool, str, object]]:
    with platform.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(consents.c.granted, consents.c.source, consents.c.appeal_id).order_by(consents.c.id))]


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "END", "quit", "CANCEL", "OPTOUT", "revoke "])
def test_twilios_opt_out_words_are_recorded_and_get_no_reply_of_ours(texts, word):
    response = texts.twilio(DONOR, word, sid="SM" + "8" * 32)

    assert response.status_code == 200 and _messages(response) == []  # Twilio itself confirmed the opt-out
    assert _consents(texts.platform) == [(False, f"twilio:{word.strip().upper()}", None)]
    assert count_rows(texts.platform, sms_outbound) == 0


def test_after_an_opt_out_nothing_is_sent_until_an_opt_in_word(texts):
    texts.twilio(DONOR, "STOP", sid="SM" + "1" * 31 + "a")
    blocked = texts.twilio(DONOR, "SUN5", sid="SM" + "1" * 31 + "b")
    opted_in = {word: texts.twilio(DONOR, word, sid=f"SM{n:032d}") for n, word in enumerate(["YES", "UNSTOP"])}
    texts.twilio(DONOR, "CANCEL", sid="SM" + "1" * 31 + "c")
    start = texts.twilio(DONOR, "start", sid="SM" + "1" * 31 + "d")
    after = texts.twilio(DONOR, "SUN5", sid="SM" + "1" * 31 + "e")

    assert _messages(blocked) == []  # Twilio would refuse it (error 21610)
    assert all(_messages(response) == [] for response in [*opted_in.values(), start])
    assert [source for _, source, _ in _consents(texts.platform)] == [
        "twilio:STOP", "twilio:YES", "twilio:UNSTOP", "twilio:CANCEL", "twilio:START"]
    assert "Tap to give £5" in " ".join(_messages(after))
    with texts.platform.uow() as uow:
        assert uow.consents.current(DONOR, Medium.SMS) is True


def test_advanced_opt_out_words_are_read_from_opt_out_type(texts):
    stop = texts.twilio(DONOR, "ARRET", sid="SM" + "9" * 32, extra={"OptOutType": "STOP"})
    start = texts.twilio(DONOR, "Go on then", sid="SM" + "9" * 31 + "a", extra={"OptOutType": "START"})
    help_ = texts.twilio(DONOR, "HELP", sid="SM" + "9" * 31 + "b", extra={"OptOutType": "HELP"})

    assert _messages(stop) == [] == _messages(start)
    assert [source for _, source, _ in _consents(texts.platform)] == [
        "twilio:ARRET OptOutType=STOP", "twilio:GO ON THEN OptOutType=START"]
    assert "Help:" in " ".join(_messages(help_))  # HELP changes no consent and gets the charity's helpline


def test_the_signature_covers_the_configured_url_with_its_query_string(texts):
    platform = texts.platform
    configured = platform.settings.public_url + "/webhooks/twilio/sms?appeal=sun"

    with_query = texts.twilio(DONOR, "SUN5", sid="SM" + "a" * 32, query="appeal=sun")
    query_not_signed = texts.twilio(DONOR, "SUN5", sid="SM" + "b" * 32, query="appeal=sun",
                                    signed_url=platform.settings.public_url + "/webhooks/twilio/sms")
    platform.settings.twilio_webhook_url = configured
    as_configured = texts.twilio(DONOR, "SUN5", sid="SM" + "c" * 32, query="appeal=sun")
    another_query = texts.twilio(DONOR, "SUN5", sid="SM" + "d" * 32, query="appeal=other")

    assert with_query.status_code == 200 and as_configured.status_code == 200
    assert query_not_signed.status_code == 403 and another_query.status_code == 403
    assert count_rows(platform, inbox_messages) == 2


def test_with_advanced_opt_out_twilio_answers_help_and_we_send_no_second_reply(texts):
    texts.platform.settings.twilio_advanced_opt_out = True

    help_ = texts.twilio(DONOR, "HELP", sid="SM" + "8" * 32, extra={"OptOutType": "HELP"})
    info = texts.twilio(DONOR, "info", sid="SM" + "8" * 31 + "a")
    keyword = texts.twilio(DONOR, "SUN5", sid="SM" + "8" * 31 + "b")

    assert _messages(help_) == [] == _messages(info)
    assert "Tap to give £5" in " ".join(_messages(keyword))
