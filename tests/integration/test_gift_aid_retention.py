"""Erasure keeps Gift Aid records for HMRC's six years, and reaches the email log and sent texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from everypenny.domain.appeal import Channel
from everypenny.domain.donation import Medium
from everypenny.domain.erasure import Contact, pseudonym
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.text_giving import OutboundText
from everypenny.service_layer.online_ports import EmailMessage

PHONE = "+447700900123"
EMAIL = "jane@example.org"


def declare(platform, reference: str, declared_at: datetime) -> None:
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration.make(
            donation_reference=reference, charity_name="British Red Cross", title="Ms", first_name="Jane",
            last_name="Doe", house="4", address="", postcode="LS1 4AP", scope=GiftAidScope.PAST_AND_FUTURE,
            declared_at=declared_at, source="test", contact=EMAIL))
        uow.commit()


def test_a_donor_with_a_recent_gift_aid_declaration_is_not_erased_and_is_told_why(platform, record_donation, cli):
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime(2026, 3, 1, tzinfo=UTC))

    refused = cli("donor", "erase", "--email", EMAIL, "--yes")

    assert refused.exit_code == 3
    assert ("HMRC requires Gift Aid declarations and claims to be kept for 6 years: this donor's latest was on "
            "01 Mar 2026, so their details are kept until 01 Mar 2032 (gift-aid-records)") in refused.output
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == EMAIL


def test_a_gift_aid_claim_restarts_the_six_years(platform, record_donation, cli, tmp_path):
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime.now(UTC) - timedelta(days=7 * 365))
    assert cli("giftaid", "schedule", "--appeal", "sun-ukraine-fund", "--output", tmp_path / "s.csv",
               "--claim").exit_code == 0

    refused = cli("donor", "erase", "--email", EMAIL, "--yes")

    assert refused.exit_code == 3 and f"latest was on {datetime.now(UTC):%d %b %Y}" in refused.output


def test_after_six_years_the_donor_is_erased(platform, record_donation, cli):
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime.now(UTC) - timedelta(days=6 * 366))

    erased = cli("donor", "erase", "--email", EMAIL, "--yes")

    assert erased.exit_code == 0, erased.output
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == pseudonym(platform.settings.secret_key,
                                                                    Contact(Medium.EMAIL, EMAIL))


def test_erasure_covers_the_email_log_and_the_texts_sent(platform, record_donation, cli):
    gift = record_donation(500, Channel.CARRIER_SMS, phone=PHONE, email=EMAIL)
    with platform.uow() as uow:
        uow.emails.record(EmailMessage("receipt", gift.reference, EMAIL, "Your receipt",
                                       f"Dear donor ({EMAIL}), thank you for your £5.", datetime.now(UTC)))
        uow.texts.add_messages([OutboundText("mo-1-m1", "aggregator", PHONE, "70141", "Thank you! You gave £5",
                                             "receipt", "aggregator:mo-1", donation_reference=gift.reference)])
        uow.commit()

    erased = cli("donor", "erase", "--phone", PHONE, "--yes")

    assert erased.exit_code == 0, erased.output
    with platform.engine.connect() as connection:
        stored = " ".join(connection.execute(text(
            "SELECT recipient || ' ' || body FROM email_messages UNION ALL SELECT to_number FROM sms_outbound"))
            .scalars())
    assert EMAIL not in stored and "900123" not in stored
    assert "thank you for your £5" in stored
