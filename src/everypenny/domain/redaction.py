"""Secrets never reach a stored error or a log line: credentials in URLs are masked wherever text is kept.

A failing SMTP or database connection reports the URL it used, and a URL may carry `user:password@`; what a
task's `last_error` or a log line keeps is shown on the desk and shipped to log stores, so it must not.
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
