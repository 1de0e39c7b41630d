"""A span for each SQL statement, when traces are on (everypenny/tracing.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from everypenny import tracing


def instrument_engine(engine: Engine) -> None:
    """Spans named by the statement's first word (SELECT, INSERT…): never its text, whose values may be a
    donor's."""
    if not tracing.enabled():
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        span = None
        if tracing.recording():  # inside a kept trace: a statement of an unsampled one costs no span
            verb = statement.split(None, 1)[0] if statement.strip() else "query"
            span = tracing.tracer.start_span(f"db {verb}", attributes={"db.system": engine.dialect.name})
        conn.info.setdefault("everypenny_spans", []).append(span)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, *_: Any) -> None:
        if (spans := conn.info.get("everypenny_spans")) and (span := spans.pop()) is not None:
            span.end()
