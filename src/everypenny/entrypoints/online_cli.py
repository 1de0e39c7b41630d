"""`everypenny online …`: what the appeal desk does to card donations after they are made."""

from __future__ import annotations

import typer
from rich.console import Console

from everypenny.domain.money import format_pence
from everypenny.service_layer.online_donations import DonationNotFound, RefundRefused, request_refund

online_app = typer.Typer(help="Online card donations.", no_args_is_help=True)
console = Console()


@online_app.command("refund")
def refund(
    reference: str = typer.Argument(..., help="The donation's reference, e.g. EP-7K3M9Q2XDA."),
    amount_pence: int | None = typer.Option(None, help="Refund part of it; all that is left by default."),
) -> None:
    """Give a card donation back through Stripe; the ledger reverses it when Stripe confirms the refund."""
    from everypenny.entrypoints.cli import fail, platform  # imported here: cli.py imports this module

    running = platform()
    try:
        requested = request_refund(running.uow, running.payment_gateway(), reference.upper(), amount_pence)
    except DonationNotFound:
        fail(f"no donation has the reference {reference}", code=2)
    except RefundRefused as refused:
        fail(str(refused), code=2)
    finally:
        running.engine.dispose()
    console.print(f"refund {requested.refund_id} of {format_pence(requested.amount_pence, requested.currency)} "
                  f"requested for {reference.upper()}; "
                  "the ledger records it when Stripe confirms", highlight=False)
