"""Export routes: decisions and awards for payment systems, the roster for counsel; as CSV,
Parquet or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from makegood.adapters.spreadsheet import inert, xlsx_cell
from makegood.entrypoints.api.deps import Context, context, current_staff
from makegood.services import claims_export
from makegood.services.staff import StaffUser

router = APIRouter(prefix="/staff/exports", tags=["exports"])


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    XLSX = "xlsx"


MEDIA = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.PARQUET: "application/vnd.apache.parquet",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _text(value: Any) -> Any:
    """A cell's value with text made inert for spreadsheets (numbers and money stay numbers)."""
    return inert(value) if isinstance(value, str) else _cell(value)


def render(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: Format) -> bytes:
    """The rows as a file; money as exact decimal text in every format."""
    if fmt is Format.CSV:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else _text(row[c]) for c in columns])
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: spreadsheet apps read Korean
    if fmt is Format.PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: pa.array([None if r[c] is None else str(_cell(r[c])) for r in rows],
                                      type=pa.string()) for c in columns})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(list(columns))
    for row in rows:
        sheet.append([xlsx_cell(sheet, _text(row[c]) if not isinstance(row[c], bool) else row[c])
                      for c in columns])
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


def _file(data: bytes, fmt: Format, name: str) -> Response:
    return Response(data, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'})


@router.get("/decisions", response_class=Response)
def decisions(ctx: Annotated[Context, Depends(context)],
              me: Annotated[StaffUser, Depends(current_staff)],
              format: Annotated[Format, Query()] = Format.CSV,
              incident: str | None = None) -> Response:
    """Approved and denied claims with their final decision and amount (payout masked)."""
    rows = claims_export.decisions(uow=ctx.uow(), actor=me, incident_id=incident)
    return _file(render(rows, claims_export.DECISION_COLUMNS, format), format, "decisions")


@router.get("/roster", response_class=Response)
def roster(ctx: Annotated[Context, Depends(context)],
           me: Annotated[StaffUser, Depends(current_staff)],
           format: Annotated[Format, Query()] = Format.CSV,
           incident: str | None = None) -> Response:
    """Every claimant grouped by legal basis, for counsel."""
    rows = claims_export.roster(uow=ctx.uow(), actor=me, incident_id=incident)
    return _file(render(rows, claims_export.ROSTER_COLUMNS, format), format, "roster")
