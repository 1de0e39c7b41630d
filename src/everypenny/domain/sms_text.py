"""What fits in one text message: GSM-7's alphabet and septet count (3GPP TS 23.038 §6.2.1), and sentences
packed into parts of 160 septets that are each sent on their own."""

from __future__ import annotations

import re

SMS_PART_LENGTH = 160
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXTENSION = set("^{}\\[~]|€")  # each costs two septets
_GSM7 = frozenset(_GSM7_BASIC | _GSM7_EXTENSION)
_GSM7_SUBSTITUTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."})


def gsm7_length(text: str) -> int | None:
    """Septets `text` takes in GSM-7, or None when it needs Unicode (which would cut a part to 70)."""
    # Set operations rather than a test per character: every reply and receipt is measured several times.
    characters = set(text)
    if not characters <= _GSM7:
        return None
    extended = characters & _GSM7_EXTENSION
    return len(text) + (sum(text.count(ch) for ch in extended) if extended else 0)


def to_gsm7(text: str) -> str:
    """Typographic quotes and dashes become their plain forms; anything else outside GSM-7 becomes '?'."""
    plain = text.translate(_GSM7_SUBSTITUTES)
    if set(plain) <= _GSM7:
        return plain
    return "".join(ch if ch in _GSM7 else "?" for ch in plain)


def _septets(plain: str) -> int:
    """The length of text already made GSM-7 (to_gsm7)."""
    length = gsm7_length(plain)
    assert length is not None
    return length


def fit_parts(sentences: list[str]) -> tuple[str, ...]:
    """Packs sentences into messages of at most 160 GSM-7 septets, each sent on its own (no concatenation).

    A sentence stays whole in one message when it can, so a link is never parted from what it is for;
    only a sentence longer than a message is broken, between words, and never inside a phone number, an
    amount, a link or a keyword (docs/appeal-rules.md): a donor must be able to read and use each from one message.
    """
    parts: list[str] = []
    for sentence in sentences:
        plain = to_gsm7(sentence)
        if parts and _septets(f"{parts[-1]} {plain}") <= SMS_PART_LENGTH:
            parts[-1] = f"{parts[-1]} {plain}"
        elif _septets(plain) <= SMS_PART_LENGTH:
            parts.append(plain)
        else:
            parts.extend(_between_words(plain))
    return tuple(part for part in parts if part)


# A number written in groups ("0344 871 11 11", "+44 7700 900123") is one word: the only thing a donor must
# read whole that has spaces inside. Links, amounts (£1,000.50) and keywords (SUN10NOINFO) have none.
_GROUPED_NUMBER = re.compile(r"\+?[0-9]+(?: [0-9]+)+")


def _words(text: str) -> list[str]:
    """The text's words, a number written in groups counting as one."""
    kept = _GROUPED_NUMBER.sub(lambda number: number.group().replace(" ", "\0"), text)
    return [word.replace("\0", " ") for word in kept.split(" ")]


def _between_words(text: str) -> list[str]:
    # Only a word longer than a message (which nothing we send has) is cut, into pieces of 80 that fit even
    # in escapes: there is no whole to keep.
    parts = [""]
    for word in _words(text):
        for piece in [word[i:i + SMS_PART_LENGTH // 2] for i in range(0, len(word), SMS_PART_LENGTH // 2)] or [""]:
            joined = f"{parts[-1]} {piece}" if parts[-1] else piece
            if _septets(joined) <= SMS_PART_LENGTH:
                parts[-1] = joined
            else:
                parts.append(piece)
    return parts
