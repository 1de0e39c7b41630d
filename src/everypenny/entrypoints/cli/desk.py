"""`everypenny user …` and `everypenny export …`: the appeal desk from a shell."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from everypenny.domain.users import UserRuleBroken, parse_role
from everypenny.entrypoints.cli.shared import console, errors, fail, opened_platform
from everypenny.service_layer import auth, desk
from everypenny.service_layer.appeals import UnknownAppeal

user_app = typer.Typer(help="People who use the appeal desk at /admin.", no_args_is_help=True)
export_app = typer.Typer(help="CSV exports of an appeal's donations, charges, ledger and consent list.",
                         no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    email: str = typer.Argument(..., help="The user's email address, used to log in."),
    role: str = typer.Option(..., "--role", help="admin (appeals and users), finance (money, exports) or viewer."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a desk user; the password is asked for twice unless given on standard input."""
    try:
        parse_role(role)
    except UserRuleBroken as error:
        fail(str(error), code=2)
    password = _read_password(password_stdin)
    with opened_platform() as running:
        try:
            user = auth.add_user(running.uow(), running.passwords, email, role, password, datetime.now(UTC))
        except UserRuleBroken as error:
            fail(str(error), code=2)
        except auth.UserExists as error:
            fail(str(error), code=3)
    console.print(f"added {user.email} as {user.role.value}", highlight=False)


@user_app.command("remove")
def user_remove(email: str = typer.Argument(..., help="The email of the user to remove.")) -> None:
    """Remove a desk user (someone leaving the team) and end their sessions at once."""
    with opened_platform() as running:
        try:
            removed = auth.remove_user(running.uow(), email)
        except auth.RemovalRefused as error:
            fail(str(error), code=2)
    console.print(f"removed {removed.email} ({removed.role.value})", highlight=False)


@user_app.command("list")
def user_list() -> None:
    """Every desk user and their role."""
    with opened_platform() as running:
        users = auth.list_users(running.uow())
    for user in users:
        console.print(f"{user.email}\t{user.role.value}\t{user.created_at:%Y-%m-%d}", highlight=False)


class ExportKind(StrEnum):
    DONATIONS = "donations"
    CHARGES = "charges"
    TRANSFERS = "transfers"
    CONSENTS = "consents"


def _export(kind: ExportKind, appeal: str, output: Path) -> None:
    with opened_platform() as running:
        _write_export(running, kind, appeal, output)


def _write_export(running, kind: ExportKind, appeal: str, output: Path) -> None:
    try:
        total = desk.check_export(running.uow(), kind.value, appeal)
    except (desk.ExportRefused, UnknownAppeal) as error:
        fail(str(error), code=2)
    partial = output.with_name(output.name + ".partial")
    progress = Progress(TextColumn(f"{kind.value}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=errors, transient=True)
    written = 0
    with progress, partial.open("w", encoding="utf-8", newline="") as file:
        task = progress.add_task(kind.value, total=total)
        for chunk in desk.export_csv(running.uow(), kind.value, appeal):
            file.write(chunk.text)
            written += chunk.rows
            progress.advance(task, chunk.rows)
    partial.replace(output)  # a half-written file never sits under the name asked for
    console.print(f"wrote {written:,} {kind.value} rows to {output}", highlight=False)


@export_app.command("donations")
def export_donations(appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
                     output: Path = typer.Option(..., "--output", "-o", help="The CSV file to write.")) -> None:
    """Every donation to the appeal, with the donor's contact details (handle as personal data)."""
    _export(ExportKind.DONATIONS, appeal, output)


@export_app.command("charges")
def export_charges(appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
                   output: Path = typer.Option(..., "--output", "-o", help="The CSV file to write.")) -> None:
    """Every attempt to take a donor's money: each charge to a phone bill and each card checkout, with its outcome."""
    _export(ExportKind.CHARGES, appeal, output)


@export_app.command("transfers")
def export_transfers(appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
                     output: Path = typer.Option(..., "--output", "-o", help="The CSV file to write.")) -> None:
    """Every ledger transfer of the appeal, in the order the ledger recorded them."""
    _export(ExportKind.TRANSFERS, appeal, output)


@export_app.command("consents")
def export_consents(appeal: str = typer.Option(..., "--appeal", help="The appeal's slug."),
                    output: Path = typer.Option(..., "--output", "-o", help="The CSV file to write.")) -> None:
    """People who opted in to marketing through the appeal and have not opted out since (STOP wins)."""
    _export(ExportKind.CONSENTS, appeal, output)

