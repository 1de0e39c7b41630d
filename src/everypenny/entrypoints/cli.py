"""`everypenny` on the command line: for the appeal desk, finance, operators and tests."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from everypenny import bootstrap
from everypenny.adapters.appeal_file import AppealFileError, load_appeal_file
from everypenny.adapters.db.engine import SchemaNotCurrent, make_engine, schema_revisions, upgrade
from everypenny.config import get_settings
from everypenny.domain.money import format_pence
from everypenny.entrypoints import cli_text_giving
from everypenny.entrypoints.desk_cli import appeal_status, export_app, user_app
from everypenny.entrypoints.online_cli import online_app
from everypenny.entrypoints.simulator_cli import simulator_app, stripe_simulator
from everypenny.logs import configure_logging
from everypenny.service_layer.appeals import CurrencyChangeRefused, StatusChangeRefused, load_appeal
from everypenny.simulators.stripe import WebhookOptions

app = typer.Typer(help="Run a charity appeal end to end.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
appeal_app = typer.Typer(help="Appeal definitions.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(appeal_app, name="appeal")
app.add_typer(simulator_app, name="simulator")
app.add_typer(online_app, name="online")
app.add_typer(cli_text_giving.simulate_app, name="simulate")
app.add_typer(cli_text_giving.donations_app, name="donations")
app.add_typer(cli_text_giving.sms_app, name="sms")
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")
appeal_app.command("status")(appeal_status)

@app.callback()
def main() -> None:
    configure_logging(get_settings().log_level)


# Soft wrap: long lines stay whole, so output reads the same in a terminal, a pipe or a log.
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def opened_platform() -> Iterator[bootstrap.Platform]:
    """The wired platform for one command; refuses a database whose schema this code does not know."""
    try:
        platform = bootstrap.build()
    except SchemaNotCurrent as error:
        fail(str(error), code=3)
    try:
        yield platform
    finally:
        platform.engine.dispose()


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


def _load(files: list[Path]) -> None:
    with opened_platform() as platform:
        for path in files:
            try:
                appeal, definition = load_appeal_file(path)
                result = load_appeal(platform.uow(), appeal, definition, str(path))
            except (AppealFileError, CurrencyChangeRefused, StatusChangeRefused) as error:
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
    with opened_platform() as platform, platform.uow() as uow:
        for stored in uow.appeals.list():
            totals = uow.ledger.totals(stored.appeal.slug)
            table.add_row(stored.appeal.slug, stored.appeal.name, stored.appeal.status.value,
                          format_pence(totals.raised_pence, totals.currency),
                          format_pence(totals.pending_pence, totals.currency), str(totals.donation_count))
    console.print(table)


@appeal_app.command("show")
def appeal_show(slug: str) -> None:
    """One appeal's definition, ledger balances and change history."""
    with opened_platform() as platform, platform.uow() as uow:
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

    with opened_platform() as platform:
        stop = threading.Event()
        worker = threading.Thread(target=platform.worker().run_until, args=(stop,), name="outbox", daemon=True)
        worker.start()
        try:
            uvicorn.run(create_app(platform), host=host, port=port, log_level="info")
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
    with opened_platform() as platform:
        try:
            settings = platform.settings
            platform.worker(threads=settings.worker_threads, batch_size=settings.worker_batch_size,
                            lease=timedelta(seconds=settings.worker_lease_s)).run_until(stop)
        except KeyboardInterrupt:
            stop.set()


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    appeals_dir: Path = typer.Option(Path("appeals"), help="Folder of appeal TOML files to load."),
    stripe_port: int = typer.Option(12111, help="Port of the Stripe simulator started beside the app."),
) -> None:
    """Migrate the database, load the demo appeals and serve everything on this machine."""
    appeal_files = sorted(appeals_dir.glob("*.toml"))
    if not appeal_files:  # a demo with no appeal takes no texts and shows no totals: say so, start nothing
        fail(f"no appeal files (*.toml) in {appeals_dir.resolve()}: run the demo from the everypenny checkout, "
             "or point --appeals-dir at a folder of appeal files", code=2)
    upgrade(get_settings().database_url)
    _load(appeal_files)
    os.environ.setdefault("EVERYPENNY_PUBLIC_URL", f"http://{host}:{port}")  # where donors return from checkout
    console.print(f"everypenny demo on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    with (stripe_simulator(host, stripe_port, WebhookOptions(url=f"http://{host}:{port}/webhooks/stripe")),
          cli_text_giving.running_simulator(get_settings(), app_url=f"http://{host}:{port}") as aggregator_url):
        console.print(f"aggregator simulator on {aggregator_url}: try `everypenny simulate text 07700900001 SUN£5`")
        _serve(host, port)


# Money out and proof (ledger, settlement, payout, allocate, donor): registered last, it uses the helpers above.
from everypenny.entrypoints import proof_cli  # noqa: E402

proof_cli.register(app)

# Settlement import and reconciliation: added to the proof commands above.
from everypenny.entrypoints import settlement_cli  # noqa: E402

settlement_cli.register(app)
# The TV-appeal rehearsal: `everypenny simulate spike`.
from everypenny.entrypoints.spike_cli import spike_command  # noqa: E402

cli_text_giving.simulate_app.command("spike")(spike_command)
