"""Structured logs: JSON lines for machines (a pipe or a log shipper), readable colour for a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from everypenny import tracing
from everypenny.domain.redaction import redact_secrets, redact_url_tokens


def _redact_secrets(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """No log line carries a URL's password or one of our URLs' tokens, whoever logged it (errors often print
    the URL they used)."""
    return {key: redact_url_tokens(redact_secrets(value)) if isinstance(value, str) else value
            for key, value in event_dict.items()}


class _AccessLogRedaction(logging.Filter):
    """uvicorn's access log line is `client - "METHOD path HTTP/version" status`, its arguments kept apart until
    a handler formats them: the path's tokens are masked first."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url_tokens(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


_ACCESS_LOG_REDACTION = _AccessLogRedaction()


def redact_access_log() -> None:
    """Masks the tokens in our URLs in uvicorn's access log, however its handlers are configured (a filter on
    the logger outlives uvicorn's dictConfig); once is enough, and more is harmless."""
    logging.getLogger("uvicorn.access").addFilter(_ACCESS_LOG_REDACTION)


def _trace_id(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A line logged inside a traced span carries its trace id, to find the trace from the log and back."""
    if trace_id := tracing.trace_id():
        event_dict["trace_id"] = trace_id
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    renderer = (structlog.dev.ConsoleRenderer() if sys.stderr.isatty()
                else structlog.processors.JSONRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _trace_id,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        # Resolve sys.stderr when logging, not now: a test runner may swap and close the stream in between.
        logger_factory=lambda *args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
