"""The composition root: the one place that picks adapters and wires them to the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from everypenny import tracing
from everypenny.adapters.aggregator.fonix import FonixAggregator
from everypenny.adapters.db.engine import make_engine, require_current_schema
from everypenny.adapters.db.tracing import instrument_engine
from everypenny.adapters.db.unit_of_work import HeldConnection, SqlUnitOfWork
from everypenny.adapters.passwords import Argon2Passwords
from everypenny.config import Settings, get_settings
from everypenny.service_layer import money_out, proof
from everypenny.service_layer.desk_ports import PasswordHasher
from everypenny.service_layer.erasure import RetentionRule, erase_due, phone_paid_retention
from everypenny.service_layer.gift_aid_claims import gift_aid_retention
from everypenny.service_layer.group_commit import GroupCommit
from everypenny.service_layer.online_ports import PaymentEvents, PaymentGateway
from everypenny.service_layer.outbox import Handler, OutboxWorker, PeriodicJob, each_task
from everypenny.service_layer.text_giving import CLAIMED_LAST, DonorLinks, mark_unconfirmed, text_giving_handlers
from everypenny.service_layer.text_giving_ports import AggregatorGateway


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    handlers: dict[str, Handler] = field(default_factory=dict)
    payments: PaymentGateway | None = None  # the card processor; built from the settings unless a test sets one
    events: PaymentEvents | None = None  # the card processor's webhook events, likewise
    aggregator: AggregatorGateway | None = None  # the SMS aggregator, likewise
    passwords: PasswordHasher = field(default_factory=Argon2Passwords)
    retention_rules: list[RetentionRule] = field(default_factory=list)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.settings.secret_key)

    def group_committer(self) -> GroupCommit:
        """A committer of aggregator callbacks (service_layer/group_commit.py), on a connection of its own that it
        holds through a busy spell and lets go whenever nothing is waiting; the web app makes one per process."""
        held = HeldConnection(self.engine, self.settings.secret_key)  # only the committer's thread uses it
        return GroupCommit(held.uow, idle=held.close)

    def worker(self, **options) -> OutboxWorker:
        options.setdefault("periodic", periodic_jobs(self))
        options.setdefault("claim_last", CLAIMED_LAST)
        options.setdefault("max_attempts", self.settings.worker_max_attempts)
        return OutboxWorker(self.uow, self.handlers, **options)

    def aggregator_gateway(self) -> AggregatorGateway:
        if self.aggregator is None:
            self.aggregator = fonix_aggregator(self.settings)
        return self.aggregator

    def payment_gateway(self) -> PaymentGateway:
        if self.payments is None:
            from everypenny.adapters.payments.stripe_checkout import StripeCheckoutGateway

            self.payments = StripeCheckoutGateway(self.settings)
        return self.payments

    def payment_events(self) -> PaymentEvents:
        if self.events is None:
            from everypenny.adapters.payments.stripe_events import StripeEvents

            self.events = StripeEvents(self.settings)
        return self.events


def task_handlers(settings: Settings) -> dict[str, Handler]:
    """Every outbox topic and the use case that carries it out."""
    handlers: dict[str, Handler] = {}
    handlers.update(online_task_handlers(settings))
    handlers.update(text_giving_handlers(fonix_aggregator(settings), DonorLinks(settings.public_url,
                                                                                 settings.secret_key)))
    return handlers


def fonix_aggregator(settings: Settings) -> FonixAggregator:
    return FonixAggregator(settings.aggregator_url, settings.aggregator_api_key, settings.aggregator_dummy,
                           refund_url=settings.refund_url)


def online_task_handlers(settings: Settings) -> dict[str, Handler]:
    """Stripe events applied to the books, and receipts mailed once a payment is confirmed."""
    from everypenny.adapters.email.smtp import SmtpMailer
    from everypenny.adapters.payments.stripe_events import StripeEvents
    from everypenny.service_layer.online_donations import RECEIPT_TOPIC, STRIPE_EVENT_TOPIC, apply_stripe_event
    from everypenny.service_layer.online_receipts import send_receipt

    mailer = SmtpMailer(settings)
    events = StripeEvents(settings)
    return {
        STRIPE_EVENT_TOPIC: each_task(lambda tx, body: apply_stripe_event(tx, events.read(body))),
        RECEIPT_TOPIC: each_task(lambda tx, payload: send_receipt(tx, payload, mailer, settings.public_url,
                                                                  settings.secret_key)),
    }


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """Records the law makes us keep (domain/retention.py): erasure leaves them for the day their period ends."""
    return [phone_paid_retention, gift_aid_retention]


def periodic_jobs(platform: Platform) -> list[PeriodicJob]:
    """Housekeeping every worker runs on a timer; each job is safe to run in several workers at once."""
    settings = platform.settings
    return [
        PeriodicJob("seal-ledger", timedelta(seconds=settings.seal_interval_s),
                    lambda: proof.seal_ledger(platform.uow)),
        PeriodicJob("allocate-surplus", timedelta(seconds=settings.allocate_interval_s),
                    lambda: money_out.allocate_all(platform.uow)),
        PeriodicJob("unconfirm-unreported-charges", timedelta(minutes=5),
                    lambda: mark_unconfirmed(platform.uow)),
        PeriodicJob("erase-when-retention-ends", timedelta(hours=1),
                    lambda: erase_due(platform.uow, settings.secret_key)),
    ]


def build(settings: Settings | None = None, engine: Engine | None = None, check_schema: bool = True) -> Platform:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if check_schema:
        require_current_schema(engine)
    tracing.configure(settings.otlp_endpoint, settings.otlp_sample_ratio)
    instrument_engine(engine)
    return Platform(settings, engine, task_handlers(settings), retention_rules=retention_rules(settings),
                    passwords=Argon2Passwords(max_concurrent=settings.password_hash_concurrency))


