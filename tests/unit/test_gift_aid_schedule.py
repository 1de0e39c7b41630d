"""HMRC's schedule rules: who is named, what is aggregated, which declarations cover which donations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from everypenny.domain.appeal import FinancialYearEnd
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidScope
from everypenny.domain.gift_aid_claims import Gift, build_schedule, covering_declaration, schedule_csv

CHARITY = "British Red Cross"
DAY = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
YEAR_END = FinancialYearEnd(31, 3)


def declaration(reference: str, first: str = "Olena", last: str = "Shevchenko", house: str = "12",
                postcode: str = "ls1 4ap", scope=GiftAidScope.THIS_DONATION, contact: str | None = None,
                declared_at: datetime = DAY, charity: str = CHARITY) -> GiftAidDeclaration:
    return GiftAidDeclaration.make(donation_reference=reference, charity_name=charity, title="Ms", first_name=first,
                                   last_name=last, house=house, address="", postcode=postcode, scope=scope,
                                   declared_at=declared_at, source="test", contact=contact)


def gift(reference: str, pence: int, when: datetime = DAY, contacts=("olena@example.org",)) -> Gift:
    return Gift(reference, when, pence, contacts)


def test_a_donor_who_gave_over_20_pounds_is_named_on_every_row_of_theirs():
    schedule = build_schedule([(gift("EP-1", 2500), declaration("EP-1")),
                               (gift("EP-2", 500, DAY + timedelta(days=1)), declaration("EP-2"))], YEAR_END)

    assert schedule_csv(schedule).splitlines() == [
        "Item,Title,First name or initial,Last name,House name or number,Postcode,Aggregated donations,"
        "Sponsored event,Donation date,Amount",
        "1,Ms,Olena,Shevchenko,12,LS1 4AP,,,03/11/26,25.00",
        "2,Ms,Olena,Shevchenko,12,LS1 4AP,,,04/11/26,5.00",
    ]
    assert (schedule.donations_pence, schedule.gift_aid_pence) == (3000, 750)


def test_small_donations_of_unnamed_donors_are_aggregated_up_to_1000_pounds_a_row_dated_by_the_latest():
    claimable = [(gift(f"EP-{n}", 2000, DAY + timedelta(minutes=n)), declaration(f"EP-{n}", first=f"Donor{n}"))
                 for n in range(60)]

    schedule = build_schedule(claimable, YEAR_END)

    assert [(row.aggregated, row.amount_pence, len(row.references), row.first_name) for row in schedule.rows] == [
        ("50 donations of 20 pounds or less", 100_000, 50, ""), ("10 donations of 20 pounds or less", 20_000, 10, "")]
    assert schedule.rows[0].donated_on == (DAY + timedelta(minutes=49)).date()
    assert all(len(row.aggregated) <= 35 for row in schedule.rows)
    assert schedule_csv(schedule).splitlines()[1] == "1,,,,,,50 donations of 20 pounds or less,,03/11/26,1000.00"
    assert schedule.gift_aid_pence == 30_000


def test_an_enduring_declaration_covers_the_donors_gifts_of_the_past_four_years_and_the_future():
    enduring = declaration("EP-0", scope=GiftAidScope.PAST_AND_FUTURE, contact="olena@example.org")

    def covered(when, contacts=("olena@example.org",)):
        return covering_declaration(gift("EP-9", 500, when, contacts), None, [enduring], CHARITY) is not None

    assert covered(DAY + timedelta(days=400))
    assert covered(DAY - timedelta(days=3 * 365))
    assert not covered(DAY - timedelta(days=5 * 365))
    assert not covered(DAY, contacts=("someone@example.org",))
    other_charity = declaration("EP-0", scope=GiftAidScope.PAST_AND_FUTURE, contact="olena@example.org",
                                charity="Another Charity")
    assert covering_declaration(gift("EP-9", 500), None, [other_charity], CHARITY) is None
    assert covering_declaration(gift("EP-9", 500), None, [], CHARITY) is None
