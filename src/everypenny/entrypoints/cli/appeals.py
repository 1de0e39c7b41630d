"""`everypenny appeal …`: appeal definitions, loaded from their files, and their lifecycle."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from everypenny.adapters.appeal_file import AppealFileError, load_appeal_file
from everypenny.domain.appeal_lifecycle import TransitionRefused
from everypenny.domain.going_live import NotReadyToGoLive, live_appeal_problems
from everypenny.domain.money import format_pence
from everypenny.domain.national import SharesChangeRefused
from everypenny.entrypoints.cli.shared import console, fail, fail_unknown_appeal, opened_platform
from everypenny.service_layer import desk, views
from everypenny.service_layer.appeals import (
    CurrencyChangeRefused,
    StatusChangeRefused,
    UnknownAppeal,
    load_appeal,
)

appeal_app = typer.Typer(help="Appeal definitions.", no_args_is_help=True)


def load_appeal_files(files: list[Path]) -> None:
    with opened_platform() as platform:
        for path in files:
            try:
                appeal, definition = load_appeal_file(path)
                result = load_appeal(platform.uow(), appeal, definition, str(path))
            except (AppealFileError, CurrencyChangeRefused, StatusChangeRefused, NotReadyToGoLive,
                    SharesChangeRefused) as error:
                fail(str(error), code=2)
            detail = f" ({', '.join(result.changed_keys)})" if result.changed_keys else ""
            console.print(f"{result.slug}: {result.outcome}{detail}", highlight=False)


@appeal_app.command("load")
def appeal_load(files: list[Path] = typer.Argument(..., help="Appeal TOML files.")) -> None:
    """Create or update appeals from their files; loading an unchanged file changes nothing."""
    load_appeal_files(files)


@appeal_app.command("check")
def appeal_check(file: Path = typer.Argument(..., help="An appeal TOML file.")) -> None:
    """What the appeal still lacks or breaks to go live (docs/appeal-rules.md); exit 1 if anything. Reads
    nothing stored and changes nothing."""
    try:
        appeal, _ = load_appeal_file(file)
        problems = [f"{file}: {p.key}: {p.message}" for p in live_appeal_problems(appeal)]
    except AppealFileError as error:
        problems = str(error).splitlines()
    for line in problems:
        console.print(line, highlight=False, markup=False)
    if problems:
        raise typer.Exit(1)
    console.print(f"{file}: ready to go live", highlight=False, markup=False)


@appeal_app.command("list")
def appeal_list() -> None:
    """Every appeal with its status and what it has raised."""
    table = Table("slug", "name", "status", "raised", "pending", "donations")
    with opened_platform() as platform:
        for figures in views.every_appeals_figures(platform.uow()):
            appeal, totals = figures.appeal, figures.totals
            table.add_row(appeal.slug, appeal.name, appeal.status.value,
                          format_pence(totals.raised_pence, totals.currency),
                          format_pence(totals.pending_pence, totals.currency), str(totals.donation_count))
    console.print(table)


@appeal_app.command("show")
def appeal_show(slug: str) -> None:
    """One appeal's definition, ledger balances and change history."""
    with opened_platform() as platform:
        try:
            record = views.appeal_record(platform.uow(), slug)
        except UnknownAppeal as error:
            fail_unknown_appeal(error)
    appeal, balances, changes = record.appeal, record.balances, record.changes
    money = lambda pence: format_pence(pence, appeal.currency)  # noqa: E731
    console.print(f"[bold]{appeal.name}[/] ({appeal.slug}) — {appeal.status.value}")
    console.print(f"media partner: {appeal.media_partner}")
    console.print(f"beneficiary: {appeal.beneficiary.name} ({appeal.beneficiary.registered_as})")
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
    for partner in appeal.effective_partners:
        console.print(f"partner {partner.slug}: {partner.name}, keywords {', '.join(partner.keywords)}")
    for member in appeal.effective_members:
        console.print(f"member {member.slug}: {member.name} (registered charity {member.charity_number}), "
                      f"fund {member.fund}")
    for version in appeal.effective_shares:
        console.print(f"shares {version.describe()}: " + ", ".join(
            f"{slug} {points // 100}.{points % 100:02d}%" for slug, points in version.basis_points.items()))
    table = Table("account", "posted", "pending")
    for code, (posted, pending) in sorted(balances.items()):
        table.add_row(code, money(posted), money(pending))
    console.print(table)
    for change in changes:
        keys = ", ".join(change.changed_keys) or "created"
        console.print(f"{change.changed_at:%Y-%m-%d %H:%M} {change.source}: {keys}", highlight=False)


@appeal_app.command("status")
def appeal_status(slug: str = typer.Argument(..., help="The appeal's slug."),
                  status: str = typer.Argument(..., help="live or closed (draft → live → closed).")) -> None:
    """Move an appeal along draft → live → closed; a closed appeal stays closed."""
    with opened_platform() as running:
        try:
            before = desk.change_appeal_status(running.uow(), slug, status, "cli")
        except UnknownAppeal as error:
            fail_unknown_appeal(error)
        except (desk.StatusUnknown, TransitionRefused, NotReadyToGoLive) as error:
            fail(str(error), code=2)
    console.print(f"{slug}: {before.value} → {status.strip().lower()}", highlight=False)
