"""The composition root: the one place that picks adapters and wires them to the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from everypenny.adapters.db.engine import make_engine, require_current_schema
from everypenny.adapters.db.unit_of_work import SqlUnitOfWork
from everypenny.adapters.passwords import Argon2Passwords
from everypenny.config import Settings, get_settings
from everypenny.service_layer.desk_ports import PasswordHasher
from everypenny.service_layer.outbox import OutboxWorker, TaskHandler


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    handlers: dict[str, TaskHandler] = field(default_factory=dict)
    passwords: PasswordHasher = field(default_factory=Argon2Passwords)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def worker(self, **options) -> OutboxWorker:
        return OutboxWorker(self.uow, self.handlers, **options)


def task_handlers(settings: Settings) -> dict[str, TaskHandler]:
    """Every outbox topic and the use case that carries it out."""
    handlers: dict[str, TaskHandler] = {}
    return handlers


def build(settings: Settings | None = None, engine: Engine | None = None, check_schema: bool = True) -> Platform:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if check_schema:
        require_current_schema(engine)
    return Platform(settings, engine, task_handlers(settings))


