"""Text a database can keep: PostgreSQL's text refuses NUL, and a lone surrogate (possible from a JSON
"\\ud800" escape) is not UTF-8 at all. Input carrying either is refused where it arrives, as a 4xx."""

from __future__ import annotations

import re

_CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def has_unstorable_characters(text: str) -> bool:
    """True for control characters (NUL included) or lone surrogates, which no name or address holds."""
    return _CONTROL_OR_SURROGATE.search(text) is not None
