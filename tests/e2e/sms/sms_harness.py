"""Helpers for text giving end to end: the app and the simulated aggregator talk HTTP to each other.

In-process by default (each side's httpx client is the other's TestClient, and the test decides when
callbacks are delivered and when the outbox runs); test_sms_over_sockets.py runs both on real sockets.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from twilio.request_validator import RequestValidator

from everypenny.adapters.aggregator.fonix import FonixAggregator
from everypenny.adapters.appeal_file import parse_definition
from everypenny.adapters.db.schema import outbox_tasks
from everypenny.service_layer.appeals import load_appeal
from everypenny.service_layer.text_giving import DonorLinks, text_giving_handlers
from everypenny.simulators.aggregator import Delivery, SimulatedAggregator, create_simulator_app

SEED_APPEAL = Path(__file__).resolve().parents[3] / "appeals" / "sun-ukraine-fund.toml"
SHORTCODE = "70141"
LONG_NUMBER = "+447700900141"


class TextGiving:
    """A handset's-eye view: text a number, see what comes back; plus the levers tests need."""

    def __init__(self, platform, client, simulator: SimulatedAggregator) -> None:
        self.platform = platform
        self.client = client
        self.simulator = simulator
        self.worker = platform.worker()

    def text(self, sender: str, body: str, to: str = SHORTCODE) -> list[str]:
        """Sends one text and returns every message the handset receives because of it."""
        before = len(self.simulator.handset(sender).received)
        self.simulator.text(sender, to, body)
        self.settle()
        return self.received(sender)[before:]

    def received(self, sender: str) -> list[str]:
        return [message["body"] for message in self.simulator.handset(sender).received]

    def settle(self) -> None:
        """Delivers callbacks and runs the outbox until neither has anything due."""
        for _ in range(200):
            if self.simulator.deliver_due() + self.worker.run_once() == 0:
                return
        raise AssertionError("text giving did not settle")

    def make_retries_due(self) -> None:
        """Skips the outbox's backoff wait (a test has no minute to spare), then settles."""
        with self.platform.engine.begin() as connection:
            connection.execute(update(outbox_tasks).where(outbox_tasks.c.done_at.is_(None))
                               .values(available_at=datetime.now(UTC)))
        self.settle()

    def callback(self, kind: str, fields: dict[str, str], token: str | None = None):
        """Posts a callback (`mo`, `charge-report`, `delivery-report`) as Fonix would: form-encoded, unsigned,
        to the URL with the secret token (default: the right one)."""
        token = self.platform.settings.aggregator_callback_token if token is None else token
        return self.client.post(f"/webhooks/aggregator/{token}/{kind}", content=urlencode(fields).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})

    def twilio(self, sender: str, body: str, sid: str, to: str = LONG_NUMBER, token: str | None = None,
               extra: dict[str, str] | None = None, query: str = "", signed_url: str | None = None):
        """Posts an inbound text as Twilio would, signed over `signed_url` (default: the URL it is posted to)."""
        params = {"MessageSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": to, "Body": body,
                  "NumSegments": "1", "FromCountry": "GB", **(extra or {})}
        path = "/webhooks/twilio/sms" + (f"?{query}" if query else "")
        url = signed_url or self.platform.settings.public_url + path
        signature = RequestValidator(token or self.platform.settings.twilio_auth_token).compute_signature(url, params)
        return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    def totals(self) -> dict:
        return self.client.get("/api/v1/appeals/sun-ukraine-fund/totals").json()

    def donations(self):
        with self.platform.uow() as uow:
            return uow.donations.latest("sun-ukraine-fund")

    def charges(self, reference: str):
        with self.platform.uow() as uow:
            return uow.texts.charges_for(reference)


def connect(platform, client, delivery: Delivery = Delivery()) -> SimulatedAggregator:
    settings = platform.settings
    simulator = SimulatedAggregator("http://testserver", settings.aggregator_api_key,
                                    settings.aggregator_callback_token, delivery=delivery, client=client)
    simulator_client = TestClient(create_simulator_app(simulator), base_url="http://aggregator")
    platform.aggregator = FonixAggregator("http://aggregator", settings.aggregator_api_key, client=simulator_client)
    platform.handlers.update(text_giving_handlers(platform.aggregator, DonorLinks(settings.public_url,
                                                                                  settings.secret_key)))
    return simulator





def load_seed_variant(platform, change) -> None:
    """Loads the seed appeal with `change(definition)` applied, as an edited appeal file would be."""
    definition = tomllib.loads(SEED_APPEAL.read_text(encoding="utf-8"))
    change(definition)
    appeal, normalised = parse_definition(definition, "test variant")
    load_appeal(platform.uow(), appeal, normalised, "test variant")


def count_rows(platform, table) -> int:
    with platform.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))
