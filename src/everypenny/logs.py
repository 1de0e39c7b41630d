"""Structured logs: JSON lines for machines (a pipe or a log shipper), readable colour for a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from everypenny.domain.redaction import redact_secrets


def _redact_secrets(logger: object, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """No log line carries a URL's password, whoever logged it (errors often print the URL they used)."""
    return {key: redact_secrets(value) if isinstance(value, str) else value for key, value in event_dict.items()}


def configure_logging(level: str = "INFO") -> None:
    renderer = (structlog.dev.ConsoleRenderer() if sys.stderr.isatty()
                else structlog.processors.JSONRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
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
