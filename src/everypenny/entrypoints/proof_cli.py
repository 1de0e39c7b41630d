"""`everypenny ledger …`: sealing the ledger into its hash chain and verifying it."""

from __future__ import annotations

from datetime import timedelta

import typer

from everypenny.domain.chain import DEFAULT_SEAL_GRACE
from everypenny.entrypoints.cli import console, errors, fail, platform
from everypenny.service_layer import proof

ledger_app = typer.Typer(help="The ledger's hash chain: seal it, verify it.", no_args_is_help=True)

AppealOption = typer.Option(None, "--appeal", help="One appeal's slug (default: every appeal).")


def _slugs(running, slug: str | None) -> list[str]:
    slugs = proof.appeal_slugs(running.uow)
    if slug is None:
        return slugs
    if slug not in slugs:
        fail(f"no appeal has the slug {slug!r}; `everypenny appeal list` shows them", code=2)
    return [slug]


@ledger_app.command("seal")
def ledger_seal(appeal: str | None = AppealOption) -> None:
    """Append every transfer not yet in the chain (the worker does this every few seconds)."""
    running = platform()
    for slug in _slugs(running, appeal):
        console.print(f"{slug}: sealed {proof.seal_appeal(running.uow, slug)} transfers", highlight=False)


@ledger_app.command("verify")
def ledger_verify(
    appeal: str | None = AppealOption,
    grace_minutes: float = typer.Option(DEFAULT_SEAL_GRACE.total_seconds() / 60, min=0,
                                        help="How long a new transfer may wait to be sealed."),
) -> None:
    """Recompute every hash from the stored transfers; exit 1 naming the first broken entry if any."""
    running = platform()
    broken = False
    for slug in _slugs(running, appeal):
        with running.uow() as uow:
            result = proof.verify_appeal(uow, slug, grace=timedelta(minutes=grace_minutes))
        head = f"head #{result.head.seq} {result.head.hash}" if result.head else "no entries yet"
        waiting = f"; {result.unsealed_recent} new transfers awaiting sealing" if result.unsealed_recent else ""
        if result.intact:
            console.print(f"{slug}: intact: {result.entries_checked} entries checked, {head}{waiting}",
                          highlight=False)
            continue
        broken = True
        if result.first_break:
            errors.print(f"{slug}: BROKEN at {result.first_break} "
                         f"({len(result.breaks)} broken entries in all)", highlight=False, soft_wrap=True)
        if result.unsealed_overdue:
            ids = ", ".join(str(i) for i in result.unsealed_overdue[:10])
            more = "…" if len(result.unsealed_overdue) > 10 else ""
            errors.print(f"{slug}: {len(result.unsealed_overdue)} transfers were never sealed "
                         f"(older than {grace_minutes:g} minutes): {ids}{more}", highlight=False, soft_wrap=True)
    if broken:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(ledger_app, name="ledger")
