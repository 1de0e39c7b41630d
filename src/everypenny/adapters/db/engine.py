"""Engines for the two supported stores: an embedded SQLite file (WAL) and PostgreSQL through psycopg 3."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this code was written for."""


def make_engine(url: str, **options) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **options)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    options.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _arrays_in_binary(dbapi_connection, _record):
        # Batches pass their values as arrays (= ANY, unnest): in psycopg's text format every element is quoted
        # and escaped in Python, which cost more than the rest of a batch's SQL; its binary format does not.
        dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)

    return engine


def _sqlite_engine(url: str, **options) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (pysqlite's own handling is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Take the write lock up front: a read that later writes would otherwise fail with SQLITE_BUSY.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision, this code's head revision)."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = script.get_current_head()
    assert head is not None  # the migrations have one head
    return current, head


def require_current_schema(engine: Engine) -> None:
    current, head = schema_revisions(engine)
    if current == head:
        return
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaNotCurrent(f"the database at {where} has no everypenny schema yet: run `everypenny db upgrade`")
    if current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaNotCurrent(
            f"the database at {where} is at schema {current}, newer than this version of everypenny knows "
            f"(its newest is {head}): upgrade everypenny, or point it at another database")
    raise SchemaNotCurrent(
        f"the database at {where} is at schema {current} but this version needs {head}: "
        "run `everypenny db upgrade`")
