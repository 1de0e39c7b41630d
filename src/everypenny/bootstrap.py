"""The composition root: the one place that picks adapters and wires them to the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from everypenny.adapters.aggregator.client import HttpAggregator
from everypenny.adapters.db.engine import make_engine, require_current_schema
from everypenny.adapters.db.unit_of_work import SqlUnitOfWork
from everypenny.adapters.passwords import Argon2Passwords
from everypenny.config import Settings, get_settings
from everypenny.service_layer.desk_ports import PasswordHasher
from everypenny.service_layer.online_ports import PaymentGateway
from everypenny.service_layer.outbox import OutboxWorker, TaskHandler
from everypenny.service_layer.text_giving import DonorLinks, text_giving_handlers


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    handlers: dict[str, TaskHandler] = field(default_factory=dict)
    payments: PaymentGateway | None = None  # the card processor; built from the settings unless a test sets one
    passwords: PasswordHasher = field(default_factory=Argon2Passwords)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def worker(self, **options) -> OutboxWorker:
        return OutboxWorker(self.uow, self.handlers, **options)

    def payment_gateway(self) -> PaymentGateway:
        if self.payments is None:
            from everypenny.adapters.payments.stripe_checkout import StripeCheckoutGateway

            self.payments = StripeCheckoutGateway(self.settings)
        return self.payments


def task_handlers(settings: Settings) -> dict[str, TaskHandler]:
    """Every outbox topic and the use case that carries it out."""
    handlers: dict[str, TaskHandler] = {}
    handlers.update(online_task_handlers(settings))
    handlers.update(text_giving_handlers(
        HttpAggregator(settings.aggregator_url, settings.aggregator_api_key),
        DonorLinks(settings.public_url, settings.secret_key)))
    return handlers


def online_task_handlers(settings: Settings) -> dict[str, TaskHandler]:
    """Stripe events applied to the books, and receipts mailed once a payment is confirmed."""
    from everypenny.adapters.email.smtp import SmtpMailer
    from everypenny.service_layer.online_donations import RECEIPT_TOPIC, STRIPE_EVENT_TOPIC, apply_stripe_event
    from everypenny.service_layer.online_receipts import send_receipt

    mailer = SmtpMailer(settings)
    return {
        STRIPE_EVENT_TOPIC: apply_stripe_event,
        RECEIPT_TOPIC: lambda uow, payload: send_receipt(uow, payload, mailer, settings.public_url,
                                                         settings.secret_key),
    }


def build(settings: Settings | None = None, engine: Engine | None = None, check_schema: bool = True) -> Platform:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if check_schema:
        require_current_schema(engine)
    return Platform(settings, engine, task_handlers(settings))


