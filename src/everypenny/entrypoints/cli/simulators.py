"""`everypenny simulator stripe|aggregator`: local stand-ins for Stripe and the SMS aggregator, for the demo and
for trying the donation page and text giving by hand."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlparse

import typer

from everypenny.config import Settings, get_settings
from everypenny.entrypoints.cli.shared import fail, say
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app
from everypenny.simulators.aggregator_faults import FAULT_NAMES, Faults, parse_faults
from everypenny.simulators.server import BackgroundServer
from everypenny.simulators.stripe import SimulatorServer, StripeSimulator, WebhookOptions

simulator_app = typer.Typer(help="Local stand-ins for outside services.", no_args_is_help=True)


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
            say(f"Stripe simulator on {url}, webhooks to {webhook.url}; "
                "pay with 4242 4242 4242 4242 (success) or 4000 0000 0000 0002 (declined)")
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


@contextmanager
def running_simulator(settings: Settings, app_url: str, delivery: Delivery = Delivery(),
                      couriers: int = 1, faults: Faults = Faults()) -> Iterator[str]:
    """The simulated aggregator, listening where settings say the aggregator is, calling back `app_url`."""
    where = urlparse(settings.aggregator_url)
    simulator = SimulatedAggregator(app_url, settings.aggregator_api_key, settings.aggregator_callback_token,
                                    delivery=delivery, faults=faults)
    simulator.start(couriers)
    try:
        with BackgroundServer(create_simulator_app(simulator), host=where.hostname or "127.0.0.1",
                            port=where.port or 80) as url:
            yield url
    finally:
        simulator.stop()


@simulator_app.command("aggregator")
def simulator_aggregator(
    app_url: str = typer.Option(None, help="Where to post callbacks (default: EVERYPENNY_PUBLIC_URL)."),
    delay_s: float = typer.Option(0.0, help="Hold every callback this long."),
    jitter_s: float = typer.Option(0.0, help="Add up to this much random delay, which reorders callbacks."),
    duplicate_rate: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of callbacks sent twice."),
    couriers: int = typer.Option(1, min=1, max=64, help="Threads posting callbacks side by side."),
    faults: str = typer.Option("", help=f"Misbehave as a real aggregator can, each fault with the share of charges "
                                        f"it strikes in percent (a name alone is 100), e.g. lost-answers=5,"
                                        f"refuse-repeats=100. Faults: {', '.join(FAULT_NAMES)}."),
) -> None:
    """Run the carrier-billing aggregator simulator at EVERYPENNY_AGGREGATOR_URL until interrupted."""
    settings = get_settings()
    try:
        chosen = parse_faults(faults)
    except ValueError as error:
        fail(f"--faults: {error}", code=2)
    delivery = Delivery(delay_s=delay_s, jitter_s=jitter_s, duplicate_rate=duplicate_rate)
    with running_simulator(settings, app_url or settings.public_url, delivery, couriers, chosen) as url:
        say(f"aggregator simulator on {url}, calling back {app_url or settings.public_url}, faults: {chosen}")
        with suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
