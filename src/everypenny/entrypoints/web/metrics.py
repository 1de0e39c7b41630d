"""Prometheus metrics at /metrics: the deployment's figures read from the database when scraped, and the
process's own instruments (everypenny/instruments.py: requests, callbacks, worker batches).

The inbox, the outbox, the charges and the donations are durable counts of what happened, so those figures
are read from the database: any node answers for the whole deployment, and a crash loses nothing. The cost
is a few indexed aggregate queries per scrape (every 15 s or so), not per request. Requests, ack latency and
worker batches exist only in the processes that saw them: with PROMETHEUS_MULTIPROC_DIR set, each process of
a node writes them there and this endpoint sums them (prometheus_client's multiprocess mode); without it,
this process's own are shown.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from everypenny import instruments, tracing
from everypenny.adapters.db.operations import OperationalFigures, operational_figures
from everypenny.bootstrap import Platform

log = structlog.get_logger()
UNMATCHED = "unmatched"  # a path no route matched: one label value, however many paths are probed


class DatabaseCollector:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("everypenny_database_up", "1 when the database answered this scrape's queries")
        try:
            figures = operational_figures(self.platform.engine)
        except SQLAlchemyError as error:
            log.warning("metrics cannot read the database", error=repr(error))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _callbacks(figures)
        yield from _outbox(figures)
        yield from _money(figures)
        yield from _appeals(figures)


def _appeals(figures: OperationalFigures) -> Iterator[Metric]:
    live = GaugeMetricFamily("everypenny_appeals_live", "Appeals taking donations now")
    live.add_metric([], figures.appeals_live)
    yield live
    awaited = GaugeMetricFamily("everypenny_settlement_awaited_since_timestamp_seconds",
                                "Since when the aggregator's next statement is awaited: its last statement's "
                                "import, or the first charge if none came (absent: nothing charged)")
    if figures.statement_awaited_since is not None:
        awaited.add_metric([], figures.statement_awaited_since.timestamp())
    yield awaited
    marker = GaugeMetricFamily("everypenny_broadcast_marker_last_timestamp_seconds",
                               "When any appeal last went on air (its latest broadcast marker; absent: none)")
    if figures.last_marker_at is not None:
        marker.add_metric([], figures.last_marker_at.timestamp())
    yield marker


def _callbacks(figures: OperationalFigures) -> Iterator[Metric]:
    received = CounterMetricFamily("everypenny_callbacks_received", "Provider callbacks stored (acked), "
                                   "by kind; rate() of kind=\"mo\" is texts acked per second", labels=["kind"])
    for kind, count in sorted(figures.callbacks_received.items()):
        received.add_metric([kind], count)
    yield received
    texts = CounterMetricFamily("everypenny_texts_acked", "Donors' texts (MOs) stored and acknowledged")
    texts.add_metric([], figures.callbacks_received.get("mo", 0))
    yield texts


def _outbox(figures: OperationalFigures) -> Iterator[Metric]:
    depth = GaugeMetricFamily("everypenny_outbox_depth", "Queued tasks not yet done, by topic", labels=["topic"])
    for topic, count in sorted(figures.outbox_depth.items()):
        depth.add_metric([topic], count)
    yield depth
    parked = GaugeMetricFamily("everypenny_outbox_parked", "Tasks parked after failing too often, by topic: "
                               "each waits for an admin (desk /admin/tasks or `everypenny tasks`)", labels=["topic"])
    for topic, count in sorted(figures.outbox_parked.items()):
        parked.add_metric([topic], count)
    yield parked
    lag = GaugeMetricFamily("everypenny_outbox_lag_seconds", "How long the longest-due task of each topic has "
                            "waited for a worker (absent: none due)", labels=["topic"])
    for topic, seconds in sorted(figures.outbox_lag_s.items()):
        lag.add_metric([topic], seconds)
    yield lag
    oldest = GaugeMetricFamily("everypenny_inbox_lag_seconds",
                               "Age of the oldest queued task: how far work lags behind what was received")
    oldest.add_metric([], figures.oldest_pending_task_age_s)
    yield oldest


def _money(figures: OperationalFigures) -> Iterator[Metric]:
    outcomes = CounterMetricFamily("everypenny_charges", "Text donation charges by outcome (requested: no "
                                   "report yet; unconfirmed: none came, the statement settles it)", labels=["outcome"])
    for outcome in ("requested", "charged", "failed", "unconfirmed"):
        outcomes.add_metric([outcome], figures.charges.get(outcome, 0))
    yield outcomes
    by_network = CounterMetricFamily("everypenny_network_charges", "Text donation charges by mobile network "
                                     "and outcome: one network refusing shows here", labels=["network", "outcome"])
    for (network, outcome), count in sorted(figures.network_charges.items()):
        by_network.add_metric([network, outcome], count)
    yield by_network
    posted = CounterMetricFamily("everypenny_donations_posted", "Donations whose money came in, by channel",
                                 labels=["channel"])
    raised = CounterMetricFamily("everypenny_raised_pence", "Pence paid in by donations, by channel",
                                 labels=["channel"])
    for channel, (count, pence) in sorted(figures.donations_posted.items()):
        posted.add_metric([channel], count)
        raised.add_metric([channel], pence)
    yield posted
    yield raised


class PoolCollector:
    """This process's database connections (each process has its own pool)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        pool = self.engine.pool
        in_use = GaugeMetricFamily("everypenny_db_pool_connections", "This process's pooled database "
                                   "connections, by state (in_use: checked out)", labels=["state"])
        checked_out = getattr(pool, "checkedout", None)
        checked_in = getattr(pool, "checkedin", None)
        if checked_out and checked_in:
            in_use.add_metric(["in_use"], checked_out())
            in_use.add_metric(["idle"], checked_in())
        yield in_use
        size = GaugeMetricFamily("everypenny_db_pool_max_connections",
                                 "The most connections this process's pool holds (size plus overflow)")
        pool_size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", 0)
        if pool_size:
            size.add_metric([], pool_size() + max(overflow, 0))
        yield size


class RequestMetrics:
    """ASGI middleware: each request's duration by route template (never the raw path: its tokens and
    slugs would make a series per caller), method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with tracing.span(scope["method"]) as span:
                await self.app(scope, receive, send_noting_status)
                if span is not None:  # named by the route's template: a path's tokens stay out of traces
                    span.update_name(f"{scope['method']} {route_template(scope)}")
        finally:
            instruments.http_request_duration.labels(route_template(scope), scope["method"], str(status)) \
                .observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path with its parameters' names (`/api/v1/appeals/{slug}/totals`), below any mount."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return UNMATCHED
    return scope.get("root_path", "") + path


def metrics_registry(platform: Platform) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(platform))
    registry.register(PoolCollector(platform.engine))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(instruments.REGISTRY)
    return registry


def metrics_router(platform: Platform) -> APIRouter:
    router = APIRouter(tags=["operations"])
    registry = metrics_registry(platform)
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
