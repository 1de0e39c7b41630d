"""Credentials in URLs never reach a stored error or a log line."""

import structlog

from everypenny.domain.redaction import redact_secrets
from everypenny.logs import configure_logging


def test_url_passwords_are_masked_and_everything_else_is_kept():
    assert redact_secrets("not 'smtp+starttls://receipts:p@ss:w0rd@mail.example:587'") == \
        "not 'smtp+starttls://receipts:***@mail.example:587'"
    assert redact_secrets("postgresql+psycopg://app:s3cret@db/everypenny and smtps://u:v@mx") == \
        "postgresql+psycopg://app:***@db/everypenny and smtps://u:***@mx"
    assert redact_secrets("ValueError('smtp+starttls://receipts:hun/ter#2?x@y@mail.example:587')") == \
        "ValueError('smtp+starttls://receipts:***@mail.example:587')"
    for harmless in ("smtp://127.0.0.1:1025", "https://donate.example.org/gift-aid/abc", "mailto:jo@example.org",
                     "https://user@host/path"):
        assert redact_secrets(harmless) == harmless


def test_a_log_line_never_shows_a_urls_password(capsys):
    configure_logging("INFO")

    structlog.get_logger("test").warning("could not connect", url="smtps://receipts:hunter2@mail.example",
                                         error="OSError('smtps://receipts:hunter2@mail.example refused')")

    logged = capsys.readouterr().err
    assert "could not connect" in logged and "receipts:***@mail.example" in logged
    assert "hunter2" not in logged


def test_the_tokens_in_our_own_urls_are_masked():
    from everypenny.domain.redaction import redact_url_tokens

    assert redact_url_tokens("/webhooks/aggregator/s3cret-token/mo") == "/webhooks/aggregator/***/mo"
    assert redact_url_tokens("/donate/sun/thank-you/EP-1?key=abc.def-ghi") == "/donate/sun/thank-you/EP-1?key=***"
    assert redact_url_tokens("/gift-aid/InRva2VuIg.abc") == "/gift-aid/***"
    assert redact_url_tokens("/donate/sun?amount_pence=500&from=enc%3D%3D&x=1") == \
        "/donate/sun?amount_pence=500&from=***&x=1"
    for harmless in ("/donate/sun?amount_pence=500", "/admin/donations?monkey=1", "/healthz"):
        assert redact_url_tokens(harmless) == harmless
