"""`everypenny` on the command line: for the appeal desk, finance, operators and tests.

The top of the CLI package: it assembles the command groups, each a module importing only `shared` (and, for
`serving`, the groups it runs), so no CLI module imports this one."""

from __future__ import annotations

import typer

from everypenny.config import get_settings
from everypenny.entrypoints.cli import proof
from everypenny.entrypoints.cli.appeals import appeal_app
from everypenny.entrypoints.cli.database import db_app
from everypenny.entrypoints.cli.desk import export_app, user_app
from everypenny.entrypoints.cli.markers import marker_app
from everypenny.entrypoints.cli.online import online_app
from everypenny.entrypoints.cli.serving import demo, serve, worker
from everypenny.entrypoints.cli.settlement import giftaid_app, reconcile, settlement_app
from everypenny.entrypoints.cli.simulators import simulator_app
from everypenny.entrypoints.cli.spike import spike_command
from everypenny.entrypoints.cli.tasks import tasks_app
from everypenny.entrypoints.cli.text_giving import donations_app, simulate_app, sms_app
from everypenny.logs import configure_logging

app = typer.Typer(help="Run a charity appeal end to end.", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    configure_logging(get_settings().log_level)


app.add_typer(db_app, name="db")
app.add_typer(appeal_app, name="appeal")
app.add_typer(simulator_app, name="simulator")
app.add_typer(online_app, name="online")
simulate_app.command("spike")(spike_command)
app.add_typer(simulate_app, name="simulate")
app.add_typer(donations_app, name="donations")
app.add_typer(sms_app, name="sms")
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")
app.add_typer(tasks_app, name="tasks")
app.add_typer(marker_app, name="marker")
app.command()(serve)
app.command()(worker)
app.command()(demo)
app.add_typer(proof.ledger_app, name="ledger")
app.command("allocate")(proof.allocate)
app.add_typer(settlement_app, name="settlement")
app.add_typer(proof.fees_app, name="fees")
app.add_typer(proof.payout_app, name="payout")
app.add_typer(proof.donor_app, name="donor")
app.command("reconcile")(reconcile)
app.add_typer(giftaid_app, name="giftaid")
