"""Which texts Twilio acts on itself, and the consent change each one records."""

import pytest

from everypenny.domain.provider_opt_out import ConsentChange, twilio_consent_change


@pytest.mark.parametrize("body", ["STOP", "stop", " sToP ", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL",
                                  "OPTOUT", "REVOKE"])
def test_each_opt_out_word_alone_withdraws_consent(body):
    assert twilio_consent_change(body, None) == ConsentChange(False, f"twilio:{body.strip().upper()}")


@pytest.mark.parametrize("body", ["START", "yes", "Unstop"])
def test_each_opt_in_word_alone_restores_it(body):
    assert twilio_consent_change(body, None) == ConsentChange(True, f"twilio:{body.upper()}")


@pytest.mark.parametrize("body", ["stop please", "please cancel", "HELP", "SUN5", ""])
def test_anything_else_changes_nothing(body):
    assert twilio_consent_change(body, None) is None


def test_opt_out_type_decides_for_a_services_own_words_and_help_changes_nothing():
    assert twilio_consent_change("arret", "STOP") == ConsentChange(False, "twilio:ARRET OptOutType=STOP")
    assert twilio_consent_change("oui", "start") == ConsentChange(True, "twilio:OUI OptOutType=START")
    assert twilio_consent_change("INFO", "HELP") is None
