"""A keyword texted to the shortcode becomes a charged, receipted, ledgered donation."""

from __future__ import annotations

from everypenny.domain.donation import DonationStatus
from everypenny.domain.text_giving import ChargeStatus

EE = "+447700900001"


def test_sun5_from_a_uk_mobile_is_charged_receipted_and_raised(texts):
    replies = texts.text(EE, "SUN£5")

    assert len(replies) == 2
    assert "Thank you! You gave £5 to The Sun's Ukraine Fund for British Red Cross" in replies[0]
    assert "0344 871 11 11" in replies[0] and "STOP" in replies[0]
    assert "Gift Aid" in replies[1] and "http://testserver/gift-aid/" in replies[1]
    [donation] = texts.donations()
    assert (donation.status, donation.amount_pence, donation.paid_pence) == (DonationStatus.PAID, 500, 500)
    assert donation.phone == EE and donation.keyword == "SUN" and donation.marketing_consent
    [charge] = texts.charges(donation.reference)
    assert (charge.status, charge.amount_pence, charge.network) == (ChargeStatus.CHARGED, 500, "EE")
    assert texts.totals()["raised_pence"] == 500 == texts.simulator.charged_pence()
    assert texts.totals()["by_channel"] == {"carrier_sms": 500}
