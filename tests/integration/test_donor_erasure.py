"""Erasing a donor keeps every ledger transfer, total and chain entry exactly as it was (both stores)."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from everypenny.domain.appeal import Channel
from everypenny.domain.donation import ConsentRecord, Medium
from everypenny.domain.erasure import Contact, ErasureRefused, RetentionHold, pseudonym
from everypenny.domain.retention import years_after
from everypenny.service_layer.erasure import erase_donor
from everypenny.service_layer.proof import seal_appeal, verify_appeal

SLUG = "sun-ukraine-fund"
PHONE = "+447700900123"
EMAIL = "jane@example.org"


@pytest.fixture
def donors(platform, record_donation):
    """Jane gave twice (once by text, once online with her email); Sam gave once. Then the ledger is sealed."""
    jane_text = record_donation(500, Channel.CARRIER_SMS, phone=PHONE)
    jane_online = record_donation(2500, Channel.ONLINE, phone=PHONE, email=EMAIL)
    sam = record_donation(1000, Channel.CARRIER_SMS, phone="+447700900999")
    moment = datetime.now(UTC)
    with platform.uow() as uow:
        uow.consents.record(ConsentRecord(PHONE, Medium.SMS, True, "sms:SUN5", moment, SLUG))
        uow.consents.record(ConsentRecord(EMAIL, Medium.EMAIL, True, "online:checkbox", moment, SLUG))
        uow.inbox.accept("aggregator", "mo-1", "mo", {"msisdn": "447700900123", "text": "SUN5"})
        uow.outbox.enqueue("sms.receipt", {"to": PHONE, "body": "Thank you for your £5 to The Sun's Ukraine Fund"})
        uow.commit()
    seal_appeal(platform.uow, SLUG)
    return jane_text, jane_online, sam


def ledger_snapshot(platform):
    with platform.uow() as uow:
        return (uow.ledger.totals(SLUG), uow.ledger.balances(SLUG), uow.ledger.transfers(SLUG),
                verify_appeal(uow, SLUG))


def erase(platform, typed=PHONE, medium=Medium.SMS, rules=()):
    return erase_donor(platform.uow(), Contact.parse(medium, typed), platform.settings.secret_key, rules)


def test_erasure_leaves_totals_transfers_and_the_chain_unchanged(platform, donors):
    before = ledger_snapshot(platform)

    erase(platform, "07700 900123")

    after = ledger_snapshot(platform)
    assert after == before
    assert after[3].intact and after[3].head == before[3].head


def test_the_donors_contacts_become_pseudonyms_everywhere_and_no_one_elses(platform, donors):
    jane_text, jane_online, sam = donors
    key = platform.settings.secret_key

    result = erase(platform)

    phone_alias = pseudonym(key, Contact(Medium.SMS, PHONE))
    email_alias = pseudonym(key, Contact(Medium.EMAIL, EMAIL))
    assert (result.pseudonym, result.donations, result.records) == (phone_alias, 2, 4)  # 2 consents, 2 messages
    with platform.uow() as uow:
        assert uow.donations.get(jane_text.reference).phone == phone_alias
        online = uow.donations.get(jane_online.reference)
        assert (online.phone, online.email) == (phone_alias, email_alias)
        assert uow.donations.get(sam.reference).phone == "+447700900999"
        assert uow.consents.current(phone_alias, Medium.SMS) is True
    with platform.engine.connect() as connection:
        stored = " ".join(connection.execute(text(
            "SELECT payload FROM inbox_messages UNION ALL SELECT payload FROM outbox_tasks "
            "UNION ALL SELECT contact FROM consents "
            "UNION ALL SELECT coalesce(phone, '') || coalesce(email, '') FROM donations")).scalars())
    assert "900123" not in stored and EMAIL not in stored


def test_erasing_again_gives_the_same_pseudonym_and_says_so(platform, donors):
    first = erase(platform)
    again = erase(platform, "+44 7700 900123")

    assert again.pseudonym == first.pseudonym
    assert again.already_erased and again.donations == 0


def test_a_retention_rule_refuses_erasure_with_its_reason_and_nothing_changes(platform, donors):
    jane_text, *_ = donors

    def gift_aid_declarations(uow, contact):
        if contact == Contact(Medium.SMS, PHONE):
            return RetentionHold("gift-aid-6-years", "a Gift Aid declaration must be kept until 2032")
        return None

    with pytest.raises(ErasureRefused, match="Gift Aid declaration must be kept until 2032"):
        erase(platform, EMAIL, Medium.EMAIL, rules=[gift_aid_declarations])
    with platform.uow() as uow:
        assert uow.donations.get(jane_text.reference).phone == PHONE
        assert uow.consents.current(EMAIL, Medium.EMAIL) is True


def test_erasure_from_the_command_line(cli, donors, platform):
    erased = cli("donor", "erase", "--phone", "07700900123", "--yes")
    again = cli("donor", "erase", "--phone", "07700900123", "--yes")
    unknown = cli("donor", "erase", "--email", "nobody@example.org", "--yes")
    invalid = cli("donor", "erase", "--phone", "12", "--yes")
    both = cli("donor", "erase", "--phone", PHONE, "--email", EMAIL, "--yes")

    # The text gift is a phone-paid record (Ofcom: 2 years), which keeps the donations' contacts till then.
    assert erased.exit_code == 0 and "erased now: 0 donations and 4 other records (consents, messages)" in erased.output
    assert "every ledger entry and total is unchanged" in erased.output
    assert f"kept until {years_after(date.today(), 2):%d %b %Y}, then erased: Phone-paid service records" in \
        erased.output
    assert again.exit_code == 0 and "already erased on" in again.output
    assert unknown.exit_code == 0 and "nothing stored under that contact" in unknown.output
    assert invalid.exit_code == 2 and "not a valid phone number" in invalid.output
    assert both.exit_code == 2 and "exactly one of --phone or --email" in both.output


def test_a_refusal_on_the_command_line_gives_the_reason(cli, donors, platform):
    platform.retention_rules.append(lambda uow, contact: RetentionHold("gift-aid-6-years", "Gift Aid records"))

    refused = cli("donor", "erase", "--phone", PHONE, "--yes")

    assert refused.exit_code == 3 and "erasure refused: Gift Aid records (gift-aid-6-years)" in refused.output


def _stored_texts(platform) -> str:
    with platform.engine.connect() as connection:
        return " ".join(connection.execute(text(
            "SELECT payload FROM inbox_messages UNION ALL SELECT payload FROM outbox_tasks "
            "UNION ALL SELECT body FROM sms_outbound UNION ALL SELECT to_number FROM sms_outbound")).scalars())


def test_stripe_events_lose_the_customers_name_email_and_address_whatever_their_case_or_escaping(
        platform, record_donation, stripe_event):
    from everypenny.service_layer.online_donations import accept_stripe_event
    from everypenny.service_layer.online_ports import ReceivedEvent

    def received(event: dict) -> ReceivedEvent:
        return ReceivedEvent(event["id"], event["type"], event)

    donation = record_donation(2500, Channel.ONLINE, email="josé@example.org")
    completed = stripe_event("checkout.session.completed", {
        "id": "cs_1", "metadata": {"reference": donation.reference}, "customer_email": "José@Example.org",
        "customer_details": {"name": "José Núñez", "email": "José@Example.org", "phone": None,
                             "address": {"line1": "12 Elm Row", "city": "Leeds", "postal_code": "LS1 4AP",
                                         "country": "GB"}}})
    accept_stripe_event(platform.uow, received(completed))
    shouted = stripe_event("charge.succeeded", {"id": "ch_1", "billing_details": {
        "name": "JOSÉ NÚÑEZ", "email": "JOSÉ@EXAMPLE.ORG", "address": {"line1": "12 ELM ROW"}}})
    accept_stripe_event(platform.uow, received(shouted))
    unrelated = stripe_event("checkout.session.completed", {"id": "cs_2", "customer_details": {
        "name": "Jos Other", "email": "jos@example.org"}})
    accept_stripe_event(platform.uow, received(unrelated))

    result = erase(platform, "JOSÉ@example.org", Medium.EMAIL)

    stored = _stored_texts(platform)
    assert result.records == 4  # two events, each in the inbox and in the outbox
    for personal in ("N\\u00fa\\u00f1ez", "N\\u00da\\u00d1EZ", "Jos\\u00e9", "JOS\\u00c9", "Elm Row", "ELM ROW",
                     "LS1 4AP"):
        assert personal not in stored
    assert stored.count("Jos Other") == 2 and stored.count("jos@example.org") == 2  # someone else's, untouched
    assert "cs_1" in stored and "ch_1" in stored  # the events themselves stay


def test_texts_we_sent_lose_the_number_and_the_link_token_that_carries_it(platform, record_donation):
    from everypenny.adapters.db.schema import sms_outbound
    from everypenny.service_layer import links

    record_donation(500, Channel.TEXT_TO_LINK, phone=PHONE)
    link = links.prefilled_donation_url("https://give.example", platform.settings.secret_key, SLUG, 500, PHONE)
    moment = datetime.now(UTC)
    with platform.engine.begin() as connection:
        connection.execute(sms_outbound.insert().values(
            request_id="r1", provider="twilio", to_number=PHONE, sender="+447700900141",
            body=f"Tap to give £5: {link} Reply STOP to opt out", purpose="link", in_reply_to="SM1",
            status="sent", created_at=moment, updated_at=moment))

    erase(platform)

    stored = _stored_texts(platform)
    assert "from=" in stored and link.split("from=")[1] not in stored
    assert "900123" not in stored
    assert "https://give.example/donate/sun-ukraine-fund?amount_pence=500&from= Reply STOP" in stored


def test_a_gift_aid_declarants_name_and_address_go_once_no_retention_rule_holds(platform, record_donation):
    from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope

    donation = record_donation(2500, Channel.ONLINE, email=EMAIL)
    with platform.uow() as uow:
        uow.gift_aid.add(GiftAidDeclaration.make(
            donation_reference=donation.reference, charity_name="British Red Cross", title="Mrs", first_name="Jane",
            last_name="Doe", house="12", address="Elm Row, Leeds", postcode="LS1 4AP",
            scope=GiftAidScope.THIS_DONATION, declared_at=datetime(2019, 1, 5, tzinfo=UTC), source="test",
            contact=EMAIL))
        uow.commit()

    erase(platform, EMAIL, Medium.EMAIL)

    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(donation.reference)
    assert (declaration.first_name, declaration.last_name, declaration.house, declaration.postcode) == ("", "", "", "")
    assert declaration.contact == pseudonym(platform.settings.secret_key, Contact(Medium.EMAIL, EMAIL))
