"""`everypenny online …`: what the appeal desk does to card donations after they are made."""

from __future__ import annotations

import typer

from everypenny.domain.money import format_pence
from everypenny.entrypoints.cli.shared import fail, opened_platform, say
from everypenny.service_layer.online_donations import DonationNotFound, RefundRefused, request_refund

online_app = typer.Typer(help="Online card donations.", no_args_is_help=True)


@online_app.command("refund")
def refund(
    reference: str = typer.Argument(..., help="The donation's reference, e.g. EP-7K3M9Q2XDA."),
    amount_pence: int | None = typer.Option(None, help="Refund part of it; all that is left by default."),
) -> None:
    """Give a card donation back through Stripe; the ledger reverses it when Stripe confirms the refund."""
    reference = reference.upper()
    with opened_platform() as platform:
        try:
            requested = request_refund(platform.uow, platform.payment_gateway(), reference, amount_pence)
        except DonationNotFound:
            fail(f"no donation has the reference {reference}", code=2)
        except RefundRefused as refused:
            fail(str(refused), code=2)
    say(f"refund {requested.refund_id} of {format_pence(requested.amount_pence, requested.currency)} "
        f"requested for {reference}; the ledger records it when Stripe confirms")
