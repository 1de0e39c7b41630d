"""Text-to-link on Twilio: a keyword to the long number gets a personalised link to the donation page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse
from xml.etree import ElementTree

from sms_harness import count_rows

from everypenny.adapters.db.schema import inbox_messages, sms_outbound
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


def test_stop_and_unknown_text_on_the_long_number(texts, platform):
    [stop] = _messages(texts.twilio(DONOR, "STOP", sid="SM" + "5" * 32))
    [unknown] = _messages(texts.twilio(DONOR, "what is this", sid="SM" + "6" * 32))

    assert "no more marketing texts" in stop
    with platform.uow() as uow:
        assert uow.consents.current(DONOR, Medium.SMS) is False
    assert "SUN3, SUN5 or SUN10 to +447700900141" in unknown


def test_channel_islands_numbers_get_a_link_without_their_number_in_it(texts):
    messages = _messages(texts.twilio("+447797123456", "SUN5", sid="SM" + "7" * 32))

    text = " ".join(messages)
    assert "UK mobiles only" in text and "Jersey" in text
    assert "from=" not in _link(text) and "amount_pence=500" in _link(text)
