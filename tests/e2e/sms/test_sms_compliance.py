"""The law's limits on text giving: a stopped number stays stopped, spend within the PSR exclusion, and
people the charity protects are not charged. Each test reads as the rule it holds."""

from __future__ import annotations

from datetime import UTC, datetime

from sms_harness import load_seed_variant

from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Donation, Medium, new_reference
from everypenny.domain.erasure import Contact
from everypenny.service_layer.erasure import erase_donor

EE = "+447700900001"
SLUG = "sun-ukraine-fund"


def marketing_list(platform, cli, tmp_path) -> str:
    output = tmp_path / "consents.csv"
    assert cli("export", "consents", "--appeal", SLUG, "--output", str(output)).exit_code == 0
    return output.read_text()


def test_a_number_that_texted_stop_gets_no_marketing_after_its_donor_is_erased(texts, platform, cli, tmp_path):
    """ICO direct marketing guidance: a suppression list outlives erasure, so STOP stays STOP."""
    texts.text(EE, "SUN5")
    texts.text(EE, "STOP")
    erase_donor(platform.uow(), Contact(Medium.SMS, EE), platform.settings.secret_key)

    texts.text(EE, "SUN5")

    again = [donation for donation in texts.donations() if donation.phone == EE]
    assert len(again) == 1 and not again[0].marketing_consent
    assert "900001" not in marketing_list(platform, cli, tmp_path)
    with platform.uow() as uow:
        assert uow.consents.current(EE, Medium.SMS) is not True


def test_start_after_erasure_lifts_the_suppression(texts, platform, cli, tmp_path):
    texts.text(EE, "STOP")
    erase_donor(platform.uow(), Contact(Medium.SMS, EE), platform.settings.secret_key)

    texts.text(EE, "START")
    texts.text(EE, "SUN5")

    assert [donation.marketing_consent for donation in texts.donations()] == [True]


def test_a_text_that_would_take_a_number_past_240_pounds_a_month_across_appeals_is_refused(texts, platform):
    """PSR 2017 electronic communications exclusion: £240 a month per subscriber, on every appeal together."""
    def another_appeal(definition):
        definition.update(slug="winter-appeal", name="Winter Appeal")
        definition["sms"]["shortcodes"] = []
    load_seed_variant(platform, another_appeal)
    given_elsewhere = Donation(new_reference(), "winter-appeal", Channel.CARRIER_SMS, 23_500, "GBP",
                               datetime.now(UTC), phone=EE).settled(23_500)
    with platform.uow() as uow:
        uow.donations.add(given_elsewhere)
        uow.commit()

    replies = texts.text(EE, "SUN10")

    assert "past the £240 a month that can be charged to a phone bill, so no charge was made" in replies[0]
    assert "Give £10 online: http://testserver/donate/sun-ukraine-fund?amount_pence=1000&from=" in " ".join(replies)
    assert texts.donations() == [] and texts.simulator.charges == {}  # the sun appeal's: nothing taken
    texts.text(EE, "SUN5")  # still within £240
    assert texts.simulator.charged_pence() == 500


def test_a_protected_number_gets_a_kind_reply_and_no_charge(texts, cli):
    """Fundraising Regulator, people in vulnerable circumstances: the charity can stop taking gifts from someone."""
    blocked = cli("donor", "block", "--phone", "07700 900001", "--reason", "their daughter called: dementia")
    assert blocked.exit_code == 0, blocked.output

    [reply] = texts.text(EE, "SUN10")

    assert "We can't take a gift from this phone, so no charge was made" in reply
    assert "0344 871 11 11" in reply
    assert texts.donations() == [] and texts.simulator.charges == {}
    assert cli("donor", "unblock", "--phone", EE, "--reason", "power of attorney says yes").exit_code == 0
    texts.text(EE, "SUN5")
    assert texts.simulator.charged_pence() == 500


def test_a_block_needs_a_reason(cli):
    refused = cli("donor", "block", "--email", "jo@example.org", "--reason", "  ")
    assert refused.exit_code == 2 and "give a reason for the block" in refused.output
