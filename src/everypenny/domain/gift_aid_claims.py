"""A Gift Aid claim schedule in the layout of HMRC's Charities Online spreadsheet.

Our reading of HMRC's rules (Charities Online guidance, "Gift Aid schedule spreadsheet"):

- Only donations with a valid declaration are claimed: a declaration made for the donation itself, or a
  "past and future" declaration by the same donor (same email or phone) to the same charity, which covers
  their donations made in the four years before it and any after it.
- Only money actually received and kept: paid (or part-paid) donations, never one that was refunded in whole
  or part; each donation is claimed once (recorded claims are never repeated).
- Each donor's donations are listed one per row with their title, first name, last name, house name or
  number and postcode, amount with two decimals and no pound sign, date as DD/MM/YY.
- Small donations (GBP 20 or less each) may be aggregated instead, with no donor details: one row per
  aggregate of at most GBP 1,000, all its donations within one accounting period of the charity, a description
  of at most 35 characters in "Aggregated donations", and the date of the latest donation in it. A donor
  listed individually in the schedule (because they gave more than GBP 20 at least once) has all their
  donations listed individually, never partly aggregated. Without the charity's financial year end nothing is
  aggregated: every donation is listed by donor, which HMRC also accepts.
- "Sponsored event" is "Yes" only for sponsorship; an appeal's donations are not, so it is blank.
- Dates are the donation's date in the UK (a gift at 00:30 BST on 1 June is dated 01/06, not 31/05).
- HMRC's validator reads at most 1,000 donation rows from one schedule (hmrc/charities-claims-validation,
  app/uk/gov/hmrc/charitiesclaimsvalidation/models/validation/DocumentRow.scala: rows 24 until 1025, and
  GiftAidValidationService.scala: item numbers 1 to 1000), so a longer claim is split into numbered schedules.
- A declaration HMRC's validator would refuse (taken before we checked its rules) is left out of the schedule
  and reported, never silently cut to fit.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from everypenny.domain.appeal import UK_TIME, FinancialYearEnd
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope, gift_aid_pence, neutralise_formula
from everypenny.domain.money import pounds_and_pence

SCHEDULE_COLUMNS = ["Item", "Title", "First name or initial", "Last name", "House name or number", "Postcode",
                    "Aggregated donations", "Sponsored event", "Donation date", "Amount"]
SMALL_DONATION_LIMIT_PENCE = 2000
AGGREGATE_LIMIT_PENCE = 100_000
MAX_DESCRIPTION_LENGTH = 35
MAX_ROWS_PER_SCHEDULE = 1000
PAST_COVERAGE = timedelta(days=4 * 365 + 1)  # four years, counting a leap day


def uk_date(moment: datetime) -> date:
    return moment.astimezone(UK_TIME).date()


@dataclass(frozen=True)
class Gift:
    """A donation that may be claimed: paid, never refunded, not yet claimed."""

    reference: str
    donated_at: datetime
    amount_pence: int
    contacts: tuple[str, ...]  # the donor's email and phone, as stored


def covering_declaration(gift: Gift, own: GiftAidDeclaration | None, enduring: list[GiftAidDeclaration],
                         charity_name: str, honour_cancellations: bool = True) -> GiftAidDeclaration | None:
    """The declaration that makes `gift` claimable, if any (its own first, then an enduring one); one cancelled
    before the gift was made covers it no longer (GiftAidDeclaration.covers)."""
    def counts(declaration: GiftAidDeclaration) -> bool:
        return not honour_cancellations or declaration.covers(gift.donated_at)

    if own is not None and own.charity_name == charity_name and counts(own):
        return own
    for declaration in enduring:
        if (declaration.scope is GiftAidScope.PAST_AND_FUTURE and declaration.charity_name == charity_name
                and declaration.contact in gift.contacts
                and gift.donated_at >= declaration.declared_at - PAST_COVERAGE and counts(declaration)):
            return declaration
    return None


@dataclass(frozen=True)
class ScheduleRow:
    title: str
    first_name: str
    last_name: str
    house: str
    postcode: str
    aggregated: str  # the description of an aggregated row; blank for a named donor's donation
    donated_on: date  # in the UK; an aggregate's latest donation
    earliest_on: date  # the same for a named donation; an aggregate's earliest
    amount_pence: int
    references: tuple[str, ...]


@dataclass(frozen=True)
class Unlisted:
    """A claimable donation whose declaration HMRC's validator would refuse: kept out until it is corrected."""

    reference: str
    problems: dict[str, str]


@dataclass(frozen=True)
class Schedule:
    rows: tuple[ScheduleRow, ...]
    unlisted: tuple[Unlisted, ...] = ()

    @property
    def donations_pence(self) -> int:
        return sum(row.amount_pence for row in self.rows)

    @property
    def gift_aid_pence(self) -> int:
        return gift_aid_pence(self.donations_pence)

    @property
    def references(self) -> list[str]:
        return [reference for row in self.rows for reference in row.references]

    @property
    def earliest_on(self) -> date | None:
        """The "earliest donation date" HMRC's schedule asks for above the rows."""
        return min((row.earliest_on for row in self.rows), default=None)

    def parts(self) -> list[Schedule]:
        """The schedules to upload, each of at most 1,000 rows (one, possibly empty, when it fits)."""
        return [Schedule(self.rows[start:start + MAX_ROWS_PER_SCHEDULE])
                for start in range(0, max(len(self.rows), 1), MAX_ROWS_PER_SCHEDULE)]


def _donor(declaration: GiftAidDeclaration) -> tuple[str, str, str, str]:
    return (declaration.first_name.casefold(), declaration.last_name.casefold(), declaration.house.casefold(),
            declaration.postcode)


def build_schedule(claimable: list[tuple[Gift, GiftAidDeclaration]],
                   year_end: FinancialYearEnd | None) -> Schedule:
    """Named rows for donors who gave more than GBP 20 at least once (every donor without `year_end`); the rest
    aggregated by accounting period, oldest first."""
    listed = {_donor(d) for gift, d in claimable if year_end is None or gift.amount_pence > SMALL_DONATION_LIMIT_PENCE}
    named: list[ScheduleRow] = []
    unlisted: list[Unlisted] = []
    small: dict[date, list[Gift]] = {}
    for gift, declaration in sorted(claimable, key=lambda pair: (pair[0].donated_at, pair[0].reference)):
        on = uk_date(gift.donated_at)
        if _donor(declaration) not in listed:
            assert year_end is not None
            small.setdefault(year_end.period_end(on), []).append(gift)
        elif problems := declaration.problems():
            unlisted.append(Unlisted(gift.reference, problems))
        else:
            named.append(ScheduleRow(declaration.title, declaration.schedule_first_name,
                                     declaration.schedule_last_name, declaration.house, declaration.postcode, "",
                                     on, on, gift.amount_pence, (gift.reference,)))
    aggregates: list[list[Gift]] = []
    for period in sorted(small):
        total = AGGREGATE_LIMIT_PENCE  # so the period's first gift starts an aggregate of its own
        for gift in small[period]:
            if total + gift.amount_pence > AGGREGATE_LIMIT_PENCE:
                aggregates.append([])
                total = 0
            aggregates[-1].append(gift)
            total += gift.amount_pence
    rows = named + [ScheduleRow("", "", "", "", "", _description(len(group)), uk_date(group[-1].donated_at),
                                uk_date(group[0].donated_at), sum(g.amount_pence for g in group),
                                tuple(g.reference for g in group))
                    for group in aggregates]
    return Schedule(tuple(rows), tuple(unlisted))


def _description(count: int) -> str:
    text = f"{count} donation{'' if count == 1 else 's'} of 20 pounds or less"
    return text[:MAX_DESCRIPTION_LENGTH]


def schedule_date(on: date) -> str:
    return f"{on:%d/%m/%y}"


def schedule_cells(schedule: Schedule) -> list[list[str]]:
    """Each row's cells 1 to 10 of HMRC's template, item numbers from 1, none a spreadsheet would run."""
    return [[str(item), *(neutralise_formula(text) for text in (
                row.title, row.first_name, row.last_name, row.house, row.postcode, row.aggregated)),
             "", schedule_date(row.donated_on), pounds_and_pence(row.amount_pence)]
            for item, row in enumerate(schedule.rows, start=1)]


def schedule_csv(schedule: Schedule) -> str:
    """A preview of one schedule's rows; HMRC takes the .ods."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    writer.writerows(schedule_cells(schedule))
    return out.getvalue()
