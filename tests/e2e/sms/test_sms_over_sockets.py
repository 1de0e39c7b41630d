"""The app and the aggregator simulator on real loopback sockets, driven by the CLI a person would use."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from typer.testing import CliRunner

from everypenny.adapters.aggregator.client import HttpAggregator
from everypenny.entrypoints import cli_text_giving
from everypenny.entrypoints.cli import app as cli
from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer.text_giving import DonorLinks, text_giving_handlers
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app
from everypenny.simulators.server import ThreadedServer

HANDSETS = ["+447700900010", "+447700900110", "+447700900210", "+447700900260", "+447700900510"]


@pytest.fixture
def live(platform, seed_appeal, monkeypatch):
    """The app (with an outbox worker) and the simulator, each on its own loopback port."""
    settings = platform.settings
    stop = threading.Event()
    with ThreadedServer(create_app(platform)) as app_url:
        simulator = SimulatedAggregator(app_url, settings.aggregator_api_key, settings.aggregator_callback_secret,
                                        delivery=Delivery(jitter_s=0.05, duplicate_rate=0.3), seed=7)
        simulator.start(couriers=2)
        with ThreadedServer(create_simulator_app(simulator)) as simulator_url:
            aggregator = HttpAggregator(simulator_url, settings.aggregator_api_key)
            platform.handlers.update(text_giving_handlers(
                aggregator, DonorLinks(settings.public_url, settings.secret_key)))
            worker = threading.Thread(target=platform.worker().run_until, args=(stop,), daemon=True)
            worker.start()
            # The commands read their settings here: point them at this app, simulator and database.
            as_run = settings.model_copy(update={"aggregator_url": simulator_url, "public_url": app_url})
            monkeypatch.setattr(cli_text_giving, "get_settings", lambda: as_run)
            yield app_url, simulator_url
            stop.set()
            worker.join(timeout=10)
            aggregator.close()
        simulator.stop()


def _settled(app_url: str, simulator_url: str) -> dict:
    """Waits until every callback is answered and nothing is pending, then returns the totals."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        totals = httpx.get(f"{app_url}/api/v1/appeals/sun-ukraine-fund/totals").json()
        queued = httpx.get(f"{simulator_url}/sim/handsets/447700900010").json()["callbacks_queued"]
        if totals["pending_pence"] == 0 and queued == 0 and totals["donation_count"] > 0:
            return totals
        time.sleep(0.1)
    raise AssertionError("texts did not settle within 30 s")


def test_simulate_text_prints_the_receipt_and_totals_equal_what_the_networks_charged(live):
    app_url, simulator_url = live

    result = CliRunner().invoke(cli, ["simulate", "text", "07700 900010", "SUN£5"])

    assert result.exit_code == 0, result.output
    assert "70141: Thank you! You gave £5 to The Sun's Ukraine Fund" in result.output
    assert "70141: Add Gift Aid at no cost to you:" in result.output

    for number in HANDSETS:
        for body in ("SUN10", "sun 3"):
            httpx.post(f"{simulator_url}/sim/texts", json={"from": number, "to": "70141", "body": body})
    totals = _settled(app_url, simulator_url)

    charged = httpx.get(f"{simulator_url}/sim/charges").json()["charged_pence"]
    assert totals["raised_pence"] == charged > 0

    listing = CliRunner().invoke(cli, ["donations", "list", "--appeal", "sun-ukraine-fund"])
    assert listing.exit_code == 0, listing.output
    assert "INSUFFICIENT_CREDIT" in listing.output and "BARRED" in listing.output


def test_donations_list_names_an_unknown_appeal(platform, seed_appeal, monkeypatch):
    monkeypatch.setattr(cli_text_giving, "get_settings", lambda: platform.settings)

    result = CliRunner().invoke(cli, ["donations", "list", "--appeal", "no-such-appeal"])

    assert result.exit_code == 2
    assert "no appeal has the slug 'no-such-appeal'" in result.output
