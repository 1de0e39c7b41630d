"""Reading a donor's text: a keyword and an amount, or one of the words UK donors expect to work.

Donors write `SUN£5`, `SUN5`, `sun 5`, `Sun £5`; the `£` reaches us as UTF-8, as its GSM-7 code (0x01) or
mis-decoded as `Â£`, so case, spaces and the pound sign are ignored. `NOINFO` after the keyword (spaced or
glued: `SUN5 NOINFO`, `SUN5NOINFO`) donates without marketing consent. The parser never raises: anything
it cannot read is `Unknown`, and the caller replies with the valid keywords.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from everypenny.domain.appeal import Keyword
from everypenny.domain.consent import OPT_IN_REPLY

NOINFO = "NOINFO"


@dataclass(frozen=True)
class Donate:
    keyword: str
    amount_pence: int
    marketing_consent: bool


@dataclass(frozen=True)
class NeedsAmount:
    """The bare keyword where the keyword has no default amount."""

    keyword: str


@dataclass(frozen=True)
class OptOut:
    """STOP stops this appeal's texts; STOPALL (or STOP ALL) and UNSUBSCRIBE stop every appeal's on the number."""

    everything: bool


@dataclass(frozen=True)
class OptIn:
    """START, or YES (the reply the opt-in model's first message asks for: domain/consent.py)."""

    word: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Unknown:
    pass


Intent = Donate | NeedsAmount | OptOut | OptIn | Help | Unknown

COMMANDS: dict[str, Intent] = {
    "STOP": OptOut(everything=False),
    "STOPALL": OptOut(everything=True),
    "UNSUBSCRIBE": OptOut(everything=True),
    "START": OptIn("START"),
    OPT_IN_REPLY: OptIn(OPT_IN_REPLY),
    "HELP": Help(),
    "INFO": Help(),
}

# How a pound sign may arrive: mojibake of UTF-8 read as Latin-1, the GSM-7 code, the full-width form.
_POUND_SPELLINGS = ("Ã‚Â£", "Â£", "\x01", "\uffe1")
_IGNORED = re.compile(r"[\s£]+")
_TRAILING_PUNCTUATION = re.compile(r"[.!?,;:]+$")
# Whole pounds, optionally written with .00; pence amounts parse too, and are refused as not offered.
_AMOUNT = re.compile(r"([0-9]{1,6})(?:\.([0-9]{2}))?")


def _normalise(body: str) -> str:
    for spelling in _POUND_SPELLINGS:
        body = body.replace(spelling, "£")
    return unicodedata.normalize("NFKC", body).upper().strip()


def parse(body: str, keywords: tuple[Keyword, ...]) -> Intent:
    """What the text asks for, read against the keywords of the number it was sent to."""
    text = _normalise(body)
    first_word = _TRAILING_PUNCTUATION.sub("", text.split(maxsplit=1)[0]) if text else ""
    compact = _TRAILING_PUNCTUATION.sub("", _IGNORED.sub("", text))
    if compact == "STOPALL":  # "STOP ALL" too, as PhonepayPlus' consumer guidance writes it
        return COMMANDS[compact]
    if first_word in COMMANDS:
        return COMMANDS[first_word]
    for keyword in sorted(keywords, key=lambda k: len(k.word), reverse=True):
        if compact.startswith(keyword.word):
            return _donation(keyword, compact[len(keyword.word):])
    return Unknown()


def _donation(keyword: Keyword, rest: str) -> Intent:
    consent = True
    if rest.endswith(NOINFO):
        consent, rest = False, rest[: -len(NOINFO)]
    elif rest.startswith(NOINFO):
        consent, rest = False, rest[len(NOINFO):]
    if not rest:
        if keyword.default_pence is None:
            return NeedsAmount(keyword.word)
        return Donate(keyword.word, keyword.default_pence, consent)
    match = _AMOUNT.fullmatch(rest)
    if match is None:
        return Unknown()
    pence = int(match.group(1)) * 100 + int(match.group(2) or 0)
    if pence == 0:
        return Unknown()
    return Donate(keyword.word, pence, consent)
