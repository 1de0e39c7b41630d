"""Secrets never reach a stored error or a log line: credentials in URLs are masked wherever text is kept.

A failing SMTP or database connection reports the URL it used, and a URL may carry `user:password@`; what a
task's `last_error` or a log line keeps is shown on the desk and shipped to log stores, so it must not. Some
of our own URLs carry a secret too (the aggregator's callback token, a donor's links), which access logs must
not keep either.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@: the password runs to the last @ before a space or quote, so one holding / # ? or @
# (which a URL parser takes for the path, fragment, query or host) is masked whole.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s'\"]*):[^\s'\"]*@")


def redact_secrets(text: str) -> str:
    """smtp+starttls://receipts:hunter2@mail.example → smtp+starttls://receipts:***@mail.example"""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


# Secrets in our own URLs: the aggregator's callback token (/webhooks/aggregator/<token>/mo), a Gift Aid link
# (/gift-aid/<token>), a donor's receipt key (?key=) and a text-to-link token (?from=, the donor's phone).
_URL_TOKENS = re.compile(r"(?P<keep>/webhooks/aggregator/|/gift-aid/|[?&](?:key|from)=)[^/?&#\s\"']+")


def redact_url_tokens(path: str) -> str:
    """/webhooks/aggregator/s3cret/mo → /webhooks/aggregator/***/mo; /donate/x/thank-you/EP-1?key=k → …?key=***"""
    return _URL_TOKENS.sub(lambda m: f"{m['keep']}{MASK}", path)
