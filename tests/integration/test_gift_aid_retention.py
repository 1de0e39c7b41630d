"""The retention schedule (domain/retention.py): an erasure request erases at once what no period keeps, and
the housekeeping job erases the rest on the day its period ends (Ofcom: phone-paid records 2 years from the
transaction; HMRC: Gift Aid records 6 years from the end of the accounting period of the claim)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from everypenny.domain.appeal import UK_TIME, Channel
from everypenny.domain.donation import ConsentRecord, Medium
from everypenny.domain.erasure import Contact, pseudonym
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.retention import schedule_table, years_after
from everypenny.domain.text_giving import OutboundText
from everypenny.service_layer.erasure import erase_due
from everypenny.service_layer.online_ports import EmailMessage

PHONE = "+447700900123"
EMAIL = "jane@example.org"
DOCS = Path(__file__).parents[2] / "docs" / "privacy-and-erasure.md"


def declare(platform, reference: str, declared_at: datetime) -> None:
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration.make(
            donation_reference=reference, charity_name="British Red Cross", title="Ms", first_name="Jane",
            last_name="Doe", house="4", address="", postcode="LS1 4AP", scope=GiftAidScope.PAST_AND_FUTURE,
            declared_at=declared_at, source="test", contact=EMAIL))
        uow.commit()


def alias(platform, medium: Medium, value: str) -> str:
    return pseudonym(platform.settings.secret_key, Contact(medium, value))


def test_the_retention_schedule_is_the_one_the_privacy_docs_show():
    assert schedule_table() in DOCS.read_text(encoding="utf-8")


def test_gift_aid_records_are_kept_six_years_from_the_end_of_the_claims_accounting_period(
        platform, record_donation, cli):
    """HMRC: 6 years from the end of the accounting period of the claim (the appeal file's year ends 31/12)."""
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime(2026, 3, 1, tzinfo=UTC))
    with platform.uow() as uow:
        uow.consents.record(ConsentRecord(EMAIL, Medium.EMAIL, True, "online:checkbox", datetime.now(UTC)))
        uow.commit()

    erased = cli("donor", "erase", "--email", EMAIL, "--yes")

    assert erased.exit_code == 0, erased.output
    assert "erased now: 0 donations and 1 other record" in erased.output
    assert "kept until 31 Dec 2032, then erased: Gift Aid declarations" in erased.output
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == EMAIL  # kept for HMRC
        assert uow.consents.current(EMAIL, Medium.EMAIL) is None  # no rule keeps a consent

    erase_due(platform.uow, platform.settings.secret_key, today=date(2032, 12, 30))
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == EMAIL
    erase_due(platform.uow, platform.settings.secret_key, today=date(2032, 12, 31))
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == alias(platform, Medium.EMAIL, EMAIL)
        assert uow.gift_aid.for_donation(gift.reference).last_name == ""


def test_a_gift_aid_claim_restarts_the_clock(platform, record_donation, cli, tmp_path):
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime.now(UTC) - timedelta(days=8 * 365))
    assert cli("giftaid", "schedule", "--appeal", "sun-ukraine-fund", "--output", tmp_path / "s.csv",
               "--claim").exit_code == 0

    erased = cli("donor", "erase", "--email", EMAIL, "--yes")

    claimed_on = datetime.now(UK_TIME).date()
    assert erased.exit_code == 0 and f"kept until 31 Dec {claimed_on.year + 6}" in erased.output


def test_once_every_period_has_ended_the_donor_is_erased_at_once(platform, record_donation, cli):
    gift = record_donation(2500, Channel.ONLINE, email=EMAIL)
    declare(platform, gift.reference, datetime.now(UTC) - timedelta(days=7 * 366))

    erased = cli("donor", "erase", "--email", EMAIL, "--yes")

    assert erased.exit_code == 0 and "kept until" not in erased.output, erased.output
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).email == alias(platform, Medium.EMAIL, EMAIL)


def test_phone_paid_records_are_kept_two_years_from_the_transaction_the_rest_goes_now(
        platform, record_donation, cli):
    """Ofcom (PSA data-retention guidance): phone-paid service records are kept 2 years."""
    gift = record_donation(500, Channel.CARRIER_SMS, phone=PHONE, email=EMAIL)
    with platform.uow() as uow:
        uow.emails.record(EmailMessage("receipt", gift.reference, EMAIL, "Your receipt",
                                       f"Dear donor ({EMAIL}), thank you for your £5.", datetime.now(UTC)))
        uow.texts.add_messages([OutboundText("mo-1-m1", "aggregator", PHONE, "70141", "Thank you! You gave £5",
                                             "receipt", "aggregator:mo-1", donation_reference=gift.reference)])
        uow.commit()

    erased = cli("donor", "erase", "--phone", PHONE, "--yes")

    until = years_after(datetime.now(UTC).date(), 2)
    assert erased.exit_code == 0, erased.output
    assert f"kept until {until:%d %b %Y}, then erased: Phone-paid service records" in erased.output
    assert stored(platform, "SELECT recipient || ' ' || body FROM email_messages").count(EMAIL) == 0
    assert "900123" in stored(platform, "SELECT to_number FROM sms_outbound")  # kept for Ofcom

    erase_due(platform.uow, platform.settings.secret_key, today=until)

    assert "900123" not in stored(platform, "SELECT to_number FROM sms_outbound")
    with platform.uow() as uow:
        assert uow.donations.get(gift.reference).phone == alias(platform, Medium.SMS, PHONE)
        assert uow.proof.scheduled_erasures() == []


def stored(platform, query: str) -> str:
    with platform.engine.connect() as connection:
        return " ".join(connection.execute(text(query)).scalars())
