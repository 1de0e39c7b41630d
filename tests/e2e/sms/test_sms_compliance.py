"""The law's limits on text giving: a stopped number stays stopped, spend within the PSR exclusion, and
people the charity protects are not charged. Each test reads as the rule it holds."""

from __future__ import annotations

from everypenny.domain.donation import Medium
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
