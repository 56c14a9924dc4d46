"""Text bound for a spreadsheet, made inert: a cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return is read by Excel, LibreOffice and Google Sheets as a formula, so a
claimant named ``=HYPERLINK("http://attacker.example/x","click")`` would become a live link in
counsel's roster (OWASP, "CSV Injection"). Every export a person may open in a spreadsheet passes
its text cells through :func:`inert`; numbers, dates and money are not text cells and pass as
they are.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would take it for a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A write-only openpyxl cell: text is always a string cell, never a formula (make it
    :func:`inert` first if it is claimant text)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell
