"""Traces (OpenTelemetry): one trace follows a donor's text from the aggregator's MO callback through the
outbox's workers to the charge call, and log lines written inside it carry its trace id. Off by default."""

from __future__ import annotations

from datetime import timedelta

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from everypenny import tracing
from everypenny.logs import _trace_id


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.start(exporter)
    yield exporter
    tracing.stop()


def test_one_trace_runs_from_the_texts_callback_through_the_workers_to_the_charge_call(spans, texts):
    texts.text("447700900001", "SUN5")

    finished = spans.get_finished_spans()
    [callback] = [span for span in finished if span.name == "aggregator callback mo"]
    in_its_trace = [span for span in finished if span.context.trace_id == callback.context.trace_id]
    names = {span.name for span in in_its_trace}
    assert "call sms.charge" in names  # the charge request to the aggregator
    assert "outbox batch" in names
    batches = [span for span in in_its_trace if span.name == "outbox batch"]
    assert len(batches) >= 2  # the text's own task, then the charge it queued
    by_id = {span.context.span_id: span for span in in_its_trace}
    call = next(span for span in in_its_trace if span.name == "call sms.charge")
    chain = []
    while call is not None:
        chain.append(call.name)
        call = by_id.get(call.parent.span_id) if call.parent else None
    assert chain[0] == "call sms.charge" and chain[-1] == "aggregator callback mo"


def test_without_tracing_no_trace_context_is_stored_with_a_task(texts, platform):
    from everypenny.service_layer.text_giving import InboundText, accept_callbacks, text_callback

    accept_callbacks(platform.uow(), [text_callback(InboundText("aggregator", "m1", "447400000001", "70141",
                                                                "SUN5", "EE"))])

    with platform.uow() as uow:
        [task] = uow.outbox.claim(10, timedelta(seconds=30))
    assert tracing.TRACE_KEY not in task.payload


def test_a_log_line_inside_a_span_carries_its_trace_id(spans):
    with tracing.span("anything"):
        line = _trace_id(None, "info", {"event": "charge requested"})

    assert len(line["trace_id"]) == 32 and line["trace_id"] != "0" * 32
    assert "trace_id" not in _trace_id(None, "info", {"event": "outside any span"})


def test_a_text_whose_trace_is_not_sampled_costs_no_spans_and_carries_nothing(texts):
    exporter = InMemorySpanExporter()
    tracing.start(exporter, sample_ratio=0.0)
    try:
        texts.text("447700900001", "SUN5")
    finally:
        tracing.stop()

    assert exporter.get_finished_spans() == ()
