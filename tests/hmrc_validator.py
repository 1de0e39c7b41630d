"""HMRC's validator of uploaded Gift Aid schedules, ported to Python to check our .ods against it.

Written from hmrc/charities-claims-validation (Scala, Apache 2.0), commit 98bf332, under
app/uk/gov/hmrc/charitiesclaimsvalidation/:

- services/documentvalidation/OdsReaderService.scala: how the .ods is read (first table, rows over
  `table:table-row` children honouring number-rows-repeated, cells honouring number-columns-repeated, a single
  cell without, cell text from its paragraphs);
- models/validation/DocumentRow.scala and DocumentRowDecoder.scala: where (rows 24 until 1025, cells 1 until
  12; earliest donation date at row 12 cell 3; previously overclaimed at row 16 cell 3), and which rows count;
- services/documentvalidation/CommonFileValidation.scala: the sheet name and removeNonWesternCharacters;
- services/documentvalidation/GiftAidValidationService.scala and models/domain/DonationType.scala: each rule,
  reported by HMRC's message key.

It is a second implementation on purpose: nothing here comes from everypenny's own rules.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.dom import minidom

from odf.element import Element
from odf.namespaces import TABLENS, TEXTNS
from odf.opendocument import load
from odf.table import Table

ODS_MIME_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
ROWS = range(24, 1025)  # DocumentRow.scala: GiftAidDonationRow.layout.rowRange
CELLS = range(1, 12)  # ... cellRange
EARLIEST_DONATION_DATE = (12, 3)
PREVIOUSLY_OVERCLAIMED = (16, 3)
POSTCODE = re.compile(
    "^(GIR 0AA)|((([A-Z][0-9][0-9]?)|(([A-Z][A-HJ-Y][0-9][0-9]?)|(([A-Z][0-9][A-Z])|([A-Z][A-HJ-Y][0-9][A-Z])))) "
    "[0-9][A-Z]{2})$")


@dataclass(frozen=True)
class DonationRow:
    """GiftAidDonationRow: the ten cells HMRC reads, as text."""

    item: str
    title: str
    first_name: str
    last_name: str
    house: str
    postcode: str
    aggregated: str
    sponsored: str
    date: str
    amount: str


# --- OdsReaderService.scala -------------------------------------------------------------------------------------

def _text(node) -> str:
    """traverseTextNodes: text, spans and paragraphs concatenated, text:s as spaces."""
    if node.nodeType == Element.TEXT_NODE:
        return str(node.data)
    if node.qname == (TEXTNS, "s"):
        return " " * int(node.getAttrNS(TEXTNS, "c") or 1)
    return "".join(_text(child) for child in node.childNodes)


def _descendants(element, qname) -> list:
    """getElementsByTagName: every descendant of that name, in document order."""
    found = []
    for child in element.childNodes:
        if child.nodeType == Element.ELEMENT_NODE:
            if child.qname == qname:
                found.append(child)
            found.extend(_descendants(child, qname))
    return found


def _cell_text(cell) -> str:
    """extractCellText: the cell's paragraphs joined by newlines, trimmed."""
    return "\n".join(_text(p) for p in _descendants(cell, (TEXTNS, "p"))).strip()


def _rows(table, limit: int) -> list:
    """extractRows: the table's own row children, each repeated number-rows-repeated times, at most `limit`."""
    rows = []
    for child in table.childNodes:
        if child.nodeType == Element.ELEMENT_NODE and child.qname == (TABLENS, "table-row"):
            rows.extend([child] * int(child.getAttrNS(TABLENS, "number-rows-repeated") or 1))
    return rows[:limit]


def _cells(row, limit: int) -> list[str]:
    """extractCells: every cell repeated number-columns-repeated times, at most `limit`, padded with ''."""
    cells: list[str] = []
    for cell in _descendants(row, (TABLENS, "table-cell")):
        repeat = int(cell.getAttrNS(TABLENS, "number-columns-repeated") or 1)
        cells.extend([_cell_text(cell)] * max(repeat, 1))
    return (cells[:limit] + [""] * limit)[:limit]


def _single_cell(table, row_index: int, cell_index: int) -> str:
    """cellFromDocument: the cell-th table-cell element of the row, repeats NOT honoured."""
    rows = _rows(table, row_index + 1)
    if row_index >= len(rows):
        return ""
    cells = _descendants(rows[row_index], (TABLENS, "table-cell"))
    return _cell_text(cells[cell_index]) if cell_index < len(cells) else ""


@dataclass(frozen=True)
class ReadSchedule:
    sheet_name: str
    rows: list[DonationRow]
    earliest_donation_date: str
    previously_overclaimed: str


def read_schedule(path: Path) -> ReadSchedule:
    """What HMRC's service reads from the .ods: its MIME type is checked first (CommonFileValidation)."""
    with zipfile.ZipFile(path) as archive:
        assert archive.read("mimetype").decode() == ODS_MIME_TYPE
        # HMRC's DOM parser is not namespace-aware: it finds "table:table" by that literal prefixed name.
        literal = minidom.parseString(archive.read("content.xml")).getElementsByTagName("table:table")
    table = load(str(path)).spreadsheet.getElementsByType(Table)[0]
    assert literal and literal[0].getAttribute("table:name") == table.getAttrNS(TABLENS, "name")
    rows = _rows(table, max(ROWS))
    donations = []
    for index in ROWS:
        if index >= len(rows):
            continue
        selected = _cells(rows[index], max(CELLS))
        selected = [selected[i] if i < len(selected) else "" for i in CELLS]
        fields = [cell.strip() for cell in selected[:10]]
        if any(fields[1:]):  # DocumentRowDecoder: a row with only an item number is not a row
            donations.append(DonationRow(*fields))
    return ReadSchedule(str(table.getAttrNS(TABLENS, "name") or ""), donations,
                        _single_cell(table, *EARLIEST_DONATION_DATE), _single_cell(table, *PREVIOUSLY_OVERCLAIMED))


# --- CommonFileValidation.scala, GiftAidValidationService.scala --------------------------------------------------

def remove_non_western(text: str, normalise_spacing: bool = False) -> str:
    kept = re.sub(r"[^\x20-\x7E\xA1-\xFF]", "", text).strip(" ")
    return re.sub(r"[ \t\n\x0b\f\r]+", " ", kept) if normalise_spacing else kept


def _date(text: str) -> date | None:
    """dd/MM/uu, ResolverStyle.STRICT: two digits each, years 2000-2099, real days only."""
    match = re.fullmatch(r"([0-9]{2})/([0-9]{2})/([0-9]{2})", text)
    if match is None:
        return None
    try:
        return date(2000 + int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def _decimal(text: str) -> Decimal | None:
    """Scala's BigDecimal(string): a plain or exponent number, nothing else."""
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _amount_format_ok(amount: Decimal) -> bool:
    """scale == 2 and at most 15 digits in the unscaled value."""
    _sign, digits, exponent = amount.as_tuple()
    unscaled = int("".join(map(str, digits)) or "0")
    return exponent == -2 and len(str(unscaled)) <= 15


def validate_row(index: int, row: DonationRow, today: date) -> list[tuple[str, str]]:
    """validateRow: every (field, message key) HMRC reports for one row; none when it accepts it."""
    errors: list[tuple[str, str]] = []

    def error(field: str, number: int) -> None:
        errors.append((f"{field}[{index}]", f"validationService.giftAid.message.{number}"))

    item = remove_non_western(row.item)
    if not re.fullmatch(r"[1-9][0-9]{0,3}", item) or not 1 <= int(item) <= 1000:
        error("item", 6)
    aggregated = bool(remove_non_western(row.aggregated).strip())
    if aggregated:
        for raw, number in ((row.sponsored, 23), (row.title, 24), (row.first_name, 25), (row.last_name, 26),
                            (row.house, 27), (row.postcode, 28)):
            if raw.strip():
                error("aggregateDonationsConflict", number)
    else:
        title = remove_non_western(row.title)
        if title and not re.fullmatch(r"[A-Za-z][A-Za-z'-]{1,3}", title):
            error("donorTitle", 13)
        for field, raw, missing, too_long in (("donorFirstName", row.first_name, 14, 16),
                                              ("donorLastName", row.last_name, 15, 17)):
            name = remove_non_western(raw, True)
            if not name:
                error(field, missing)
            elif len(name) > 35:
                error(field, too_long)
        house = remove_non_western(row.house, True)
        if not house:
            error("donorHouse", 18)
        elif len(house) > 40:
            error("donorHouse", 19)
        postcode = remove_non_western(row.postcode.strip())
        if not postcode:
            error("postcode", 20)
        elif not (postcode == "X" or POSTCODE.fullmatch(postcode.upper())):
            error("postcode", 21)
        sponsored = remove_non_western(row.sponsored.strip().lower())
        if sponsored and sponsored != "yes":
            error("sponsoredEvent", 22)
    if len(remove_non_western(row.aggregated, True)) > 35:
        error("aggregateDonations", 5)
    donated = remove_non_western(row.date)
    if not donated:
        error("donationDate", 7)
    elif (on := _date(donated)) is None:
        error("donationDate", 8)
    elif on > today:
        error("donationDate", 9)
    raw_amount = remove_non_western(row.amount)
    amount = _decimal(raw_amount.replace(",", "")) if raw_amount else None
    if not raw_amount:
        error("donationAmount", 11)
    elif amount is None or not _amount_format_ok(amount) or amount < Decimal("0.01"):
        error("donationAmount", 10)
    elif aggregated and amount > 1000:
        error("donationAmount", 12)
    elif not aggregated and amount > Decimal("9999999999999.99"):
        error("donationAmount", 10)
    return errors


def validate_schedule(path: Path, today: date) -> list[tuple[str, str]]:
    """GiftAidValidationService.validate: every error HMRC reports for the file; none when it accepts it."""
    schedule = read_schedule(path)
    if not schedule.sheet_name.strip().startswith("R68GAD_V1_00_0"):
        return [("fileError", "validationService.commonFile.message.3")]
    if not schedule.rows:
        return [("giftAidDonation", "validationService.giftAid.message.1")]
    errors: list[tuple[str, str]] = []
    earliest = remove_non_western(schedule.earliest_donation_date)
    if not earliest:
        errors.append(("earliestDonationDate", "validationService.giftAid.message.2"))
    elif _date(earliest) is None:
        errors.append(("earliestDonationDate", "validationService.giftAid.message.3"))
    overclaimed = remove_non_western(schedule.previously_overclaimed).strip().replace(",", "")
    if overclaimed:
        amount = _decimal(overclaimed)
        if amount is None or not _amount_format_ok(amount) or amount <= 0:
            errors.append(("previouslyOverClaimedAmount", "validationService.giftAid.message.4"))
    for index, row in enumerate(schedule.rows):
        errors.extend(validate_row(index, row, today))
    return errors
