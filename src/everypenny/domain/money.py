"""Money as integer minor units with a currency: floats never touch a donation."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ISO 4217 currencies an appeal may run in, with their symbols for receipts and pages.
CURRENCY_SYMBOLS: dict[str, str] = {"GBP": "£", "EUR": "€", "USD": "$"}


class UnknownCurrency(ValueError):
    def __init__(self, code: str) -> None:
        known = ", ".join(sorted(CURRENCY_SYMBOLS))
        super().__init__(f"unknown currency {code!r}; expected one of {known}")
        self.code = code


def check_currency(code: str) -> str:
    if code not in CURRENCY_SYMBOLS:
        raise UnknownCurrency(code)
    return code


@dataclass(frozen=True, order=True)
class Money:
    pence: int
    currency: str = "GBP"

    def __post_init__(self) -> None:
        if not isinstance(self.pence, int) or isinstance(self.pence, bool):
            raise TypeError(f"money is whole minor units, got {self.pence!r}")
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.pence + other.pence, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.pence - other.pence, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return format_pence(self.pence, self.currency)


def format_pence(pence: int, currency: str = "GBP") -> str:
    """£5, £5.50, -£3.20: whole amounts drop the pence, as appeals print them."""
    symbol = CURRENCY_SYMBOLS[currency]
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    body = f"{pounds:,}" if rest == 0 else f"{pounds:,}.{rest:02d}"
    return f"{sign}{symbol}{body}"


def average_pence(total_pence: int, count: int) -> int:
    """The mean to the nearest penny (halves away from zero), in whole-number arithmetic."""
    if count <= 0:
        raise ValueError("an average needs at least one amount")
    quotient, remainder = divmod(abs(total_pence), count)
    rounded = quotient + (2 * remainder >= count)
    return rounded if total_pence >= 0 else -rounded


_POUNDS = re.compile(r"^(\d{1,9})(?:\.(\d{2}))?$")


class AmountNotUnderstood(ValueError):
    pass


def pounds_and_pence(pence: int) -> str:
    """1250 → '12.50', -5 → '-0.05': a plain decimal for spreadsheets and forms (no symbol, no commas)."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}{pounds}.{rest:02d}"


def parse_pounds(text: str) -> int:
    """'12', '12.50' or '£1,250.00' typed by a person, as pence; anything else is refused, never rounded."""
    match = _POUNDS.match(text.strip().removeprefix("£").replace(",", ""))
    if match is None:
        raise AmountNotUnderstood(f"{text.strip()!r} is not an amount in pounds and pence, e.g. 12.50")
    return int(match.group(1)) * 100 + int(match.group(2) or 0)
