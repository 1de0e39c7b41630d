"""A Gift Aid schedule as the OpenDocument spreadsheet HMRC's Charities Online takes, written with odfpy.

Where each thing goes is where HMRC's validator reads it (hmrc/charities-claims-validation):

- the file is an .ods and only its first `table:table` is read, whose name must start R68GAD_V1_00_0
  (services/documentvalidation/CommonFileValidation.scala, isCorrectSheetName);
- rows are the table's own `table:table-row` children, counted from 0; cells are counted within a row
  (services/documentvalidation/OdsReaderService.scala, extractRows and extractCells);
- the earliest donation date is row 12, cell 3, read without honouring repeated cells, so every cell before it
  is written out; donation rows are 24 to 1024, cells 1 to 10 (models/validation/DocumentRow.scala);
- each cell is read as the text of its paragraphs (extractCellText), so dates and amounts are written as the
  text HMRC's patterns want (DD/MM/YY, two decimals); amounts also carry their value, for the spreadsheet's sums.

Every other cell is typed as text, never a formula; names that start like one are also neutralised in the
domain (everypenny.domain.gift_aid_claims.schedule_cells), for anyone who copies them elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from everypenny.domain.gift_aid_claims import SCHEDULE_COLUMNS, Schedule, schedule_cells, schedule_date

SHEET_NAME = "R68GAD_V1_00_0"
EARLIEST_DATE_ROW, EARLIEST_DATE_CELL = 12, 3
OVERCLAIMED_ROW = 16
HEADINGS_ROW = 23
AMOUNT_CELL = 10


def _cell(text: str, amount: bool = False) -> TableCell:
    if not text:
        return TableCell()
    cell = TableCell(valuetype="float", value=text) if amount else TableCell(valuetype="string")
    cell.addElement(P(text=text))
    return cell


def _row(cells: list[str], amount_cell: int | None = None) -> TableRow:
    row = TableRow()
    for index, text in enumerate(cells):
        row.addElement(_cell(text, amount=index == amount_cell))
    return row


def write_schedule_ods(schedule: Schedule, charity_name: str, title: str, target: Path | BinaryIO) -> None:
    """One schedule (at most 1,000 rows) as HMRC's Gift Aid template lays it out, to a file or a stream."""
    document = OpenDocumentSpreadsheet()
    table = Table(name=SHEET_NAME)
    table.addElement(TableColumn(numbercolumnsrepeated=len(SCHEDULE_COLUMNS) + 1))
    earliest = schedule.earliest_on
    heading_rows = {
        0: ["", f"Gift Aid schedule: {title}"],
        1: ["", f"Charity: {charity_name}"],
        EARLIEST_DATE_ROW: ["", "Earliest donation date in the period of claim (DD/MM/YY)", "",
                            schedule_date(earliest) if earliest else ""],
        OVERCLAIMED_ROW: ["", "Previously overclaimed amount", "", ""],
        HEADINGS_ROW: ["", *SCHEDULE_COLUMNS],
    }
    for index in range(HEADINGS_ROW + 1):
        table.addElement(_row(heading_rows.get(index, [""])))
    for cells in schedule_cells(schedule):
        table.addElement(_row(["", *cells], amount_cell=AMOUNT_CELL))
    document.spreadsheet.addElement(table)
    if isinstance(target, Path):
        document.save(str(target))
    else:
        document.write(target)
