"""`everypenny simulator stripe`: the local Stripe, for the demo and for trying the donation page by hand."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager, suppress

import typer
from rich.console import Console

from everypenny.config import get_settings
from everypenny.simulators.stripe import SimulatorServer, StripeSimulator, WebhookOptions

simulator_app = typer.Typer(help="Local stand-ins for outside services.", no_args_is_help=True)
console = Console()


@contextmanager
def stripe_simulator(host: str, port: int, webhook: WebhookOptions):
    """Runs the simulator with the configured API key and webhook secret, and points this process's
    settings (EVERYPENNY_STRIPE_API_BASE) at it."""
    settings = get_settings()
    sim = StripeSimulator(settings.stripe_webhook_secret, settings.stripe_api_key, webhook)
    previous = os.environ.get("EVERYPENNY_STRIPE_API_BASE")
    with SimulatorServer(sim, host, port) as url:
        os.environ["EVERYPENNY_STRIPE_API_BASE"] = url
        try:
            console.print(f"Stripe simulator on {url}, webhooks to {webhook.url}; "
                          "pay with 4242 4242 4242 4242 (success) or 4000 0000 0000 0002 (declined)", highlight=False)
            yield sim
        finally:
            if previous is None:
                os.environ.pop("EVERYPENNY_STRIPE_API_BASE", None)
            else:
                os.environ["EVERYPENNY_STRIPE_API_BASE"] = previous


@simulator_app.command("stripe")
def stripe_command(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(12111, help="Match EVERYPENNY_STRIPE_API_BASE."),
    webhook_url: str = typer.Option("http://127.0.0.1:8000/webhooks/stripe", help="Where events are sent."),
    duplicate: bool = typer.Option(False, help="Deliver every event twice."),
    reorder: bool = typer.Option(False, help="Hold events briefly and deliver them newest first."),
    delay_s: float = typer.Option(0.0, help="Wait this long before delivering each event."),
    retry_base_s: float = typer.Option(1.0, help="First retry delay; it doubles on each failed delivery."),
) -> None:
    """Serve Stripe's API subset, its hosted checkout page and signed webhooks until interrupted."""
    options = WebhookOptions(url=webhook_url, duplicate=duplicate, reorder=reorder, delay_s=delay_s,
                             retry_base_s=retry_base_s)
    with stripe_simulator(host, port, options), suppress(KeyboardInterrupt):
        threading.Event().wait()
