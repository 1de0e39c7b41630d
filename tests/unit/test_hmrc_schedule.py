"""Our Gift Aid schedule, read back and checked the way HMRC's own validator does (tests/hmrc_validator.py, a
port of hmrc/charities-claims-validation): every case of issue 14 is accepted, or refused when the declaration
is taken, never by HMRC after the claim is made."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableRow
from odf.text import P

from everypenny.adapters.hmrc_schedule import write_schedule_ods
from everypenny.domain.appeal import FinancialYearEnd
from everypenny.domain.gift_aid import GiftAidDeclaration, GiftAidInvalid, GiftAidScope
from everypenny.domain.gift_aid_claims import (
    Gift,
    Schedule,
    ScheduleRow,
    build_schedule,
    schedule_cells,
    schedule_csv,
    uk_date,
)
from tests.hmrc_validator import DonationRow, read_schedule, validate_row, validate_schedule

CHARITY = "British Red Cross"
WHEN = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
YEAR_END = FinancialYearEnd(31, 3)
TODAY = uk_date(datetime.now(UTC))


def declare(reference: str = "EP-1", **overrides) -> GiftAidDeclaration:
    fields = dict(donation_reference=reference, charity_name=CHARITY, title="Ms", first_name="Olena",
                  last_name="Kovalenko", house="12", address="High Street, York", postcode="yo1 7hh",
                  scope=GiftAidScope.THIS_DONATION, declared_at=WHEN, source="test", contact=None)
    return GiftAidDeclaration.make(**(fields | overrides))


def gift(reference: str, pence: int, when: datetime = WHEN) -> Gift:
    return Gift(reference, when, pence, ())


def refusal(**overrides) -> dict[str, str]:
    with pytest.raises(GiftAidInvalid) as invalid:
        declare(**overrides)
    return invalid.value.problems


def hmrc_row(declaration: GiftAidDeclaration, pence: int = 2500) -> list[tuple[str, str]]:
    """What HMRC's row rules say of the row this declaration puts on our schedule."""
    schedule = build_schedule([(gift(declaration.donation_reference, pence), declaration)], YEAR_END)
    return validate_row(0, DonationRow(*schedule_cells(schedule)[0]), TODAY)


# --- Declarations are checked by HMRC's rules when they are taken -------------------------------------------

@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"title": "Doctor"}, "title", "2 to 4 letters"),
    ({"title": "D"}, "title", "2 to 4 letters"),
    ({"first_name": "Тарас"}, "first_name_latin", "please also give your first name in Latin letters"),
    ({"last_name": "Шевченко"}, "last_name_latin", "Latin letters"),
    ({"first_name": "Тарас", "first_name_latin": "Тарас"}, "first_name_latin", "Latin letters"),
    ({"last_name": "Łukasiewicz"}, "last_name_latin", "letters such as Ł:"),
    ({"first_name": "A" * 36}, "first_name", "at most 35"),
    ({"first_name": "Taras", "first_name_latin": "T" * 36}, "first_name_latin", "at most 35"),
    ({"house": "Flat 12, The Old Rectory, 4 Long Church Lane"}, "house", "at most 40"),
    ({"house": "Будинок 5"}, "house", "please write it in Latin letters"),
    ({"postcode": "AZ1 1AA"}, "postcode", "UK postcode"),
    ({"postcode": "SW1A"}, "postcode", "UK postcode"),
    ({"postcode": "x", "address": ""}, "address", "outside the UK"),
    ({"first_name": '=HYPERLINK("http://x.io")'}, "first_name", "cannot start with"),
    ({"last_name": "@SUM(1+1)"}, "last_name", "cannot start with"),
])
def test_a_declaration_hmrc_would_refuse_is_refused_when_taken_saying_what_to_change(overrides, field, words):
    problems = refusal(**overrides)

    assert field in problems and words in problems[field], problems


def test_a_house_name_over_40_characters_is_refused_never_cut_short():
    problems = refusal(house="Flat 12, The Old Rectory, 4 Long Church Lane")

    assert problems == {"house": "HMRC's Gift Aid schedule takes at most 40 characters for a house name or number: "
                                 "give the house name or number here, and the street on its own"}


@pytest.mark.parametrize(("overrides", "title", "first", "last", "postcode"), [
    ({"title": "Dr."}, "Dr", "Olena", "Kovalenko", "YO1 7HH"),
    ({"title": "Mrs", "first_name": "José", "last_name": "Núñez"}, "Mrs", "José", "Núñez", "YO1 7HH"),
    ({"first_name": "Тарас", "last_name": "Шевченко", "first_name_latin": "Taras", "last_name_latin": "Shevchenko"},
     "Ms", "Taras", "Shevchenko", "YO1 7HH"),
    ({"postcode": "x", "address": "vul. Khreshchatyk 1, Kyiv, Ukraine"}, "Ms", "Olena", "Kovalenko", "X"),
    ({"postcode": "gir0aa"}, "Ms", "Olena", "Kovalenko", "GIR 0AA"),
    ({"title": "", "first_name": "O", "last_name": "O'Brien-Smith"}, "", "O", "O'Brien-Smith", "YO1 7HH"),
])
def test_a_declaration_we_accept_gives_a_row_hmrc_accepts(overrides, title, first, last, postcode):
    declaration = declare(**overrides)
    schedule = build_schedule([(gift("EP-1", 2500), declaration)], YEAR_END)

    assert schedule_cells(schedule)[0][1:6] == [title, first, last, "12", postcode]
    assert hmrc_row(declaration) == []


LATIN = st.text(st.sampled_from("AaZz éÑßÿ'-.,"), min_size=1, max_size=42)
ANYTHING = st.text(st.sampled_from("Aa éÑ'-.=+@ТарасŁ€😀\t\xa0\x85"), max_size=42)
NAMES = st.one_of(LATIN, LATIN, ANYTHING)


@settings(max_examples=300, deadline=None)
@given(title=st.one_of(st.sampled_from(["", "Dr", "Dr.", "Mrs", "Prof", "M'x", "Doctor", "D", "-Dr"]),
                       st.text(st.sampled_from("DrMs.' -1Ж"), max_size=6)),
       first=NAMES, last=NAMES, first_latin=st.one_of(st.just(""), NAMES), house=NAMES,
       postcode=st.sampled_from(["SW1A 1AA", "sw1a1aa", "AZ1 1AA", "X", "x", "", "GIR 0AA", "M1 1AE", "EC1A 1BB",
                                 "W1A 0AX", "DN55 1PT", "12345", "QV1 1AA"]))
def test_no_declaration_we_accept_is_one_hmrc_refuses(title, first, last, first_latin, house, postcode):
    try:
        declaration = declare(title=title, first_name=first, last_name=last, first_name_latin=first_latin,
                              house=house, postcode=postcode, address="somewhere")
    except GiftAidInvalid:
        return
    assert hmrc_row(declaration) == []


# --- The .ods, read back as HMRC's service reads it ------------------------------------------------------------

def test_the_schedule_is_an_ods_hmrc_reads_in_its_own_layout_and_accepts(tmp_path):
    named = declare("EP-1", title="Dr.", first_name="Тарас", last_name="Шевченко", first_name_latin="Taras",
                    last_name_latin="Shevchenko")
    abroad = declare("EP-2", first_name="Anna", postcode="X", address="Paris, France")
    bst_midnight = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)  # 00:30 BST on 1 June
    schedule = build_schedule([(gift("EP-1", 2550, bst_midnight), named), (gift("EP-2", 10_000), abroad),
                               (gift("EP-3", 500, WHEN - timedelta(days=30)), declare("EP-3", first_name="Ivan"))],
                              YEAR_END)
    path = tmp_path / "gift-aid.ods"

    write_schedule_ods(schedule, CHARITY, "The Sun's Ukraine Fund", path)

    read = read_schedule(path)
    assert read.sheet_name.startswith("R68GAD_V1_00_0")
    assert read.earliest_donation_date == "01/06/25"
    assert read.previously_overclaimed == ""
    assert [list(vars(row).values()) for row in read.rows] == [
        ["1", "Dr", "Taras", "Shevchenko", "12", "YO1 7HH", "", "", "01/06/25", "25.50"],
        ["2", "Ms", "Anna", "Kovalenko", "12", "X", "", "", "03/11/25", "100.00"],
        ["3", "", "", "", "", "", "1 donation of 20 pounds or less", "", "04/10/25", "5.00"],
    ]
    assert validate_schedule(path, TODAY) == []


def test_the_port_of_hmrcs_rules_refuses_what_hmrc_refuses(tmp_path):
    """The check above can fail: the rows our declarations no longer let through are refused, by HMRC's keys."""
    bad = ScheduleRow("Dr.", "Тарас", "Shevchenko", "Flat 12, The Old Rectory, 4 Long Church Lane", "AZ1 1AA", "",
                      date(2025, 6, 1), date(2025, 6, 1), 2500, ("EP-1",))
    aggregate_too_big = ScheduleRow("", "", "", "", "", "60 donations", TODAY, TODAY, 100_001, ("EP-2",))
    future = replace(bad, title="Dr", first_name="Taras", house="12", postcode="YO1 7HH",
                     donated_on=TODAY + timedelta(days=1))
    path = tmp_path / "bad.ods"
    write_schedule_ods(Schedule((bad, aggregate_too_big, future)), CHARITY, "bad", path)

    assert validate_schedule(path, TODAY) == [
        ("donorTitle[0]", "validationService.giftAid.message.13"),
        ("donorFirstName[0]", "validationService.giftAid.message.14"),
        ("donorHouse[0]", "validationService.giftAid.message.19"),
        ("postcode[0]", "validationService.giftAid.message.21"),
        ("donationAmount[1]", "validationService.giftAid.message.12"),
        ("donationDate[2]", "validationService.giftAid.message.9"),
    ]


def test_1200_named_donors_make_two_schedules_hmrc_reads_whole(tmp_path):
    claimable = [(gift(f"EP-{n}", 2500, WHEN + timedelta(minutes=n)), declare(f"EP-{n}", first_name=f"Donor {n}"))
                 for n in range(1200)]
    schedule = build_schedule(claimable, YEAR_END)

    parts = schedule.parts()

    assert [len(part.rows) for part in parts] == [1000, 200]
    for number, part in enumerate(parts):
        path = tmp_path / f"gift-aid-{number}.ods"
        write_schedule_ods(part, CHARITY, f"part {number}", path)
        read = read_schedule(path)
        assert [row.item for row in read.rows] == [str(n) for n in range(1, len(part.rows) + 1)]
        assert [row.first_name for row in read.rows] == [row.first_name for row in part.rows]
        assert validate_schedule(path, TODAY) == []
    whole = tmp_path / "whole.ods"
    write_schedule_ods(schedule, CHARITY, "all in one", whole)
    assert len(read_schedule(whole).rows) == 1000  # in one file, HMRC would never read the last 200


def test_small_gifts_are_aggregated_within_one_accounting_period_of_the_charity():
    march_2025, may_2025, may_2026 = (datetime(2025, 3, 15, tzinfo=UTC), datetime(2025, 5, 15, tzinfo=UTC),
                                      datetime(2026, 5, 15, tzinfo=UTC))
    claimable = [(gift(f"EP-{n}", 1000, when), declare(f"EP-{n}", first_name=f"Donor {n}"))
                 for n, when in enumerate((march_2025, may_2025, may_2026, may_2025))]

    schedule = build_schedule(claimable, YEAR_END)

    assert [(row.aggregated, row.donated_on, row.amount_pence, row.references) for row in schedule.rows] == [
        ("1 donation of 20 pounds or less", date(2025, 3, 15), 1000, ("EP-0",)),
        ("2 donations of 20 pounds or less", date(2025, 5, 15), 2000, ("EP-1", "EP-3")),
        ("1 donation of 20 pounds or less", date(2026, 5, 15), 1000, ("EP-2",)),
    ]
    calendar_years = build_schedule(claimable, FinancialYearEnd(31, 12))
    assert [row.references for row in calendar_years.rows] == [("EP-0", "EP-1", "EP-3"), ("EP-2",)]


def test_without_the_charitys_year_end_small_gifts_are_listed_by_donor_not_aggregated():
    claimable = [(gift("EP-1", 500), declare("EP-1")), (gift("EP-2", 700), declare("EP-2", first_name="Ivan"))]

    schedule = build_schedule(claimable, None)

    assert [(row.first_name, row.aggregated, row.amount_pence) for row in schedule.rows] == [
        ("Olena", "", 500), ("Ivan", "", 700)]


def test_a_declaration_taken_before_these_rules_that_hmrc_would_refuse_is_left_out_and_reported(tmp_path):
    taken_earlier = replace(declare("EP-1"), first_name="Тарас", house="Flat 12, The Old Rectory, 4 Long Church Lane")

    schedule = build_schedule([(gift("EP-1", 2500), taken_earlier), (gift("EP-2", 3000), declare("EP-2"))],
                              YEAR_END)

    assert schedule.references == ["EP-2"]
    [unlisted] = schedule.unlisted
    assert unlisted.reference == "EP-1" and set(unlisted.problems) == {"first_name_latin", "house"}


def test_dates_are_the_donations_date_in_the_uk():
    bst_half_past_midnight = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    gmt_half_past_midnight = datetime(2025, 12, 1, 0, 30, tzinfo=UTC)

    schedule = build_schedule([(gift("EP-1", 2500, bst_half_past_midnight), declare("EP-1")),
                               (gift("EP-2", 2500, gmt_half_past_midnight), declare("EP-2"))], YEAR_END)

    assert [cells[8] for cells in schedule_cells(schedule)] == ["01/06/25", "01/12/25"]


def test_amounts_have_exactly_two_decimals():
    schedule = build_schedule([(gift(f"EP-{n}", pence), declare(f"EP-{n}"))
                               for n, pence in enumerate((2101, 2550, 100_000))], None)

    assert [cells[9] for cells in schedule_cells(schedule)] == ["21.01", "25.50", "1000.00"]


@pytest.mark.parametrize("text", ['=HYPERLINK("https://evil.example","Click")', "+44 1234", "-2+3", "@SUM(A1)"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(text, tmp_path):
    row = ScheduleRow("", text, "Kovalenko", text, "YO1 7HH", "", WHEN.date(), WHEN.date(), 2500, ("EP-1",))
    schedule = Schedule((row,))
    path = tmp_path / "schedule.ods"

    write_schedule_ods(schedule, CHARITY, "test", path)

    assert schedule_cells(schedule)[0][2] == f"'{text}"
    assert schedule_csv(schedule).splitlines()[1].split(",")[2].strip('"').startswith(f"'{text[0]}")
    [read] = read_schedule(path).rows
    assert (read.first_name, read.house) == (f"'{text}", f"'{text}")


def test_the_port_reads_repeated_rows_and_cells_as_hmrc_does(tmp_path):
    """As a spreadsheet program saves a sheet: empty rows and cells run together with a repeat count."""
    document = OpenDocumentSpreadsheet()
    table = Table(name="R68GAD_V1_00_0 (edited)")

    def row(*cells, repeat_rows=1):
        element = TableRow(numberrowsrepeated=repeat_rows) if repeat_rows > 1 else TableRow()
        for text, repeat in cells:
            cell = TableCell(numbercolumnsrepeated=repeat) if repeat > 1 else TableCell()
            if text:
                cell.addElement(P(text=text))
            element.addElement(cell)
        return element

    table.addElement(row(("", 1), repeat_rows=12))
    table.addElement(row(("", 3), ("01/06/25", 1)))  # row 12: the date is the 2nd element, but cell 3
    table.addElement(row(("", 1), repeat_rows=11))
    table.addElement(row(("", 1), ("1", 1), ("Ms", 1), ("Olena", 1), ("Kovalenko", 1), ("12", 1), ("YO1 7HH", 1),
                         ("", 2), ("01/06/25", 1), ("25.00", 1)))
    document.spreadsheet.addElement(table)
    path = tmp_path / "edited.ods"
    document.save(str(path))

    read = read_schedule(path)

    assert read.earliest_donation_date == ""  # HMRC's single-cell read does not count repeated cells
    assert [list(vars(r).values()) for r in read.rows] == [
        ["1", "Ms", "Olena", "Kovalenko", "12", "YO1 7HH", "", "", "01/06/25", "25.00"]]
    assert validate_schedule(path, TODAY) == [("earliestDonationDate", "validationService.giftAid.message.2")]
