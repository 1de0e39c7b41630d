"""OpenTelemetry traces, off unless EVERYPENNY_OTLP_ENDPOINT names a collector
(opentelemetry.io/docs/languages/python/).

One trace follows a text from the aggregator's MO callback through the outbox's workers to the charge call:
a task carries the W3C trace context (www.w3.org/TR/trace-context/) of the span that queued it, under
TRACE_KEY in its payload, which the outbox's store takes out again before any handler sees the payload.
When tracing is off, nothing is added and every check here is one boolean.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_KEY = "_traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
tracer = trace.get_tracer("everypenny")
_OFF = nullcontext()  # one for every untraced block: no allocation per request when traces are off


class _State:
    on = False


def enabled() -> bool:
    return _State.on


def configure(endpoint: str, sample_ratio: float = 1.0, service: str = "everypenny") -> None:
    """Exports spans to the OTLP/HTTP collector at `endpoint` (e.g. http://collector:4318/v1/traces), tracing
    `sample_ratio` of the traces begun here (a task's trace follows the decision made where it began)."""
    if not endpoint or _State.on:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    start(OTLPSpanExporter(endpoint=endpoint), sample_ratio, service, batch=True)


def start(exporter: SpanExporter, sample_ratio: float = 1.0, service: str = "everypenny",
          batch: bool = False) -> TracerProvider:
    """Traces on, sent to `exporter` (a test passes the SDK's InMemorySpanExporter)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}),
                              sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    global tracer
    tracer = provider.get_tracer("everypenny")  # ours, not the global provider: set once, it cannot be undone
    _State.on = True
    return provider


def stop() -> None:
    """Traces off again (a test's, once it has its spans)."""
    global tracer
    _State.on = False
    tracer = trace.get_tracer("everypenny")


def span(name: str, context: Context | None = None, links: Sequence[Link] = ()) -> Any:
    """A span made current for the `with` block, or nothing at all when tracing is off."""
    if not _State.on:
        return _OFF
    return tracer.start_as_current_span(name, context=context, links=links)


def carried(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with the current trace context, so the spans of the worker that runs it join this trace
    (the same payload when tracing is off or no span is current)."""
    if not recording():
        return payload  # an unsampled trace has nothing downstream worth joining
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {**payload, TRACE_KEY: carrier["traceparent"]} if "traceparent" in carrier else payload


def taken_from(payload: dict[str, Any]) -> str | None:
    """Takes the trace context out of a stored payload, leaving it as it was queued."""
    return payload.pop(TRACE_KEY, None)


def parent_of(traceparents: Sequence[str | None]) -> tuple[Context | None, list[Link]]:
    """The context a batch's span continues: its tasks' one trace if they share it, else a new trace
    linked to each of theirs (a batch of many texts belongs to many traces)."""
    contexts = [_PROPAGATOR.extract({"traceparent": value}) for value in set(traceparents) if value]
    if len(contexts) == 1:
        return contexts[0], []
    return None, [Link(trace.get_current_span(context).get_span_context()) for context in contexts]


def recording() -> bool:
    """Whether the current span is kept (sampled): work for a span nobody will see can be skipped."""
    return _State.on and trace.get_current_span().is_recording()


def trace_id() -> str | None:
    """The current span's trace id in hex, for log lines; None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
