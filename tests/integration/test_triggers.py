"""The migrated database's triggers and trigger functions are exactly those in adapters/db/sql/, on both stores:
a trigger made or changed by a migration without its file, or a file changed without a migration, fails here.
(schema.py and its test cover tables, columns and indexes; Alembic's comparison does not see triggers.)"""

import hashlib

from sqlalchemy import Connection, text

from everypenny.adapters.db.engine import make_engine
from everypenny.adapters.db.triggers import SQL, in_force, statements


def triggers_and_functions(connection: Connection) -> dict[str, str]:
    """Each trigger and function by name, as the database itself writes it out."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        return {f"trigger {name}": sql for name, sql in rows}
    triggers = connection.execute(text("SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"))
    functions = connection.execute(text(
        "SELECT proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema()"))
    return {**{f"trigger {name}": definition for name, definition in triggers},
            **{f"function {name}": definition for name, definition in functions}}


def drop_all(connection: Connection, found: dict[str, str]) -> None:
    for key in found:
        kind, name = key.split(" ")
        if kind == "trigger" and connection.dialect.name == "sqlite":
            connection.execute(text(f"DROP TRIGGER {name}"))
        elif kind == "function":
            connection.execute(text(f"DROP FUNCTION {name} CASCADE"))  # its triggers with it


def test_the_live_databases_triggers_are_the_sql_files(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection, connection.begin() as transaction:
        migrated = triggers_and_functions(connection)
        drop_all(connection, migrated)
        assert triggers_and_functions(connection) == {}
        for name in in_force(connection.dialect.name):
            for statement in statements(name, connection.dialect.name):
                connection.execute(text(statement))
        from_files = triggers_and_functions(connection)
        transaction.rollback()
    engine.dispose()

    assert "trigger ledger_transfers_sums" in migrated
    assert from_files == migrated


def test_a_sqlite_file_splits_into_its_statements_with_the_semicolons_inside_triggers_kept():
    found = statements("ledger_sums", "sqlite")

    assert [statement.split()[2] for statement in found] == [
        "ledger_transfers_sums", "donations_paid_count_insert", "donations_paid_count_paid",
        "donations_paid_count_unpaid"]
    assert all(statement.startswith("CREATE TRIGGER") and statement.endswith("END;") for statement in found)



# What each file in force held when its migration ran it. A migration that has run never runs again, so a
# changed file would leave every existing database on the old definition while new ones get the new one.
RUN_BY_MIGRATIONS = {
    "append_only.pg.sql": "96c4931ba155ae7953f7c9770ca3b231c798cb38df1f3aee6df255e23b9c3dac",
    "append_only.sqlite.sql": "5060f53a03da2420b68d20b9d385966ba1abd04355dca4b8f8d1427841b044ca",
    "desk_rollups.pg.sql": "6ae26e93800897dc3d411cd857eb1b7c780f0dcc042b0e18c4fb382e77b04fae",
    "desk_rollups.sqlite.sql": "2fbfd3879fd14b288c548fff9766af5e9ae5cc28382ff7599c2dcdd9283b5e94",
    "ledger_rules.pg.sql": "d4c139c4fd6fe830d65a016e373ac073446353123eefd5579944c953e8ac516f",
    "ledger_rules.sqlite.sql": "0a384ad1007f98bf2d263cf48c7cc66079b9c5651bc806cae0d549f7a48188e0",
    "ledger_sums.pg.sql": "2ca269ddfd73c23dcdb1897d691471f5b9f64273a94a9f2d617f296223b30999",
    "ledger_sums.sqlite.sql": "88672ff8ce779b2935ce62a019cb40152c5a6bf8de8a2b098c9811eba2a796ff",
    "transfer_checks.pg.sql": "015e0a3a76f16b30bb42369ba09ee24034df0c7e495fcc706ff2ea5448d51de9",
    "transfer_checks.sqlite.sql": "a66f73a9aa598a1dfd2301a6a0391e3744acc474da3073204e597f4f6815f114",
    "history/0001_transfer_checks.pg.sql": "faf9ecf87c0430e1b5670c82dd5a553944ccb5c00ed640a1fecb62fac5267fb2",
    "history/0006_ledger_sums.pg.sql": "9cc26ad50128aff5b6684a786d723786d0ac1b21d29811c2c5bcba34cb2957be",
    "history/0009_desk_rollups.pg.sql": "6e601f6089482b05cac834cf1f747240ee2b423f4dba955adf8920229fdb5dd9",
    "history/0009_desk_rollups.sqlite.sql": "3d5deaee45a8c96797b7e068398d6317483bc360d00fa01578e7f792ca98931f",
}


def test_no_sql_file_changes_after_a_migration_has_run_it():
    """A new definition goes in a new migration: see adapters/db/triggers.py for the steps."""
    files = {str(path.relative_to(SQL)): hashlib.sha256(path.read_bytes()).hexdigest()
             for path in sorted(SQL.rglob("*.sql"))}

    assert files == RUN_BY_MIGRATIONS
