"""Prometheus instruments that count what happens inside a process: requests, callbacks, worker batches.

Figures the database holds for the whole deployment (callbacks stored, charges, donations, outbox depth)
are read from it at scrape time (entrypoints/web/metrics.py); these are the ones only the process sees.
With PROMETHEUS_MULTIPROC_DIR set before start, every process of a node (uvicorn's workers, `everypenny
worker` on the same machine) writes its samples to that directory and /metrics sums them
(prometheus.github.io/client_python/multiprocess/). Names follow prometheus.io/docs/practices/naming/:
base units (`_seconds`) and `_total` for counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, Summary

# Ours alone, not prometheus_client's global one: /metrics chooses what it shows (see entrypoints/web/metrics.py).
REGISTRY = CollectorRegistry(auto_describe=True)

# A web request lasts from a millisecond (an acked callback) to seconds (an export); 10 s and over is a problem.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

http_request_duration = Histogram(
    "everypenny_http_request_duration_seconds",
    "Web requests by route template, method and status: rate, errors (status 5xx) and latency",
    ["route", "method", "status"], buckets=REQUEST_BUCKETS, registry=REGISTRY)

callbacks = Counter(
    "everypenny_provider_callbacks_total",
    "Provider callbacks answered by this node, by provider, kind and HTTP status (5xx: the store failed)",
    ["provider", "kind", "status"], registry=REGISTRY)

# Two counters (_count and _sum) and no quantiles: the cheapest latency record, for the callbacks' fast path.
callback_ack = Summary(
    "everypenny_callback_ack_seconds",
    "Time from a callback's arrival to its acknowledgement (after its group commit), by kind",
    ["kind"], registry=REGISTRY)

worker_batch_duration = Histogram(
    "everypenny_worker_batch_duration_seconds",
    "Time an outbox worker took to run a claimed batch of tasks (calls out, then one transaction)",
    buckets=BATCH_BUCKETS, registry=REGISTRY)

worker_tasks_done = Counter(
    "everypenny_worker_tasks_done_total", "Outbox tasks a worker completed, by topic", ["topic"], registry=REGISTRY)

worker_task_failures = Counter(
    "everypenny_worker_task_failures_total", "Outbox task runs that failed (retried later or parked), by topic",
    ["topic"], registry=REGISTRY)
