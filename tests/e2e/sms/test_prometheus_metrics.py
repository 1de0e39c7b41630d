"""/metrics as Prometheus users expect it (prometheus.io/docs/practices/naming/): units in names, counters
ending _total, requests by route template and status, callbacks by kind with their ack latency, charges by
network, money by channel, outbox lag per topic, worker batches, the database pool; `promtool check metrics`
finds nothing to complain of."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

PROMTOOL = shutil.which("promtool")


def sample(body: str, name: str) -> float:
    """A sample's value, 0 when absent (the process's counters are shared by every test in it: compare deltas)."""
    for line in body.splitlines():
        if line.rsplit(" ", 1)[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_text_shows_in_the_callback_request_money_and_worker_metrics(texts):
    before = texts.client.get("/metrics").text
    texts.text("447700900001", "SUN5")
    texts.text("447700900251", "SUN5")  # Three, premium texts barred: the charge fails
    texts.client.get("/api/v1/appeals/sun-ukraine-fund/totals")
    after = texts.client.get("/metrics").text

    def grew(name: str) -> float:
        return sample(after, name) - sample(before, name)

    assert grew('everypenny_provider_callbacks_total{kind="mo",provider="aggregator",status="200"}') == 2
    assert grew('everypenny_callback_ack_seconds_count{kind="mo"}') == 2
    assert grew('everypenny_callback_ack_seconds_sum{kind="mo"}') > 0
    assert sample(after, 'everypenny_network_charges_total{network="THREE",outcome="failed"}') == 1
    assert sample(after, 'everypenny_donations_posted_total{channel="carrier_sms"}') == 1
    assert sample(after, 'everypenny_raised_pence_total{channel="carrier_sms"}') == 500
    assert grew('everypenny_http_request_duration_seconds_count{method="GET",'
                'route="/api/v1/appeals/{slug}/totals",status="200"}') == 1
    assert grew("everypenny_worker_batch_duration_seconds_count") > 0
    assert grew('everypenny_worker_tasks_done_total{topic="sms.text_received"}') == 2
    assert "everypenny_db_pool_connections" in after


def test_an_unmatched_path_is_one_series_whatever_was_asked(client):
    client.get("/no/such/page-1")
    client.get("/no/such/page-2")

    body = client.get("/metrics").text
    assert 'route="unmatched",status="404"' in body
    assert "page-1" not in body


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian's prometheus package; "
                    "scripts/test installs it)")
def test_promtool_finds_nothing_wrong_with_our_metrics(texts):
    texts.text("447700900001", "SUN5")
    body = texts.client.get("/metrics").text

    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == ""  # no lint warnings either


CHILD = """
from everypenny import instruments
instruments.callbacks.labels("aggregator", "mo", "200").inc({n})
"""

SCRAPE = """
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
registry = CollectorRegistry()
MultiProcessCollector(registry)
print(generate_latest(registry).decode())
"""


def test_with_a_multiprocess_directory_every_process_counts_toward_one_figure(tmp_path):
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", CHILD.format(n=n)], env=environment, check=True)

    scraped = subprocess.run([sys.executable, "-c", SCRAPE], env=environment, check=True, capture_output=True,
                             text=True).stdout

    assert sample(scraped, 'everypenny_provider_callbacks_total{kind="mo",provider="aggregator",status="200"}') == 5
