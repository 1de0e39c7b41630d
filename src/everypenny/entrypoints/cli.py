"""`everypenny` on the command line: for the appeal desk, finance, operators and tests."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from everypenny import bootstrap
from everypenny.adapters.appeal_file import AppealFileError, load_appeal_file
from everypenny.adapters.db.engine import SchemaNotCurrent, make_engine, schema_revisions, upgrade
from everypenny.config import get_settings
from everypenny.domain.money import format_pence
from everypenny.service_layer.appeals import CurrencyChangeRefused, load_appeal

app = typer.Typer(help="Run a charity appeal end to end.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
appeal_app = typer.Typer(help="Appeal definitions.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(appeal_app, name="appeal")

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def platform() -> bootstrap.Platform:
    try:
        return bootstrap.build()
    except SchemaNotCurrent as error:
        fail(str(error), code=3)
        raise


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to this version's schema (creates the SQLite file if needed)."""
    url = get_settings().database_url
    upgrade(url)
    console.print(f"database is at schema {schema_revisions(make_engine(url))[0]}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the one this code needs."""
    current, head = schema_revisions(make_engine(get_settings().database_url))
    console.print(f"database: {current or '(empty)'}\ncode needs: {head}")


def _load(files: list[Path]) -> None:
    uow_platform = platform()
    for path in files:
        try:
            appeal, definition = load_appeal_file(path)
            result = load_appeal(uow_platform.uow(), appeal, definition, str(path))
        except (AppealFileError, CurrencyChangeRefused) as error:
            fail(str(error), code=2)
        detail = f" ({', '.join(result.changed_keys)})" if result.changed_keys else ""
        console.print(f"{result.slug}: {result.outcome}{detail}", highlight=False)


@appeal_app.command("load")
def appeal_load(files: list[Path] = typer.Argument(..., help="Appeal TOML files.")) -> None:
    """Create or update appeals from their files; loading an unchanged file changes nothing."""
    _load(files)


@appeal_app.command("list")
def appeal_list() -> None:
    """Every appeal with its status and what it has raised."""
    table = Table("slug", "name", "status", "raised", "pending", "donations")
    with platform().uow() as uow:
        for stored in uow.appeals.list():
            totals = uow.ledger.totals(stored.appeal.slug)
            table.add_row(stored.appeal.slug, stored.appeal.name, stored.appeal.status.value,
                          format_pence(totals.raised_pence, totals.currency),
                          format_pence(totals.pending_pence, totals.currency), str(totals.donation_count))
    console.print(table)


@appeal_app.command("show")
def appeal_show(slug: str) -> None:
    """One appeal's definition, ledger balances and change history."""
    with platform().uow() as uow:
        stored = uow.appeals.get(slug)
        if stored is None:
            fail(f"no appeal has the slug {slug!r}; `everypenny appeal list` shows them", code=2)
        appeal = stored.appeal
        balances = uow.ledger.balances(slug)
        changes = uow.appeals.changes(slug)
    money = lambda pence: format_pence(pence, appeal.currency)  # noqa: E731
    console.print(f"[bold]{appeal.name}[/] ({appeal.slug}) — {appeal.status.value}")
    console.print(f"media partner: {appeal.media_partner}")
    console.print(f"beneficiary: {appeal.beneficiary.name} (registered charity {appeal.beneficiary.charity_number})")
    console.print(f"restricted fund: {appeal.restricted_fund.name}: {appeal.restricted_fund.purpose}")
    console.print(f"online: from {money(appeal.online_minimum_pence)}; suggested "
                  + ", ".join(money(a) for a in appeal.suggested_amounts_pence))
    console.print(f"limits: {money(appeal.per_text_cap_pence)} a text, "
                  f"{money(appeal.per_number_daily_cap_pence)} a number a day")
    for shortcode in appeal.shortcodes:
        for keyword in shortcode.keywords:
            amounts = ", ".join(money(a) for a in keyword.amounts_pence)
            console.print(f"text {keyword.word} to {shortcode.number} ({shortcode.billing.value}): {amounts}")
    console.print(f"surplus: {appeal.surplus_rule.wording}")
    table = Table("account", "posted", "pending")
    for code, (posted, pending) in sorted(balances.items()):
        table.add_row(code, money(posted), money(pending))
    console.print(table)
    for change in changes:
        keys = ", ".join(change.changed_keys) or "created"
        console.print(f"{change.changed_at:%Y-%m-%d %H:%M} {change.source}: {keys}", highlight=False)


def _serve(host: str, port: int) -> None:
    import uvicorn

    from everypenny.entrypoints.web.app import create_app

    running = platform()
    stop = threading.Event()
    worker = threading.Thread(target=running.worker().run_until, args=(stop,), name="outbox", daemon=True)
    worker.start()
    try:
        uvicorn.run(create_app(running), host=host, port=port, log_level="info")
    finally:
        stop.set()
        worker.join(timeout=10)


@app.command()
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Serve the web app and API, with an outbox worker in the same process."""
    _serve(host, port)


@app.command()
def worker() -> None:
    """Run an outbox worker on its own (run several beside the web app to scale out)."""
    stop = threading.Event()
    try:
        platform().worker().run_until(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    appeals_dir: Path = typer.Option(Path("appeals"), help="Folder of appeal TOML files to load."),
) -> None:
    """Migrate the database, load the demo appeals and serve everything on this machine."""
    upgrade(get_settings().database_url)
    _load(sorted(appeals_dir.glob("*.toml")))
    console.print(f"everypenny demo on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    _serve(host, port)


# Money out and proof (ledger, settlement, payout, allocate, donor): registered last, it uses the helpers above.
from everypenny.entrypoints import proof_cli  # noqa: E402

proof_cli.register(app)
