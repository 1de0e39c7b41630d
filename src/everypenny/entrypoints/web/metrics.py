"""Prometheus metrics at /metrics, computed from the database when scraped.

Why not prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR)? It sums per-process files on
one machine only: a deployment of several app nodes would need every node scraped and summed, kill -9'd
workers leave files to clean up, and a counter kept in memory is lost by a crash that the database's
record survives. The inbox, the outbox and the charges are already durable counts of exactly these things,
so /metrics reads them: any node answers for the whole deployment. The cost is a few indexed aggregate
queries per scrape (every 15 s or so), not per request.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.concurrency import run_in_threadpool

from everypenny.adapters.db.operations import operational_figures
from everypenny.bootstrap import Platform


class DatabaseCollector:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self):
        figures = operational_figures(self.platform.engine)
        received = CounterMetricFamily("everypenny_callbacks_received", "Provider callbacks stored (acked), "
                                       "by kind; rate() of kind=\"mo\" is texts acked per second", labels=["kind"])
        for kind, count in sorted(figures.callbacks_received.items()):
            received.add_metric([kind], count)
        yield received
        texts = CounterMetricFamily("everypenny_texts_acked", "Donors' texts (MOs) stored and acknowledged")
        texts.add_metric([], figures.callbacks_received.get("mo", 0))
        yield texts
        depth = GaugeMetricFamily("everypenny_outbox_depth", "Queued tasks not yet done, by topic", labels=["topic"])
        for topic, count in sorted(figures.outbox_depth.items()):
            depth.add_metric([topic], count)
        yield depth
        parked = GaugeMetricFamily("everypenny_outbox_parked", "Tasks parked after failing too often, by topic: "
                                   "each waits for an admin (desk /admin/tasks or `everypenny tasks`)",
                                   labels=["topic"])
        for topic, count in sorted(figures.outbox_parked.items()):
            parked.add_metric([topic], count)
        yield parked
        lag = GaugeMetricFamily("everypenny_inbox_lag_seconds",
                                "Age of the oldest queued task: how far work lags behind what was received")
        lag.add_metric([], figures.oldest_pending_task_age_s)
        yield lag
        outcomes = CounterMetricFamily("everypenny_charges", "Text donation charges by outcome (requested: no "
                                       "report yet; unconfirmed: none came, the statement settles it)",
                                       labels=["outcome"])
        for outcome in ("requested", "charged", "failed", "unconfirmed"):
            outcomes.add_metric([outcome], figures.charges.get(outcome, 0))
        yield outcomes


def metrics_router(platform: Platform) -> APIRouter:
    router = APIRouter(tags=["operations"])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(platform))

    expected = f"Bearer {platform.settings.metrics_token}".encode()

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Behind EVERYPENNY_METRICS_TOKEN when one is set (a public deployment must set one)."""
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        if platform.settings.metrics_token and not hmac.compare_digest(given, expected):
            return Response("/metrics needs Authorization: Bearer <EVERYPENNY_METRICS_TOKEN>", status_code=401,
                            headers={"WWW-Authenticate": "Bearer"}, media_type="text/plain")
        return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)

    return router
