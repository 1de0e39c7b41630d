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
  aggregate of at most GBP 1,000, a description of at most 35 characters in "Aggregated donations", and the
  date of the latest donation in it. A donor listed individually in the schedule (because they gave more
  than GBP 20 at least once) has all their donations listed individually, never partly aggregated.
- "Sponsored event" is "Yes" only for sponsorship; an appeal's donations are not, so it is blank.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope, gift_aid_pence

SCHEDULE_COLUMNS = ["Title", "First name or initial", "Last name", "House name or number", "Postcode",
                    "Aggregated donations", "Sponsored event", "Donation date", "Amount"]
SMALL_DONATION_LIMIT_PENCE = 2000
AGGREGATE_LIMIT_PENCE = 100_000
MAX_HOUSE_LENGTH = 40
MAX_DESCRIPTION_LENGTH = 35
PAST_COVERAGE = timedelta(days=4 * 365 + 1)  # four years, counting a leap day


@dataclass(frozen=True)
class Gift:
    """A donation that may be claimed: paid, never refunded, not yet claimed."""

    reference: str
    donated_at: datetime
    amount_pence: int
    contacts: tuple[str, ...]  # the donor's email and phone, as stored


def covering_declaration(gift: Gift, own: GiftAidDeclaration | None,
                         enduring: list[GiftAidDeclaration], charity_name: str) -> GiftAidDeclaration | None:
    """The declaration that makes `gift` claimable, if any (its own first, then an enduring one)."""
    if own is not None and own.charity_name == charity_name:
        return own
    for declaration in enduring:
        if (declaration.scope is GiftAidScope.PAST_AND_FUTURE and declaration.charity_name == charity_name
                and declaration.contact in gift.contacts
                and gift.donated_at >= declaration.declared_at - PAST_COVERAGE):
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
    donated_at: datetime
    amount_pence: int
    references: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    rows: tuple[ScheduleRow, ...]

    @property
    def donations_pence(self) -> int:
        return sum(row.amount_pence for row in self.rows)

    @property
    def gift_aid_pence(self) -> int:
        return gift_aid_pence(self.donations_pence)

    @property
    def references(self) -> list[str]:
        return [reference for row in self.rows for reference in row.references]


def _donor(declaration: GiftAidDeclaration) -> tuple[str, str, str, str]:
    return (declaration.first_name.casefold(), declaration.last_name.casefold(), declaration.house.casefold(),
            declaration.postcode)


def build_schedule(claimable: list[tuple[Gift, GiftAidDeclaration]]) -> Schedule:
    """Named rows for donors who gave more than GBP 20 at least once; the rest aggregated, oldest first."""
    listed = {_donor(d) for gift, d in claimable if gift.amount_pence > SMALL_DONATION_LIMIT_PENCE}
    named: list[ScheduleRow] = []
    small: list[Gift] = []
    for gift, declaration in sorted(claimable, key=lambda pair: (pair[0].donated_at, pair[0].reference)):
        if _donor(declaration) in listed:
            named.append(ScheduleRow(declaration.title[:4], declaration.first_name[:35], declaration.last_name[:35],
                                     declaration.house[:MAX_HOUSE_LENGTH], declaration.postcode, "",
                                     gift.donated_at, gift.amount_pence, (gift.reference,)))
        else:
            small.append(gift)
    aggregates: list[list[Gift]] = []
    for gift in small:
        if not aggregates or sum(g.amount_pence for g in aggregates[-1]) + gift.amount_pence > AGGREGATE_LIMIT_PENCE:
            aggregates.append([])
        aggregates[-1].append(gift)
    rows = named + [ScheduleRow("", "", "", "", "", _description(len(group)), group[-1].donated_at,
                                sum(g.amount_pence for g in group), tuple(g.reference for g in group))
                    for group in aggregates]
    return Schedule(tuple(rows))


def _description(count: int) -> str:
    text = f"{count} donation{'' if count == 1 else 's'} of 20 pounds or less"
    return text[:MAX_DESCRIPTION_LENGTH]


def schedule_csv(schedule: Schedule) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SCHEDULE_COLUMNS)
    for row in schedule.rows:
        writer.writerow([row.title, row.first_name, row.last_name, row.house, row.postcode, row.aggregated, "",
                         f"{row.donated_at:%d/%m/%y}", f"{row.amount_pence // 100}.{row.amount_pence % 100:02d}"])
    return out.getvalue()
