"""The app and the aggregator simulator on real loopback sockets, driven by the commands a person would run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from tests.eventually import eventually

import everypenny
from everypenny.adapters.aggregator.fonix import FonixAggregator
from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer.text_giving import DonorLinks, text_giving_handlers
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app
from everypenny.simulators.server import BackgroundServer

HANDSETS = ["+447700900010", "+447700900110", "+447700900210", "+447700900260", "+447700900510"]
SOURCE = Path(everypenny.__file__).resolve().parents[1]


def everypenny_command(settings, *args: str) -> subprocess.CompletedProcess:
    """Runs `everypenny ARGS` in its own process, configured as an operator's shell would be."""
    env = {**os.environ, "PYTHONPATH": str(SOURCE), "EVERYPENNY_DATABASE_URL": settings.database_url,
           "EVERYPENNY_AGGREGATOR_URL": settings.aggregator_url, "EVERYPENNY_PUBLIC_URL": settings.public_url}
    return subprocess.run([sys.executable, "-m", "everypenny", *args], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def live(platform, seed_appeal):
    """The app (with an outbox worker) and the simulator, each on its own loopback port."""
    settings = platform.settings
    stop = threading.Event()
    with BackgroundServer(create_app(platform)) as app_url:
        simulator = SimulatedAggregator(app_url, settings.aggregator_api_key, settings.aggregator_callback_token,
                                        delivery=Delivery(jitter_s=0.05, duplicate_rate=0.3), seed=7)
        simulator.start(couriers=2)
        with BackgroundServer(create_simulator_app(simulator)) as simulator_url:
            aggregator = FonixAggregator(simulator_url, settings.aggregator_api_key)
            platform.handlers.update(text_giving_handlers(
                aggregator, DonorLinks(settings.public_url, settings.secret_key)))
            worker = threading.Thread(target=platform.worker().run_until, args=(stop,), daemon=True)
            worker.start()
            yield settings.model_copy(update={"aggregator_url": simulator_url, "public_url": app_url})
            stop.set()
            worker.join(timeout=10)
            aggregator.close()
        simulator.stop()


def _settled(settings) -> dict:
    """Waits until every callback is answered and nothing is pending, then returns the totals."""
    def settled() -> dict | None:
        totals = httpx.get(f"{settings.public_url}/api/v1/appeals/sun-ukraine-fund/totals").json()
        queued = httpx.get(f"{settings.aggregator_url}/sim/handsets/447700900010").json()["callbacks_queued"]
        return totals if totals["pending_pence"] == 0 and queued == 0 and totals["donation_count"] > 0 else None

    return eventually(settled, 30, 0.1, "texts did not settle within 30 s")


def test_simulate_text_prints_the_receipt_and_totals_equal_what_the_networks_charged(live):
    result = everypenny_command(live, "simulate", "text", "07700 900010", "SUN£5")

    assert result.returncode == 0, result.stderr
    assert "70141: Thank you! You gave £5 to The Sun's Ukraine Fund" in result.stdout
    assert "Add Gift Aid at no cost to you: http" in result.stdout

    for number in HANDSETS:
        for body in ("SUN10", "sun 3"):
            httpx.post(f"{live.aggregator_url}/sim/texts", json={"from": number, "to": "70141", "body": body})
    totals = _settled(live)

    charged = httpx.get(f"{live.aggregator_url}/sim/charges").json()["charged_pence"]
    assert totals["raised_pence"] == charged > 0

    listing = everypenny_command(live, "donations", "list", "--appeal", "sun-ukraine-fund")
    assert listing.returncode == 0, listing.stderr
    assert "INSUFFICIENT_FUNDS" in listing.stdout and "TEMPORARY_BARRED" in listing.stdout


def test_donations_list_names_an_unknown_appeal(platform, seed_appeal):
    result = everypenny_command(platform.settings, "donations", "list", "--appeal", "no-such-appeal")

    assert result.returncode == 2
    assert "no appeal has the slug 'no-such-appeal'" in result.stderr
