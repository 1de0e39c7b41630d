"""Online donations against both stores: starting a checkout, and Stripe's events moving the money."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from everypenny.adapters.db.schema import outbox_tasks
from everypenny.adapters.payments.stripe_events import read_event
from everypenny.domain.appeal import Channel
from everypenny.domain.donation import DonationStatus
from everypenny.domain.gift_aid import GiftAidScope
from everypenny.domain.ledger import AccountCode, Phase, TransferKind
from everypenny.service_layer import links
from everypenny.service_layer.online_donations import (
    CheckoutUnavailable,
    DonationForm,
    DonationNotFound,
    DonationRefused,
    EventNotYetApplicable,
    GiftAidAlreadyDeclared,
    GiftAidAnswers,
    OnlineContext,
    RateLimited,
    RateLimits,
    RefundRefused,
    apply_stripe_event,
    declare_gift_aid,
    request_refund,
    start_online_donation,
)
from everypenny.service_layer.online_ports import CheckoutStatus
from tests.eventually import eventually

SLUG = "sun-ukraine-fund"
ANSWERS = GiftAidAnswers(title="Ms", first_name="Olena", last_name="Shevchenko", house="12",
                         address="Acacia Avenue, Leeds", postcode="ls1 4ap")


def context(platform, per_ip=20, per_email=5) -> OnlineContext:
    return OnlineContext(public_url="https://give.example", secret_key=platform.settings.secret_key,
                         limits=RateLimits(per_ip=per_ip, per_email=per_email, window=timedelta(minutes=10)))


def start(platform, gateway, form: DonationForm, ip="203.0.113.7", **limits):
    return start_online_donation(platform.uow, gateway, context(platform, **limits), SLUG, form, ip)


def totals(platform):
    with platform.uow() as uow:
        return uow.ledger.totals(SLUG)


def donation(platform, reference):
    with platform.uow() as uow:
        return uow.donations.get(reference)


def apply(platform, event):
    with platform.uow() as uow:
        apply_stripe_event(uow, read_event(event))
        uow.commit()


def transfers(platform, reference):
    with platform.uow() as uow:
        return uow.ledger.transfers(SLUG, reference)


def session_object(reference, amount=500, status="complete", payment_status="paid", email=None):
    return {"id": f"cs_test_{reference}", "object": "checkout.session", "status": status,
            "payment_status": payment_status, "amount_total": amount, "payment_intent": f"pi_{reference}",
            "client_reference_id": reference, "metadata": {"reference": reference},
            "customer_details": {"email": email} if email else None}


def failed_intent(reference, message="Your card has insufficient funds."):
    return {"id": f"pi_{reference}", "object": "payment_intent", "metadata": {"reference": reference},
            "last_payment_error": {"type": "card_error", "decline_code": "insufficient_funds", "message": message}}


def refund_object(reference, amount, number=1, status="succeeded"):
    return {"id": f"re_{number}_{reference}", "object": "refund", "amount": amount, "status": status,
            "charge": f"ch_{reference}", "payment_intent": f"pi_{reference}", "metadata": {}}


def dispute(reference, status, amount=500, withdrawn=False, reinstated=False):
    """A dispute as its events carry it: the balance transactions Stripe made for it so far, and its status."""
    transactions = [{"id": f"txn_{category}_{reference}", "object": "balance_transaction", "amount": sign * amount,
                     "reporting_category": category}
                    for category, sign, made in (("dispute", -1, withdrawn), ("dispute_reversal", 1, reinstated))
                    if made]
    return {"id": f"dp_{reference}", "object": "dispute", "amount": amount, "status": status,
            "charge": f"ch_{reference}", "payment_intent": f"pi_{reference}", "balance_transactions": transactions}


def test_starting_a_donation_reserves_it_as_pending_and_opens_a_checkout(platform, seed_appeal, fake_gateway):
    started = start(platform, fake_gateway, DonationForm(amount_pence=500, email="Donor@Example.org "))

    assert started.checkout_url.startswith("https://checkout.example/cs_test_")
    [request] = fake_gateway.requests
    assert (request.amount_pence, request.currency, request.email) == (500, "GBP", "donor@example.org")
    success, cancel = urlsplit(request.success_url), urlsplit(request.cancel_url)
    assert success.path == f"/donate/{SLUG}/thank-you/{started.reference}"
    assert cancel.path == f"/donate/{SLUG}/cancelled/{started.reference}"
    [key] = parse_qs(success.query)["key"]
    assert parse_qs(cancel.query)["key"] == [key]
    assert links.reference_from_receipt_key(platform.settings.secret_key, key, timedelta(days=1)) == started.reference
    stored = donation(platform, started.reference)
    assert request.expires_at - stored.created_at == timedelta(hours=1)
    assert (stored.status, stored.channel, stored.marketing_consent) == (DonationStatus.PENDING, Channel.ONLINE, False)
    [pending] = transfers(platform, started.reference)
    assert (pending.phase, pending.kind, pending.debit, pending.credit, pending.amount_pence) == (
        Phase.PENDING, TransferKind.DONATION, AccountCode.receivable(Channel.ONLINE), AccountCode.RESTRICTED_FUND,
        500)
    figures = totals(platform)
    assert (figures.raised_pence, figures.pending_pence) == (0, 500)


def test_less_than_the_appeal_minimum_is_refused_and_nothing_is_stored(platform, seed_appeal, fake_gateway):
    with pytest.raises(DonationRefused) as refused:
        start(platform, fake_gateway, DonationForm(amount_pence=299))

    assert refused.value.problems == {"amount_pence": "the smallest donation we can take online is £3"}
    assert fake_gateway.requests == []
    with platform.uow() as uow:
        assert uow.donations.latest(SLUG) == []


def test_every_mistake_is_reported_at_once(platform, seed_appeal, fake_gateway):
    bad_gift_aid = GiftAidAnswers(first_name="", last_name="Shevchenko", house="", postcode="not a postcode")

    with pytest.raises(DonationRefused) as refused:
        start(platform, fake_gateway, DonationForm(amount_pence=100, email="nobody", gift_aid=bad_gift_aid))

    assert set(refused.value.problems) == {"amount_pence", "email", "gift_aid.first_name", "gift_aid.house",
                                           "gift_aid.postcode"}


def test_a_gift_aid_declaration_is_stored_dated_with_the_wording_shown(platform, seed_appeal, fake_gateway):
    started = start(platform, fake_gateway,
                    DonationForm(amount_pence=1000, email="olena@example.org", gift_aid=ANSWERS))

    with platform.uow() as uow:
        declaration = uow.gift_aid.for_donation(started.reference)
    assert (declaration.first_name, declaration.last_name, declaration.house, declaration.postcode) == (
        "Olena", "Shevchenko", "12", "LS1 4AP")
    assert declaration.contact == "olena@example.org"
    assert declaration.scope is GiftAidScope.THIS_DONATION
    assert declaration.wording.startswith("I want to Gift Aid this donation to British Red Cross.")
    assert "I am a UK taxpayer" in declaration.wording
    assert declaration.declared_at is not None


def test_a_text_to_link_donor_is_recognised_by_the_signed_phone_in_the_link(platform, seed_appeal, fake_gateway):
    url = links.prefilled_donation_url("https://give.example", platform.settings.secret_key, SLUG, 500, "+447700900123")
    token = url.split("from=")[1]

    started = start(platform, fake_gateway, DonationForm(amount_pence=500, prefill_token=token))

    stored = donation(platform, started.reference)
    assert (stored.channel, stored.phone) == (Channel.TEXT_TO_LINK, "+447700900123")
    [pending] = transfers(platform, started.reference)
    assert pending.debit == AccountCode.receivable(Channel.TEXT_TO_LINK)


def test_a_forged_link_token_is_taken_as_a_plain_online_donation(platform, seed_appeal, fake_gateway):
    started = start(platform, fake_gateway, DonationForm(amount_pence=500, prefill_token="forged.token"))

    stored = donation(platform, started.reference)
    assert (stored.channel, stored.phone) == (Channel.ONLINE, None)


def test_marketing_consent_is_recorded_only_when_ticked(platform, seed_appeal, fake_gateway):
    from everypenny.domain.donation import Medium

    start(platform, fake_gateway, DonationForm(amount_pence=500, email="yes@example.org", marketing_consent=True))
    start(platform, fake_gateway, DonationForm(amount_pence=500, email="no@example.org"))

    with platform.uow() as uow:
        assert uow.consents.current("yes@example.org", Medium.EMAIL) is True
        assert uow.consents.current("no@example.org", Medium.EMAIL) is None


def test_an_email_consent_keeps_the_words_of_the_box_the_donor_ticked(platform, seed_appeal, fake_gateway):
    from everypenny.adapters.db.schema import consent_wordings, consents

    start(platform, fake_gateway, DonationForm(amount_pence=500, email="yes@example.org", marketing_consent=True))

    with platform.engine.connect() as connection:
        words = connection.scalar(select(consent_wordings.c.wording).join(
            consents, consents.c.wording_version == consent_wordings.c.version))
    assert words == "Yes, British Red Cross may email me about its work and appeals. You can unsubscribe at any time."


def test_attempts_over_the_limit_per_email_and_per_ip_are_refused(platform, seed_appeal, fake_gateway):
    for _ in range(2):
        start(platform, fake_gateway, DonationForm(amount_pence=300, email="tester@example.org"), per_email=2)
    with pytest.raises(RateLimited) as limited:
        start(platform, fake_gateway, DonationForm(amount_pence=300, email="tester@example.org"), per_email=2)
    assert 0 < limited.value.retry_after_s <= 600

    for _ in range(3):
        start(platform, fake_gateway, DonationForm(amount_pence=300), ip="198.51.100.9", per_ip=3)
    with pytest.raises(RateLimited):
        start(platform, fake_gateway, DonationForm(amount_pence=300), ip="198.51.100.9", per_ip=3)
    start(platform, fake_gateway, DonationForm(amount_pence=300), ip="198.51.100.10", per_ip=3)
    assert len(fake_gateway.requests) == 6


def test_when_the_processor_is_down_the_donation_fails_and_nothing_is_pending(platform, seed_appeal, fake_gateway):
    fake_gateway.fail = True

    with pytest.raises(CheckoutUnavailable):
        start(platform, fake_gateway, DonationForm(amount_pence=500))

    with platform.uow() as uow:
        [failed] = uow.donations.latest(SLUG)
    assert failed.status is DonationStatus.FAILED
    assert totals(platform).pending_pence == 0


@pytest.fixture
def started(platform, seed_appeal, fake_gateway):
    return start(platform, fake_gateway, DonationForm(amount_pence=500, email="donor@example.org"))


def test_a_completed_checkout_posts_the_donation_and_queues_one_receipt(platform, started, stripe_event):
    event = stripe_event("checkout.session.completed", session_object(started.reference))

    apply(platform, event)
    apply(platform, event)  # a replay that got past the inbox changes nothing

    stored = donation(platform, started.reference)
    assert (stored.status, stored.paid_pence) == (DonationStatus.PAID, 500)
    assert [t.phase for t in transfers(platform, started.reference)] == [Phase.PENDING, Phase.POST]
    figures = totals(platform)
    assert (figures.raised_pence, figures.pending_pence, figures.donation_count) == (500, 0, 1)
    with platform.uow() as uow:
        assert uow.outbox.depth() == 1  # the receipt, queued once
        assert uow.checkouts.by_reference(started.reference).status is CheckoutStatus.PAID


def test_an_expired_checkout_voids_the_pending_money(platform, started, stripe_event):
    apply(platform, stripe_event("checkout.session.expired",
                                 session_object(started.reference, status="expired", payment_status="unpaid")))

    stored = donation(platform, started.reference)
    assert (stored.status, stored.failure_reason) == (DonationStatus.FAILED, "the checkout expired before payment")
    assert [t.phase for t in transfers(platform, started.reference)] == [Phase.PENDING, Phase.VOID]
    assert (totals(platform).raised_pence, totals(platform).pending_pence) == (0, 0)


def test_a_declined_card_voids_and_another_card_that_succeeds_is_still_counted_once(platform, started, stripe_event):
    apply(platform, stripe_event("payment_intent.payment_failed", failed_intent(started.reference)))
    stored = donation(platform, started.reference)
    assert (stored.status, stored.failure_reason) == (DonationStatus.FAILED, "Your card has insufficient funds.")
    assert totals(platform).pending_pence == 0

    completed = stripe_event("checkout.session.completed", session_object(started.reference))
    apply(platform, completed)
    apply(platform, completed)

    assert [t.phase for t in transfers(platform, started.reference)] == [Phase.PENDING, Phase.VOID, Phase.SINGLE]
    assert (totals(platform).raised_pence, donation(platform, started.reference).status) == (500, DonationStatus.PAID)


def test_a_failure_or_expiry_arriving_after_the_payment_changes_nothing(platform, started, stripe_event):
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))
    apply(platform, stripe_event("payment_intent.payment_failed", failed_intent(started.reference)))
    apply(platform, stripe_event("checkout.session.expired", session_object(started.reference, status="expired")))

    assert donation(platform, started.reference).status is DonationStatus.PAID
    assert totals(platform).raised_pence == 500


def test_a_refund_before_its_payment_waits_then_reverses_it(platform, started, stripe_event):
    refund = stripe_event("refund.created", refund_object(started.reference, 500))

    with pytest.raises(EventNotYetApplicable):
        apply(platform, refund)
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))
    apply(platform, refund)
    apply(platform, refund)

    stored = donation(platform, started.reference)
    assert (stored.status, stored.refunded_pence, stored.net_pence) == (DonationStatus.REFUNDED, 500, 0)
    reversal = transfers(platform, started.reference)[-1]
    assert (reversal.kind, reversal.phase, reversal.debit, reversal.credit) == (
        TransferKind.REFUND, Phase.SINGLE, AccountCode.RESTRICTED_FUND, AccountCode.receivable(Channel.ONLINE))
    assert totals(platform).raised_pence == 0


def test_partial_refunds_delivered_newest_first_reverse_exactly_what_was_refunded(platform, started, stripe_event):
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))
    first, second = (stripe_event("refund.created", refund_object(started.reference, pence, number))
                     for number, pence in ((1, 100), (2, 200)))

    apply(platform, second)
    apply(platform, first)
    apply(platform, stripe_event("refund.updated", refund_object(started.reference, 100, 1)))  # the same refund

    assert donation(platform, started.reference).refunded_pence == 300
    assert sorted(t.amount_pence for t in transfers(platform, started.reference)
                  if t.kind is TransferKind.REFUND) == [100, 200]
    assert totals(platform).raised_pence == 200


def test_a_lost_dispute_keeps_its_money_withdrawn_and_a_won_one_gets_it_back(platform, seed_appeal, fake_gateway,
                                                                            stripe_event):
    lost, won = (start(platform, fake_gateway, DonationForm(amount_pence=500)) for _ in range(2))
    for started in (lost, won):
        apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))
    apply(platform, stripe_event("charge.dispute.closed", dispute(lost.reference, "lost", withdrawn=True)))
    apply(platform, stripe_event("charge.dispute.created", dispute(lost.reference, "needs_response")))  # late
    apply(platform, stripe_event("charge.dispute.created", dispute(won.reference, "needs_response")))
    apply(platform, stripe_event("charge.dispute.funds_withdrawn",
                                 dispute(won.reference, "needs_response", withdrawn=True)))
    apply(platform, stripe_event("charge.dispute.closed", dispute(won.reference, "won", withdrawn=True,
                                                                  reinstated=True)))

    [withdrawal] = [t for t in transfers(platform, lost.reference) if t.kind is TransferKind.DISPUTE]
    assert (withdrawal.debit, withdrawal.amount_pence) == (AccountCode.RESTRICTED_FUND, 500)
    assert [(t.debit, t.amount_pence) for t in transfers(platform, won.reference) if t.kind is TransferKind.DISPUTE] \
        == [(AccountCode.RESTRICTED_FUND, 500), (AccountCode.receivable(Channel.ONLINE), 500)]
    assert donation(platform, lost.reference).metadata[f"dispute:dp_{lost.reference}"] == "lost"
    assert donation(platform, won.reference).metadata[f"dispute:dp_{won.reference}"] == "won"
    assert totals(platform).raised_pence == 500


def test_a_completed_event_for_a_session_we_never_recorded_still_books_the_donation(platform, seed_appeal,
                                                                                     stripe_event):
    from datetime import UTC, datetime

    from everypenny.domain.donation import Donation

    orphan = Donation(reference="EP-0RPHAN0000", appeal=SLUG, channel=Channel.ONLINE, amount_pence=700,
                      currency="GBP", created_at=datetime.now(UTC))
    with platform.uow() as uow:  # as if we crashed between creating the session and recording it
        uow.donations.add(orphan)
        uow.commit()

    apply(platform, stripe_event("checkout.session.completed", session_object(orphan.reference, amount=700)))

    assert [t.phase for t in transfers(platform, orphan.reference)] == [Phase.PENDING, Phase.POST]
    assert totals(platform).raised_pence == 700


def test_events_for_sessions_that_are_not_ours_are_ignored(platform, started, stripe_event):
    stranger = {"id": "cs_test_other_shop", "payment_status": "paid", "amount_total": 9900, "metadata": {}}

    apply(platform, stripe_event("checkout.session.completed", stranger))
    apply(platform, stripe_event("customer.created", {"id": "cus_1"}))

    assert totals(platform).raised_pence == 0


def test_gift_aid_can_be_added_later_once(platform, started):
    declaration = declare_gift_aid(platform.uow, started.reference, ANSWERS, "online:gift-aid-link")

    assert declaration.source == "online:gift-aid-link"
    with pytest.raises(GiftAidAlreadyDeclared):
        declare_gift_aid(platform.uow, started.reference, ANSWERS, "online:gift-aid-link")


def test_the_receipt_is_mailed_once_over_smtp_with_what_a_donor_needs(platform, started, stripe_event, smtp_sink):
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    platform.worker().drain()
    platform.worker().drain()

    [message] = smtp_sink.messages
    assert message["To"] == "donor@example.org"
    assert message["Subject"] == "Thank you for your £5 donation to The Sun's Ukraine Fund"
    body = message.get_content()
    for expected in ("Amount: £5", "Appeal: The Sun's Ukraine Fund",
                     "Donations go to British Red Cross, registered charity 220949, Scottish charity SC037738.",
                     f"Reference: {started.reference}",
                     "Gift Aid: not declared", "/gift-aid/"):
        assert expected in body
    with platform.uow() as uow:
        assert uow.emails.find("receipt", started.reference).recipient == "donor@example.org"


def test_a_receipt_to_an_international_domain_goes_out_in_its_dns_spelling(platform, seed_appeal, fake_gateway,
                                                                          stripe_event, smtp_sink):
    started = start(platform, fake_gateway, DonationForm(amount_pence=500, email="jo@exämple.org"))
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    platform.worker().drain()

    [message] = smtp_sink.messages
    assert message["To"] == "jo@xn--exmple-cua.org"


def test_a_receipt_no_server_can_take_ends_instead_of_retrying_forever(platform, seed_appeal, fake_gateway,
                                                                       stripe_event, smtp_sink):
    """The test server, like many, lacks SMTPUTF8, so a non-ASCII local part can never be delivered by it."""
    started = start(platform, fake_gateway, DonationForm(amount_pence=500, email="josé@example.org"))
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    platform.worker().drain()

    assert smtp_sink.messages == []
    with platform.uow() as uow:
        assert uow.outbox.depth() == 0 and uow.outbox.parked() == []
        assert uow.emails.find("receipt", started.reference) is None


def test_a_mistyped_smtp_url_keeps_its_password_out_of_the_stored_error(platform, started, stripe_event):
    platform.settings.smtp_url = "smtp+startls://receipts:hunter2-secret@mail.example:587"  # scheme mistyped
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    platform.worker().run_once()

    with platform.uow() as uow:
        assert uow.outbox.depth() == 1  # waits for the setting to be fixed
    with platform.engine.connect() as connection:
        [error] = connection.execute(select(outbox_tasks.c.last_error).where(
            outbox_tasks.c.last_error.is_not(None))).scalars()
    assert "EVERYPENNY_SMTP_URL must look like smtp://host:port" in error
    assert "receipts:***@mail.example" in error and "hunter2-secret" not in error


def test_when_the_mail_server_is_down_the_receipt_waits_in_the_outbox(platform, started, stripe_event):
    platform.settings.smtp_url = "smtp://127.0.0.1:9"  # nothing listens on the discard port
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    platform.worker().run_once()

    with platform.uow() as uow:
        assert uow.outbox.depth() == 1
        assert uow.emails.find("receipt", started.reference) is None


def test_rate_limit_windows_that_have_passed_are_forgotten(platform, seed_appeal, fake_gateway):
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from everypenny.adapters.db.schema import rate_limit_windows

    with platform.uow() as uow:
        uow.rate_limits.hit("donation:ip", "192.0.2.1", datetime(2020, 1, 1, tzinfo=UTC))
        uow.commit()

    start(platform, fake_gateway, DonationForm(amount_pence=300))

    with platform.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(rate_limit_windows)) == 1


def test_two_workers_applying_refunds_for_one_payment_take_turns(platform, started, stripe_event):
    import threading

    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))
    first, second = (stripe_event("refund.created", refund_object(started.reference, pence, number))
                     for number, pence in ((1, 200), (2, 300)))
    errors = []

    def apply_second() -> None:
        try:
            apply(platform, second)
        except Exception as error:  # surfaced below
            errors.append(error)

    with platform.uow() as uow:
        apply_stripe_event(uow, read_event(first))  # holds the checkout's lock until it commits
        other_worker = threading.Thread(target=apply_second)
        other_worker.start()
        _wait_until_another_transaction_waits_for_a_lock(platform)
        uow.commit()
    other_worker.join(timeout=30)

    assert errors == []
    assert [t.amount_pence for t in transfers(platform, started.reference) if t.kind is TransferKind.REFUND] == [
        200, 300]
    assert donation(platform, started.reference).refunded_pence == 500


def _wait_until_another_transaction_waits_for_a_lock(platform) -> None:
    """On PostgreSQL, until the other worker is blocked; SQLite serialises writers at BEGIN anyway."""
    from sqlalchemy import text

    if platform.engine.dialect.name != "postgresql":
        return
    with platform.engine.connect() as connection:
        def waiting() -> int:
            connection.rollback()  # a fresh snapshot of pg_locks each time
            return connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))

        eventually(waiting, every_s=0.01, failure="the other worker never reached the lock")


def test_a_refund_is_asked_of_the_processor_and_booked_when_it_confirms(platform, started, fake_gateway,
                                                                       stripe_event):
    with pytest.raises(RefundRefused, match="no card payment left"):
        request_refund(platform.uow, fake_gateway, started.reference)  # not paid yet
    apply(platform, stripe_event("checkout.session.completed", session_object(started.reference)))

    with pytest.raises(RefundRefused, match="between 1 and 500"):
        request_refund(platform.uow, fake_gateway, started.reference, 501)
    requested = request_refund(platform.uow, fake_gateway, started.reference, 200)
    request_refund(platform.uow, fake_gateway, started.reference, 200)  # repeated before Stripe answers

    assert (requested.amount_pence, requested.currency) == (200, "GBP")
    [(intent, amount, key), (_, _, same_key)] = fake_gateway.refunds
    assert (intent, amount, key == same_key) == (f"pi_{started.reference}", 200, True)
    assert totals(platform).raised_pence == 500  # nothing is booked until Stripe says it happened
    apply(platform, stripe_event("refund.created", refund_object(started.reference, 200)))
    assert totals(platform).raised_pence == 300
    rest = request_refund(platform.uow, fake_gateway, started.reference)
    assert rest.amount_pence == 300
    assert fake_gateway.refunds[-1][2] != key
    with pytest.raises(DonationNotFound):
        request_refund(platform.uow, fake_gateway, "EP-NOSUCHONE0")
