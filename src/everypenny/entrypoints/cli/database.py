"""`everypenny db …`: the database schema."""

from __future__ import annotations

import typer

from everypenny.adapters.db.engine import make_engine, schema_revisions, upgrade
from everypenny.config import get_settings
from everypenny.entrypoints.cli.shared import console

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


def _revisions(url: str) -> tuple[str | None, str]:
    engine = make_engine(url)
    try:
        return schema_revisions(engine)
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this version's schema (creates the SQLite file if needed)."""
    url = get_settings().database_url
    upgrade(url)
    console.print(f"database is at schema {_revisions(url)[0]}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the one this code needs."""
    current, head = _revisions(get_settings().database_url)
    console.print(f"database: {current or '(empty)'}\ncode needs: {head}")
