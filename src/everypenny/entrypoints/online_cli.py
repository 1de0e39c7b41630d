"""`everypenny online …`: what the appeal desk does to card donations after they are made."""

from __future__ import annotations

import typer
from rich.console import Console

from everypenny import bootstrap
from everypenny.adapters.db.engine import SchemaNotCurrent
from everypenny.domain.money import format_pence
from everypenny.service_layer.online_donations import DonationNotFound, RefundRefused, request_refund

online_app = typer.Typer(help="Online card donations.", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


@online_app.command("refund")
def refund(
    reference: str = typer.Argument(..., help="The donation's reference, e.g. EP-7K3M9Q2XDA."),
    amount_pence: int | None = typer.Option(None, help="Refund part of it; all that is left by default."),
) -> None:
    """Give a card donation back through Stripe; the ledger reverses it when Stripe confirms the refund."""
    reference = reference.upper()
    try:
        platform = bootstrap.build()
    except SchemaNotCurrent as error:
        errors.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(3) from None
    try:
        requested = request_refund(platform.uow, platform.payment_gateway(), reference, amount_pence)
    except (DonationNotFound, RefundRefused) as refused:
        message = f"no donation has the reference {reference}" if isinstance(refused, DonationNotFound) else refused
        errors.print(f"[bold red]error:[/] {message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        platform.engine.dispose()
    console.print(f"refund {requested.refund_id} of {format_pence(requested.amount_pence, requested.currency)} "
                  f"requested for {reference}; the ledger records it when Stripe confirms", highlight=False)
