"""Online card donations: start a hosted checkout, then let the processor's events move the money.

The ledger follows the checkout: a PENDING donation transfer when the session is created, POSTed when it is
paid, VOIDed when it expires or a payment attempt fails. Refunds and lost disputes are new transfers the other
way; nothing already recorded is edited. Processor fees never touch the donation: it is recorded gross.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import structlog

from everypenny.domain import postings
from everypenny.domain.appeal import Appeal, Channel
from everypenny.domain.consent import email_opt_in
from everypenny.domain.donation import ConsentRecord, Donation, DonationStatus, Medium, new_reference
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidInvalid, GiftAidScope
from everypenny.domain.ledger import TransferKind
from everypenny.domain.money import format_pence
from everypenny.domain.text import has_unstorable_characters
from everypenny.service_layer import links
from everypenny.service_layer.appeals import UnknownPartner, appeal_of, stored_appeal
from everypenny.service_layer.ledger import apply_transfer
from everypenny.service_layer.online_ports import (
    Checkout,
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    DisputeChanged,
    DisputeMove,
    HostedCheckout,
    PaymentChange,
    PaymentEvent,
    PaymentFailed,
    PaymentGateway,
    ReceivedEvent,
    RefundChanged,
    SessionCompleted,
    SessionExpired,
    SessionPaymentFailed,
)
from everypenny.service_layer.ports import DuplicateKey
from everypenny.service_layer.protection import GivingProtected, is_protected
from everypenny.service_layer.rate_limits import seconds_left, window_start
from everypenny.service_layer.unit_of_work import Transaction, UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)

RECEIPT_TOPIC = "online.receipt"
STRIPE_EVENT_TOPIC = "stripe.event"
# Stripe cannot take more than £999,999.99 in one card payment.
MAX_ONLINE_PENCE = 99_999_999
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AppealNotTakingDonations(ValueError):
    def __init__(self, appeal: Appeal) -> None:
        super().__init__(f"{appeal.name} is {appeal.status.value} and is not taking donations")


class DonationRefused(ValueError):
    """The form has mistakes; `problems` maps each field to what is wrong with it, in the donor's terms."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems.items()))
        self.problems = problems


class RateLimited(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many donation attempts; try again in {retry_after_s} seconds")
        self.retry_after_s = retry_after_s


class CheckoutUnavailable(Exception):
    """The card processor could not start a checkout; the donation is marked failed and nothing is pending."""


@dataclass(frozen=True)
class GiftAidAnswers:
    first_name: str
    last_name: str
    house: str
    postcode: str
    address: str = ""
    title: str = ""
    scope: GiftAidScope = GiftAidScope.THIS_DONATION
    first_name_latin: str = ""  # the name in Latin letters, when written in another script
    last_name_latin: str = ""


@dataclass(frozen=True)
class DonationForm:
    amount_pence: int
    email: str | None = None
    marketing_consent: bool = False
    gift_aid: GiftAidAnswers | None = None
    prefill_token: str | None = None  # the `from` of a text-to-link link: the donor's phone, signed
    partner: str | None = None  # the slug of the media partner whose page it came from; None: the appeal's own


@dataclass(frozen=True)
class RateLimits:
    per_ip: int
    per_email: int
    window: timedelta


@dataclass(frozen=True)
class OnlineContext:
    """What starting a donation needs besides storage: where donors return to, and the signing key."""

    public_url: str
    secret_key: str
    limits: RateLimits
    checkout_expiry: timedelta = timedelta(hours=1)
    link_lifetime: timedelta = timedelta(days=90)  # how long a text-to-link `from` token is honoured


@dataclass(frozen=True)
class StartedDonation:
    reference: str
    checkout_url: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def validate_amount(appeal: Appeal, amount_pence: int) -> str | None:
    minimum = format_pence(appeal.online_minimum_pence, appeal.currency)
    if amount_pence < appeal.online_minimum_pence:
        return f"the smallest donation we can take online is {minimum}"
    if amount_pence > MAX_ONLINE_PENCE:
        return f"the most we can take in one card payment is {format_pence(MAX_ONLINE_PENCE, appeal.currency)}"
    return None


def normalise_email(raw: str | None) -> str | None:
    email = (raw or "").strip().lower()
    return email or None


def _gift_aid_declaration(appeal: Appeal, reference: str, answers: GiftAidAnswers, source: str,
                          contact: str | None, moment: datetime) -> GiftAidDeclaration:
    return GiftAidDeclaration.make(
        donation_reference=reference, charity_name=appeal.beneficiary.name, title=answers.title,
        first_name=answers.first_name, last_name=answers.last_name, house=answers.house, address=answers.address,
        postcode=answers.postcode, first_name_latin=answers.first_name_latin,
        last_name_latin=answers.last_name_latin,
        scope=answers.scope, declared_at=moment, source=source, contact=contact)


def _check_rate_limits(uow: UnitOfWork, limits: RateLimits, client_ip: str, email: str | None,
                       moment: datetime) -> None:
    """Counts this attempt (committed even when refused, so a flood keeps counting) and refuses over the limit."""
    start = window_start(moment, limits.window)
    retry_after_s = seconds_left(moment, start, limits.window)
    with uow:
        uow.rate_limits.prune(("donation:ip", "donation:email"), before=start)
        over = uow.rate_limits.hit("donation:ip", client_ip, start) > limits.per_ip
        if email is not None:
            over = uow.rate_limits.hit("donation:email", email, start) > limits.per_email or over
        uow.commit()
    if over:
        raise RateLimited(retry_after_s)


def record_checkout(tx: Transaction, donation: Donation, session: HostedCheckout) -> Checkout:
    """Links the session to the donation and reserves the money as pending, in the caller's transaction."""
    checkout = Checkout(session_id=session.session_id, donation_reference=donation.reference, url=session.url)
    tx.checkouts.add(checkout)
    apply_transfer(tx, postings.checkout_pending(donation, session.session_id))
    return checkout


def start_online_donation(uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, context: OnlineContext,
                          slug: str, form: DonationForm, client_ip: str) -> StartedDonation:
    """Checks the form, stores the donation (and any Gift Aid declaration) and opens a hosted checkout;
    UnknownPartner when the form names a media partner the appeal does not have."""
    moment = _utcnow()
    email = normalise_email(form.email)
    with uow_factory() as uow:
        appeal = stored_appeal(uow, slug)
    if form.partner is not None and appeal.partner(form.partner) is None:
        raise UnknownPartner(appeal, form.partner)
    if not appeal.takes_money:
        raise AppealNotTakingDonations(appeal)
    _check_rate_limits(uow_factory(), context.limits, client_ip, email, moment)

    problems: dict[str, str] = {}
    amount_problem = validate_amount(appeal, form.amount_pence)
    if amount_problem:
        problems["amount_pence"] = amount_problem
    if email is not None and (not _EMAIL.match(email) or len(email) > 320 or has_unstorable_characters(email)):
        problems["email"] = "enter an email address like name@example.com, or leave it empty"
    if form.marketing_consent and email is None:
        problems["marketing_consent"] = "give an email address so the charity can keep you informed"
    phone = None
    if form.prefill_token:
        try:
            phone = links.phone_from_prefill_token(context.secret_key, form.prefill_token, context.link_lifetime)
        except links.InvalidLink:
            log.info("ignoring an invalid text-to-link token; taking the donation as an online one")
    reference = new_reference()
    declaration = None
    if form.gift_aid is not None:
        try:
            declaration = _gift_aid_declaration(appeal, reference, form.gift_aid, "online:donation-form",
                                                email or phone, moment)
        except GiftAidInvalid as error:
            problems.update({f"gift_aid.{field}": reason for field, reason in error.problems.items()})
    if problems:
        raise DonationRefused(problems)
    with uow_factory() as uow:
        if is_protected(uow, phone, email):
            log.info("donation refused: the charity protects this donor", appeal=slug)
            raise GivingProtected(appeal.helpline)

    donation = Donation(
        reference=reference, appeal=appeal.slug, channel=Channel.TEXT_TO_LINK if phone else Channel.ONLINE,
        amount_pence=form.amount_pence, currency=appeal.currency, created_at=moment, phone=phone, email=email,
        partner=form.partner, marketing_consent=form.marketing_consent)
    with uow_factory() as uow:
        uow.donations.add(donation)
        if declaration is not None:
            uow.gift_aid.add(declaration)
        if form.marketing_consent and email is not None:
            uow.consents.record(ConsentRecord(contact=email, medium=Medium.EMAIL, granted=True,
                                              source="online:checkbox", recorded_at=moment, appeal=appeal.slug,
                                              wording=email_opt_in(appeal.beneficiary.name)))
        uow.commit()

    base = context.public_url.rstrip("/")
    # Only whoever paid comes back with the key: the pages show the donation and hand out its Gift Aid link.
    key = urlencode({links.RECEIPT_KEY_PARAM: links.receipt_key(context.secret_key, reference)})
    request = CheckoutRequest(
        reference=reference, appeal_slug=appeal.slug, description=f"Donation to {appeal.name}",
        amount_pence=donation.amount_pence, currency=donation.currency, email=email,
        success_url=f"{base}/donate/{appeal.slug}/thank-you/{reference}?{key}",
        cancel_url=f"{base}/donate/{appeal.slug}/cancelled/{reference}?{key}",
        expires_at=moment + context.checkout_expiry)
    try:
        session = gateway.create_checkout(request)
    except Exception as error:
        log.error("could not start a checkout", reference=reference, error=repr(error))
        with uow_factory() as uow:
            uow.donations.save(donation.settled(0, "the card checkout could not be started"))
            uow.commit()
        raise CheckoutUnavailable("card payments are unavailable just now; please try again in a few minutes") \
            from error
    with uow_factory() as uow:
        try:
            record_checkout(uow, donation, session)
            uow.commit()
        except DuplicateKey:  # the completed-checkout event got here first and recorded it
            pass
    return StartedDonation(reference=reference, checkout_url=session.url)


class GiftAidAlreadyDeclared(ValueError):
    pass


class DonationNotFound(LookupError):
    pass


def declare_gift_aid(uow_factory: UnitOfWorkFactory, reference: str, answers: GiftAidAnswers,
                     source: str) -> GiftAidDeclaration:
    """Adds Gift Aid to a donation already made (the link in a text or email receipt)."""
    with uow_factory() as uow:
        donation = uow.donations.get(reference)
        if donation is None:
            raise DonationNotFound(reference)
        if uow.gift_aid.for_donation(reference) is not None:
            raise GiftAidAlreadyDeclared("Gift Aid is already declared on this donation; thank you")
        if donation.status is DonationStatus.FAILED:
            raise GiftAidAlreadyDeclared("this donation did not go through, so there is nothing to Gift Aid")
        appeal = appeal_of(uow, donation)
        declaration = _gift_aid_declaration(appeal, reference, answers, source, donation.email or donation.phone,
                                            _utcnow())
        try:
            uow.gift_aid.add(declaration)
        except DuplicateKey:
            raise GiftAidAlreadyDeclared("Gift Aid is already declared on this donation; thank you") from None
        uow.commit()
    return declaration


class RefundRefused(ValueError):
    pass


@dataclass(frozen=True)
class RefundRequested:
    refund_id: str
    amount_pence: int
    currency: str


@dataclass(frozen=True)
class Refundable:
    donation: Donation
    checkout: Checkout
    amount_pence: int
    refund_movements: int  # refunds booked and failed refunds booked back so far


def refundable(uow_factory: UnitOfWorkFactory, reference: str, amount_pence: int | None = None) -> Refundable:
    """What a refund would give back (all that is left by default), checked as request_refund checks it, so a
    person can confirm it before anything is asked of the processor."""
    with uow_factory() as uow:
        donation = uow.donations.get(reference)
        checkout = uow.checkouts.by_reference(reference)
        if donation is None:
            raise DonationNotFound(reference)
        # Refunds booked and failed refunds booked back: a refund after a failed one is a new request.
        refund_movements = sum(transfer.kind is TransferKind.REFUND
                               for transfer in uow.ledger.transfers(donation.appeal, reference))
    if checkout is None or checkout.payment_intent is None or donation.net_pence == 0:
        raise RefundRefused(f"donation {reference} has no card payment left to refund")
    amount = donation.net_pence if amount_pence is None else amount_pence
    if not 0 < amount <= donation.net_pence:
        raise RefundRefused(f"can refund between 1 and {donation.net_pence} pence of donation {reference}, "
                            f"not {amount}")
    return Refundable(donation, checkout, amount, refund_movements)


def request_refund(uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, reference: str,
                   amount_pence: int | None = None) -> RefundRequested:
    """Asks the processor to give a paid donation back (all that is left of it by default).

    Nothing is booked here: the reversing transfer is made when the refund's event arrives, so a refund made
    in Stripe's dashboard and one made here are recorded the same way. The idempotency key names what has
    been refunded (and booked back) so far, so repeating the command before Stripe answers cannot refund twice.
    """
    due = refundable(uow_factory, reference, amount_pence)
    donation, checkout, amount = due.donation, due.checkout, due.amount_pence
    assert checkout.payment_intent is not None  # refundable() refuses a checkout that took no payment
    key = f"everypenny-refund-{reference}-after-{due.refund_movements}-{donation.refunded_pence}-{amount}"
    return RefundRequested(gateway.refund(checkout.payment_intent, amount, key), amount, donation.currency)


# ---------------------------------------------------------------------------------------------------------
# Stripe events


class EventNotYetApplicable(Exception):
    """An event that depends on one not yet applied (e.g. a refund before its payment); the outbox retries it."""


# Stripe retries an undelivered event for up to three days (docs.stripe.com/webhooks#retries). An event about a
# payment we still have not recorded that long after the event happened is about a payment we did not take.
STRIPE_RETRY_WINDOW = timedelta(days=3)


def apply_stripe_event(tx: Transaction, event: PaymentEvent) -> None:
    """Applies one verified Stripe event; replays and any arrival order leave the same books.

    Order: Stripe may deliver a refund or dispute before the checkout.session.completed it follows. Such an
    event raises EventNotYetApplicable, so the outbox keeps it and retries with backoff until the payment is
    recorded. We chose this over fetching the session from Stripe's API: the retry needs no network call in the
    handler, works the same against the simulator, and the completed event is guaranteed to come (Stripe
    retries for three days). So an event still about an unknown payment once STRIPE_RETRY_WINDOW has passed
    since it happened is about another integration's payment on the same Stripe account: it is logged and
    ignored, as events for sessions we did not create are at once. Events on sessions in the other order (a late
    failure after a success, an expiry after a payment) find the checkout already resolved and change nothing;
    a success after a failed attempt (the donor tried another card) records the payment as a new transfer, as
    the pending one was released. Refunds and disputes are booked per refund and per balance transaction, each
    under its own idempotency key, so every subset and order of their events ends in the same books.
    Replays are stopped earlier, at the inbox, by event id. Each handler locks the checkout's row before reading
    the donation, so two workers applying two events for one payment (say, two partial refunds) take turns and
    the second sees what the first recorded.
    """
    if event.change is None:
        return
    try:
        _apply_change(tx, event.change)
    except EventNotYetApplicable as waiting:
        if _utcnow() - event.created < STRIPE_RETRY_WINDOW:
            raise
        log.info("ignoring a Stripe event about a payment we did not take", event_id=event.event_id,
                 type=event.type, reason=str(waiting))


def _apply_change(tx: Transaction, change: PaymentChange) -> None:
    match change:
        case SessionCompleted(session):
            _session_completed(tx, session)
        case SessionExpired(session):
            _session_released(tx, session, CheckoutStatus.EXPIRED, "the checkout expired before payment")
        case SessionPaymentFailed(session):
            _session_released(tx, session, CheckoutStatus.FAILED, "the bank payment did not go through")
        case PaymentFailed():
            _payment_failed(tx, change)
        case RefundChanged():
            _refund(tx, change)
        case DisputeChanged():
            _dispute(tx, change)


def _checkout_for_session(tx: Transaction, session: CheckoutSession) -> tuple[Checkout, Donation] | None:
    checkout = tx.checkouts.by_session(session.session_id, lock=True)
    reference = checkout.donation_reference if checkout else session.reference
    donation = tx.donations.get(reference) if reference else None
    if donation is None:
        log.info("ignoring a Stripe event for a checkout session we did not create", session=session.session_id)
        return None
    if checkout is None:  # our own commit after creating the session failed or has not happened yet
        checkout = record_checkout(tx, donation, HostedCheckout(session.session_id, session.url))
    return checkout, donation


def _session_completed(tx: Transaction, session: CheckoutSession) -> None:
    """The donor finished on Stripe's page. A card is paid by now; a bank payment (Bacs, Pay by bank) may still
    be `unpaid`, its money staying pending until checkout.session.async_payment_succeeded or _failed."""
    found = _checkout_for_session(tx, session)
    if found is None:
        return
    checkout, donation = found
    if not session.paid:
        if checkout.payment_intent is None and session.payment_intent:
            tx.checkouts.save(replace(checkout, payment_intent=session.payment_intent))
        return
    if checkout.status is CheckoutStatus.PAID:
        return
    if session.amount_pence != donation.amount_pence:
        raise ValueError(f"session {session.session_id} took {session.amount_pence}, "
                         f"donation {donation.reference} is for {donation.amount_pence}")
    pending = tx.ledger.get(postings.checkout_pending_key(checkout.session_id))
    if checkout.status is CheckoutStatus.OPEN:
        assert pending is not None  # recorded with the checkout
        apply_transfer(tx, postings.checkout_posted(pending, checkout.session_id))
    else:  # a failed attempt released the pending money before this card succeeded
        apply_transfer(tx, postings.checkout_paid(donation, checkout.session_id))
    tx.checkouts.save(replace(checkout, status=CheckoutStatus.PAID, payment_intent=session.payment_intent))
    email = donation.email or normalise_email(session.email)
    tx.donations.save(replace(donation.settled(donation.amount_pence), email=email))
    tx.outbox.enqueue(RECEIPT_TOPIC, {"reference": donation.reference}, dedupe_key=f"receipt:{donation.reference}")


def _release(tx: Transaction, checkout: Checkout, donation: Donation, status: CheckoutStatus, reason: str) -> None:
    if checkout.status is not CheckoutStatus.OPEN:
        return  # already paid, failed or expired: a late or repeated event changes nothing
    pending = tx.ledger.get(postings.checkout_pending_key(checkout.session_id))
    assert pending is not None  # recorded with the checkout
    apply_transfer(tx, postings.checkout_voided(pending, checkout.session_id, reason))
    tx.checkouts.save(replace(checkout, status=status))
    tx.donations.save(donation.settled(0, reason[:200]))


def _session_released(tx: Transaction, session: CheckoutSession, status: CheckoutStatus, reason: str) -> None:
    found = _checkout_for_session(tx, session)
    if found is not None:
        _release(tx, *found, status, reason)


def _payment_failed(tx: Transaction, failed: PaymentFailed) -> None:
    reference = failed.reference
    if reference is None or tx.donations.get(reference) is None:
        log.info("ignoring a failed payment we did not create", payment_intent=failed.payment_intent)
        return
    checkout = tx.checkouts.by_reference(reference, lock=True)
    if checkout is None:
        raise EventNotYetApplicable(f"payment failure for {reference} arrived before its checkout was recorded")
    donation = tx.donations.get(reference)  # read again now that the checkout is locked
    assert donation is not None
    _release(tx, checkout, donation, CheckoutStatus.FAILED, failed.reason or "the card payment failed")


def _paid_donation(tx: Transaction, payment_intent: str | None, what: str) -> Donation | None:
    """The donation a payment paid for; None (logged) for a payment that cannot be ours."""
    if not payment_intent:  # every payment of ours is a PaymentIntent made by a checkout session
        log.info(f"ignoring {what} on a payment we did not take: it has no PaymentIntent")
        return None
    checkout = tx.checkouts.by_payment_intent(payment_intent, lock=True)
    if checkout is None:
        raise EventNotYetApplicable(f"{what} on payment {payment_intent} arrived before the payment was recorded")
    return tx.donations.get(checkout.donation_reference)


def _give_back(tx: Transaction, donation: Donation, pence: int, key: str, kind: TransferKind) -> Donation:
    """Money that left the fund (a refund, a dispute's withdrawal): a reversing transfer, once per key."""
    if tx.ledger.get(key) is not None:
        return donation
    apply_transfer(tx, postings.card_money_given_back(donation, pence, key, kind))
    donation = donation.refunded(pence)
    tx.donations.save(donation)
    return donation


def _take_back(tx: Transaction, donation: Donation, pence: int, key: str, kind: TransferKind) -> Donation:
    """Money given back that came back to us (a failed refund, a won dispute): the reversal reversed, once."""
    if tx.ledger.get(key) is not None:
        return donation
    apply_transfer(tx, postings.card_money_taken_back(donation, pence, key, kind))
    donation = donation.refund_reversed(pence)
    tx.donations.save(donation)
    return donation


# A refund takes the money from Stripe's balance when it is made; failed or cancelled, Stripe puts it back
# (docs.stripe.com/refunds#failed-refunds; Refund.status in stripe-python's stripe/_refund.py).
REFUND_RETURNED = frozenset({"failed", "canceled"})


def _refund(tx: Transaction, refund: RefundChanged) -> None:
    """Any event carrying a refund (refund.created/.updated/.failed, charge.refund.updated): the refund is
    booked once by its id, and booked back once if its status says the money came back."""
    donation = _paid_donation(tx, refund.payment_intent, "a refund")
    if donation is None:
        return
    pence = refund.amount_pence
    donation = _give_back(tx, donation, pence, postings.card_refund_key(refund.refund_id), TransferKind.REFUND)
    if refund.status in REFUND_RETURNED:
        _take_back(tx, donation, pence, postings.card_refund_returned_key(refund.refund_id, refund.status),
                   TransferKind.REFUND)


# Statuses after which a dispute changes no more (stripe-python's stripe/_dispute.py, Dispute.status):
# warning_closed (an inquiry that never became a chargeback), prevented (stopped before it was filed), won, lost.
DISPUTE_CLOSED = frozenset({"warning_closed", "prevented", "won", "lost"})


def _dispute(tx: Transaction, dispute: DisputeChanged) -> None:
    """Any dispute event. Money follows the dispute's balance transactions (withdrawn when funds_withdrawn
    happens, reinstated when funds_reinstated does, each booked once by its id); the donation records the
    dispute's status, a closed status never overwritten by an open one delivered late.

    Stripe withdraws from its balance, which is our receivable from Stripe: the bank account moves when the
    payout carrying the withdrawal is imported (its negative line settles less), as it does for refunds.
    """
    donation = _paid_donation(tx, dispute.payment_intent, "a dispute")
    if donation is None:
        return
    pence = dispute.amount_pence
    # Withdrawals first: an event can carry both, and a reinstatement reverses a withdrawal.
    for transaction in sorted(dispute.transactions, key=lambda t: t.move is not DisputeMove.WITHDRAWAL):
        key = postings.dispute_movement_key(transaction.transaction_id)
        if transaction.move is DisputeMove.WITHDRAWAL:
            donation = _give_back(tx, donation, pence, key, TransferKind.DISPUTE)
        elif transaction.move is DisputeMove.REINSTATEMENT:
            donation = _take_back(tx, donation, pence, key, TransferKind.DISPUTE)
    key = f"dispute:{dispute.dispute_id}"
    if donation.metadata.get(key) not in DISPUTE_CLOSED and donation.metadata.get(key) != dispute.status:
        tx.donations.save(replace(donation, metadata={**donation.metadata, key: str(dispute.status)}))


def accept_stripe_event(uow_factory: UnitOfWorkFactory, event: ReceivedEvent) -> bool:
    """Stores a verified event once and queues it, in one transaction; False for a replay we already hold."""
    with uow_factory() as uow:
        if not uow.inbox.accept("stripe", event.event_id, event.type[:40], event.body):
            return False
        uow.outbox.enqueue(STRIPE_EVENT_TOPIC, event.body, dedupe_key=f"stripe:{event.event_id}")
        uow.commit()
    return True
