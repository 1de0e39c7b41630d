"""The database's triggers and their functions, kept as SQL files per dialect, as django-hordak keeps its SQL:
`sql/<name>.pg.sql` for PostgreSQL and `sql/<name>.sqlite.sql` for SQLite.

`sql/` holds the definitions in force, which the migrations run and tests/integration/test_triggers.py holds
the migrated database to. `sql/history/` holds the ones a later migration replaced, named after the migration
that made them: that migration still builds them, and the later one's downgrade brings them back.

To change a trigger: move its file to `sql/history/<revision>_<name>...` (the revision that runs it today) and
point that migration at it, write the new definition under its old name in `sql/`, and add a migration that
drops the old definition and runs the new file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import op

SQL = Path(__file__).with_name("sql")
SUFFIXES = {"postgresql": "pg", "sqlite": "sqlite"}
# The files in force, in the order the migrations first run them (a later file may call an earlier one's
# functions).
IN_FORCE = ("ledger_rules", "transfer_checks", "append_only", "ledger_sums", "desk_rollups")


def sql_file(name: str, dialect: str) -> Path:
    """`name` is a file in sql/ ("ledger_sums") or in sql/history/ ("history/0006_ledger_sums")."""
    return SQL / f"{name}.{SUFFIXES[dialect]}.sql"


def in_force(dialect: str) -> list[str]:
    """The files in force for `dialect`, in order: every trigger and trigger function its database has. A file
    in sql/ that IN_FORCE does not name is a mistake, refused here rather than left out unnoticed."""
    on_disk = {path.name.removesuffix(f".{SUFFIXES[dialect]}.sql") for path in SQL.glob(f"*.{SUFFIXES[dialect]}.sql")}
    if unnamed := on_disk - set(IN_FORCE):
        raise ValueError(f"sql/ has {', '.join(sorted(unnamed))} for {dialect}, which IN_FORCE does not name")
    return [name for name in IN_FORCE if name in on_disk]


def statements(name: str, dialect: str) -> list[str]:
    """The file's statements as the dialect's driver takes them. PostgreSQL runs a whole file at once (its
    functions' bodies are quoted in $$); SQLite runs one statement at a time, and sqlite3.complete_statement
    knows that a trigger's statement ends at its END, not at the first semicolon inside it. Comment lines
    between statements are left out."""
    source = sql_file(name, dialect).read_text()
    if dialect == "postgresql":
        return [source]
    found, pending = [], ""
    for line in source.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending:
        raise ValueError(f"{sql_file(name, dialect)} ends in the middle of a statement")
    return found


def run_sql(name: str) -> None:
    """Runs a trigger file in the migration under way, in its database's dialect."""
    for statement in statements(name, op.get_bind().dialect.name):
        op.execute(statement)
