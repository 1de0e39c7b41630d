"""How long the law keeps a donor's records, in one place: erasure and docs/privacy-and-erasure.md read it here.

On an erasure request, what no period below holds is erased at once; what one holds is erased on the day its
clock ends (service_layer/erasure.py), by the worker's housekeeping job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from everypenny.domain.appeal import UK_TIME, FinancialYearEnd


@dataclass(frozen=True)
class RetentionPeriod:
    rule: str  # the name erasure's holds and the personal-data registry use
    records: str
    kept: str
    source: str


# Ofcom's premium-rate regime (since 1 February 2025) carried over the Phone-paid Services Authority's
# data-retention guidance: records of phone-paid transactions are kept 2 years.
PHONE_PAID = RetentionPeriod(
    "phone-paid-records", "Phone-paid service records: text gifts charged to a phone bill and the texts about them",
    "2 years from the transaction", "Ofcom (the PSA's data-retention guidance, carried over)")
# HMRC, Gift Aid guidance for charities, chapter 6 (records): kept 6 years after the end of the accounting
# period the claim relates to.
GIFT_AID = RetentionPeriod(
    "gift-aid-records", "Gift Aid declarations, their cancellations and the gifts they cover",
    "6 years from the end of the charity's accounting period of the claim", "HMRC, Gift Aid guidance chapter 6")
CHARITY_SET = RetentionPeriod(
    "charity-policy", "Everything else: consents, receipts emailed, providers' callbacks, queued work",
    "as the charity sets; erased at once on a donor's request", "UK GDPR art. 5(1)(e) and art. 17")
RETENTION_SCHEDULE = (PHONE_PAID, GIFT_AID, CHARITY_SET)

PHONE_PAID_YEARS = 2
GIFT_AID_YEARS = 6
# A charity whose appeal file gives no financial year end: the period a claim falls in is counted as ending a
# year after it (no accounting period of 12 months ends later), so never shorter than HMRC's six years.
ACCOUNTING_PERIOD = timedelta(days=366)


def years_after(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February)."""
    return day.replace(year=day.year + years, day=min(day.day, 28) if day.month == 2 else day.day)


def phone_paid_until(last_transaction: datetime) -> date:
    return years_after(last_transaction.astimezone(UK_TIME).date(), PHONE_PAID_YEARS)


def gift_aid_until(last_record: datetime, year_end: FinancialYearEnd | None) -> date:
    """6 years from the end of the charity's accounting period the record falls in."""
    day = last_record.astimezone(UK_TIME).date()
    period_end = year_end.period_end(day) if year_end is not None else day + ACCOUNTING_PERIOD
    return years_after(period_end, GIFT_AID_YEARS)


def schedule_table() -> str:
    """The schedule as the Markdown table docs/privacy-and-erasure.md shows (a test holds the two equal)."""
    lines = ["| Records | Kept | Source |", "|---|---|---|"]
    lines += [f"| {period.records} | {period.kept} | {period.source} |" for period in RETENTION_SCHEDULE]
    return "\n".join(lines)
