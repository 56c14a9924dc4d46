"""Bulk import of claims from CSV (associations filed thousands at once in 2022).

Each row is validated and submitted on its own, so one bad row refuses only itself; the report
says, row by row, what was accepted (with the claim id and receipt token) and why a row was
refused (the field and the problem).

Columns: incident_id, claimant_kind, name, email, phone, account_id, service, feature, category,
start, end, description, amount, currency, consent, payout_account, sales_outage_week,
sales_baseline (``2022-09-03=1200000;2022-09-10=1100000``). feature, payout_account and the
sales columns may be empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from makegood.domain.accounts import WeeklySales
from makegood.domain.claims import Category, ClaimantKind, parse_week
from makegood.domain.errors import InputError, MakegoodError
from makegood.domain.money import to_decimal
from makegood.domain.staff import Permission
from makegood.domain.verification import SalesReport
from makegood.domain.windows import parse_timestamp
from makegood.services.claims import ClaimInput, submit
from makegood.services.ports import Cipher, LedgerReader, UnitOfWork
from makegood.services.staff import StaffUser
from makegood.services.verification import read_ledger

COLUMNS = ("incident_id", "claimant_kind", "name", "email", "phone", "account_id", "service",
           "feature", "category", "start", "end", "description", "amount", "currency", "consent",
           "payout_account", "sales_outage_week", "sales_baseline")
REQUIRED = tuple(c for c in COLUMNS if c not in ("feature", "payout_account", "sales_outage_week",
                                                 "sales_baseline"))
MAX_ROWS = 50_000


def _cell(row: Mapping[str, str | None], key: str) -> str:
    return (row.get(key) or "").strip()


def _enum(value: str, enum: type[ClaimantKind] | type[Category], key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise InputError(f"{value!r} is not one of: {', '.join(e.value for e in enum)}",
                         field=key) from None


def parse_row(row: Mapping[str, str | None]) -> ClaimInput:
    for key in REQUIRED:
        if not _cell(row, key):
            raise InputError("is empty", field=key)
    consent = _cell(row, "consent").lower()
    if consent not in ("true", "yes", "1", "false", "no", "0"):
        raise InputError(f"{consent!r} is not true or false", field="consent")
    sales = None
    if _cell(row, "sales_outage_week"):
        baseline = []
        for part in filter(None, (p.strip() for p in _cell(row, "sales_baseline").split(";"))):
            week, sep, amount = part.partition("=")
            if not sep:
                raise InputError(f"{part!r} is not WEEK_START=AMOUNT", field="sales_baseline")
            baseline.append(WeeklySales(parse_week(week, field="sales_baseline"),
                                        to_decimal(amount, field="sales_baseline")))
        sales = SalesReport(to_decimal(_cell(row, "sales_outage_week"), field="sales_outage_week"),
                            tuple(baseline))
    return ClaimInput(
        incident_id=_cell(row, "incident_id"),
        claimant_kind=_enum(_cell(row, "claimant_kind"), ClaimantKind, "claimant_kind"),
        name=_cell(row, "name"), email=_cell(row, "email"), phone=_cell(row, "phone"),
        account_id=_cell(row, "account_id"), service=_cell(row, "service"),
        feature=_cell(row, "feature") or None,
        category=_enum(_cell(row, "category"), Category, "category"),
        start=parse_timestamp(_cell(row, "start"), field="start"),
        end=parse_timestamp(_cell(row, "end"), field="end"),
        description=_cell(row, "description"),
        amount=to_decimal(_cell(row, "amount"), field="amount"),
        currency=_cell(row, "currency"), consent=consent in ("true", "yes", "1"),
        payout_account=_cell(row, "payout_account") or None, sales=sales)


def import_csv(*, uow: UnitOfWork, actor: StaffUser, text: str, cipher: Cipher, now: datetime,
               filename: str = "claims.csv", ledger: LedgerReader = read_ledger
               ) -> dict[str, Any]:
    """Submit every row; returns ``{"accepted": n, "refused": m, "rows": [...]}``."""
    actor.require(Permission.SUPERVISE)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}",
                         file=filename, line=1, field=missing[0])
    rows: list[dict[str, Any]] = []
    try:
        for number, row in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise InputError(f"more than {MAX_ROWS:,} rows; split the file", file=filename)
            rows.append(_one(uow=uow, actor=actor, row=row, number=number, cipher=cipher,
                             now=now, ledger=ledger))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=filename, line=reader.line_num) from None
    accepted = sum(1 for r in rows if r["status"] == "accepted")
    return {"accepted": accepted, "refused": len(rows) - accepted, "rows": rows}


def _one(*, uow: UnitOfWork, actor: StaffUser, row: Mapping[str, str | None], number: int,
         cipher: Cipher, now: datetime, ledger: LedgerReader) -> dict[str, Any]:
    if None in row:
        return {"row": number, "status": "refused",
                "errors": [{"field": None, "message": "more values than the header has columns"}]}
    try:
        receipt = submit(uow=uow, claim=parse_row(row), cipher=cipher, now=now, source="import",
                         actor=actor.actor, ledger=ledger)
    except InputError as exc:
        return {"row": number, "status": "refused",
                "errors": [{"field": exc.field, "message": exc.problem}]}
    except MakegoodError as exc:
        return {"row": number, "status": "refused", "errors": [{"field": None, "message": str(exc)}]}
    return {"row": number, "status": "accepted", "claim_id": receipt.claim_id,
            "receipt_token": receipt.receipt_token, "verification": receipt.verification}
