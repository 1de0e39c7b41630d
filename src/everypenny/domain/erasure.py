"""Erasing a donor (UK GDPR, Article 17): personal data becomes a pseudonym, money and proof stay whole.

The pseudonym is an HMAC of the contact under the platform's secret key: the same person always gets the
same pseudonym, so a repeated erasure or a later question ("did you erase this number?") has a consistent
answer, yet nobody without the key can turn a pseudonym back into a number. Records the law makes us keep
(Gift Aid declarations for six years) are protected by retention rules that refuse erasure with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import phonenumbers

from everypenny.domain.donation import Medium

PSEUDONYM_PREFIX = "anon-"
# 5 + 15 hex characters: fits the narrowest contact column (a phone number's 20) and is 60 bits wide.
PSEUDONYM_LENGTH = 20

# Keys a channel may put in a donation's metadata that identify a person; erasure replaces their values.
# Stripe's customer_details and billing_details carry name, email, address and phone; a payment intent its
# receipt_email; a checkout session its customer_email and shipping.
PERSONAL_METADATA_KEYS = frozenset({
    "name", "first_name", "last_name", "full_name", "title", "address", "house", "street", "town", "postcode",
    "phone", "email", "ip", "ip_address", "user_agent", "receipt_email", "customer_email", "shipping",
})
# The `from` of a text-to-link link: the donor's phone, encrypted (service_layer/links.py).
_LINK_TOKEN = re.compile(r"(?<=[?&]from=)[A-Za-z0-9_.%=-]+")


class InvalidContact(ValueError):
    pass


@dataclass(frozen=True)
class Contact:
    medium: Medium
    value: str  # E.164 phone or lower-case email

    @classmethod
    def parse(cls, medium: Medium, typed: str) -> Contact:
        if medium is Medium.EMAIL:
            email = typed.strip().lower()
            if email.count("@") != 1 or not all(email.split("@")):
                raise InvalidContact(f"{typed!r} is not an email address")
            return cls(medium, email)
        try:
            number = phonenumbers.parse(typed, "GB")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise InvalidContact(f"{typed!r} is not a valid phone number (UK numbers may be written 07…)")
        return cls(medium, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    def spellings(self) -> list[str]:
        """How this contact may appear in stored provider payloads, longest first."""
        if self.medium is Medium.EMAIL:
            return [self.value]
        national = phonenumbers.format_number(phonenumbers.parse(self.value), phonenumbers.PhoneNumberFormat.NATIONAL)
        return sorted({self.value, self.value.removeprefix("+"), "%2B" + self.value[1:], national.replace(" ", "")},
                      key=len, reverse=True)


def is_pseudonym(value: str | None) -> bool:
    return value is not None and value.startswith(PSEUDONYM_PREFIX) and len(value) == PSEUDONYM_LENGTH


def pseudonym(secret_key: str, contact: Contact) -> str:
    digest = hmac.new(secret_key.encode(), f"erasure:{contact.medium.value}:{contact.value}".encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[: PSEUDONYM_LENGTH - len(PSEUDONYM_PREFIX)]


@dataclass(frozen=True)
class RetentionHold:
    """Why a record must be kept: the rule's name, the reason a donor is told, and the day it may be erased
    (None: until a person decides, which refuses the erasure)."""

    rule: str
    reason: str
    until: date | None = None


class ErasureRefused(Exception):
    def __init__(self, holds: list[RetentionHold]) -> None:
        super().__init__("erasure refused: " + "; ".join(f"{hold.reason} ({hold.rule})" for hold in holds))
        self.holds = holds


def mentions(value: object, spellings: list[str]) -> bool:
    """Whether any string in a JSON-like value contains any spelling of a contact, in any case."""
    if isinstance(value, str):
        return any(re.search(re.escape(spelling), value, flags=re.IGNORECASE) for spelling in spellings)
    if isinstance(value, list):
        return any(mentions(item, spellings) for item in value)
    if isinstance(value, dict):
        return any(mentions(item, spellings) for item in value.values())
    return False


def scrub(value: Any, replacements: dict[str, str]) -> Any:
    """A JSON-like value with every spelling of the contacts replaced (in any case), personal keys' values too,
    and link tokens that carry a phone (text-to-link's `from=`) removed."""
    if isinstance(value, str):
        for spelling, replacement in replacements.items():
            value = re.sub(re.escape(spelling), _always(replacement), value, flags=re.IGNORECASE)
        return _LINK_TOKEN.sub("", value)
    if isinstance(value, list):
        return [scrub(item, replacements) for item in value]
    if isinstance(value, dict):
        anonymous = next(iter(replacements.values()), "")
        return {key: anonymous if key in PERSONAL_METADATA_KEYS and item else scrub(item, replacements)
                for key, item in value.items()}
    return value


def _always(replacement: str) -> Callable[[re.Match[str]], str]:
    """A re.sub replacement that is the text itself, never read as a template (a backslash stays one)."""
    return lambda _: replacement
