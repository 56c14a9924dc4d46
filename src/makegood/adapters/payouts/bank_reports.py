"""The bank's reports read back: pain.002 status reports, camt.054 / camt.053 statements and a
CSV return file for banks (and the billing system) without ISO 20022.

Every transaction line becomes a :class:`BankLine` with its end-to-end id, what happened and the
reason code; nothing is dropped here: lines that match no payment are kept and reported by the
reconciliation. XML is parsed without entity resolution or network access; elements are found by
local name, so any version of the messages (pain.002.001.03 to .12, camt.05x.001.02 to .10)
reads the same.

CSV returns (UTF-8; a byte-order mark is allowed)::

    end_to_end_id,status,amount,currency,reason
    PB00001-000002,returned,30000,KRW,AC04

``status`` is ``paid`` (or ``applied``, from the billing system), ``rejected`` or ``returned``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from makegood.domain.errors import InputError

ACCEPTED = {"ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "ACCC", "PART", "PDNG", "RCVD"}


@dataclass(frozen=True, slots=True)
class BankLine:
    end_to_end_id: str | None
    kind: str  # accepted | rejected | booked | returned
    amount: Decimal | None
    currency: str | None
    reason: str | None
    line: int  # position of the transaction in the report (1-based)
    note: str = ""


def _parse(data: bytes, file: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"is not well-formed XML: {exc.msg}", file=file,
                         line=exc.lineno) from None


def _first(node: etree._Element, path: str) -> etree._Element | None:
    found = node.xpath(path)
    return found[0] if found else None


def _text(node: etree._Element, path: str) -> str | None:
    el = _first(node, path)
    return None if el is None or el.text is None else el.text.strip()


def _amount(node: etree._Element, path: str, *, file: str, line: int
            ) -> tuple[Decimal | None, str | None]:
    el = _first(node, path)
    if el is None or el.text is None:
        return None, None
    try:
        return Decimal(el.text.strip()), el.get("Ccy")
    except InvalidOperation:
        raise InputError(f"{el.text!r} is not an amount", file=file, line=el.sourceline,
                         row=line, field="Amt") from None


def kind_of(data: bytes) -> str:
    head = data[:2000].decode("utf-8", "replace")
    for kind in ("pain.002", "camt.054", "camt.053"):
        if kind in head:
            return kind
    return "csv"


def read_pain002(data: bytes, *, file: str) -> list[BankLine]:
    root = _parse(data, file)
    out: list[BankLine] = []
    for n, tx in enumerate(root.xpath("//*[local-name()='TxInfAndSts']"), 1):
        status = _text(tx, "./*[local-name()='TxSts']") or ""
        e2e = _text(tx, "./*[local-name()='OrgnlEndToEndId']")
        reason = _text(tx, ".//*[local-name()='StsRsnInf']/*[local-name()='Rsn']/*")
        amount, ccy = _amount(tx, ".//*[local-name()='OrgnlTxRef']/*[local-name()='Amt']/*",
                              file=file, line=n)
        if status == "RJCT":
            out.append(BankLine(e2e, "rejected", amount, ccy, reason or "NARR", n))
        elif status in ACCEPTED:
            out.append(BankLine(e2e, "accepted", amount, ccy, None, n, note=status))
        else:
            raise InputError(f"unknown transaction status {status!r}", file=file, row=n,
                             field="TxSts")
    if not out:
        group = _text(root, "//*[local-name()='OrgnlGrpInfAndSts']/*[local-name()='GrpSts']")
        msg = _text(root, "//*[local-name()='OrgnlGrpInfAndSts']/*[local-name()='OrgnlMsgId']")
        out.append(BankLine(None, "rejected" if group == "RJCT" else "accepted", None, None,
                            group, 1, note=f"group status {group} for message {msg}"))
    return out


def read_camt(data: bytes, *, file: str) -> list[BankLine]:
    """camt.054 (debit/credit notification) or camt.053 (statement): booked and returned."""
    root = _parse(data, file)
    out: list[BankLine] = []
    n = 0
    for entry in root.xpath("//*[local-name()='Ntry']"):
        status = (_text(entry, "./*[local-name()='Sts']/*[local-name()='Cd']")
                  or _text(entry, "./*[local-name()='Sts']") or "")
        direction = _text(entry, "./*[local-name()='CdtDbtInd']")
        for tx in entry.xpath(".//*[local-name()='TxDtls']"):
            n += 1
            e2e = _text(tx, ".//*[local-name()='Refs']/*[local-name()='EndToEndId']")
            amount, ccy = _amount(tx, "./*[local-name()='Amt']", file=file, line=n)
            if amount is None:
                amount, ccy = _amount(entry, "./*[local-name()='Amt']", file=file, line=n)
            returned = _first(tx, ".//*[local-name()='RtrInf']")
            if status != "BOOK":
                out.append(BankLine(e2e, "pending", amount, ccy, None, n, note=f"status {status}"))
            elif returned is not None:
                reason = _text(returned, "./*[local-name()='Rsn']/*")
                out.append(BankLine(e2e, "returned", amount, ccy, reason or "NARR", n))
            elif direction == "DBIT":
                out.append(BankLine(e2e, "booked", amount, ccy, None, n))
            else:
                out.append(BankLine(e2e, "unknown", amount, ccy, None, n,
                                    note="a credit without return information"))
    return out


CSV_STATUSES = {"paid": "booked", "applied": "booked", "booked": "booked",
                "rejected": "rejected", "returned": "returned"}


def read_csv_returns(data: bytes, *, file: str) -> list[BankLine]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 (byte {exc.start})", file=file) from None
    reader = csv.DictReader(io.StringIO(text))
    needed = ("end_to_end_id", "status")
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"missing column {missing[0]!r}", file=file, line=1, field=missing[0])
    out = []
    for n, row in enumerate(reader, 1):
        status = (row.get("status") or "").strip().lower()
        if status not in CSV_STATUSES:
            raise InputError(f"{status!r} is not one of {', '.join(CSV_STATUSES)}", file=file,
                             line=n + 1, field="status")
        raw = (row.get("amount") or "").strip()
        try:
            amount = Decimal(raw) if raw else None
        except InvalidOperation:
            raise InputError(f"{raw!r} is not an amount", file=file, line=n + 1,
                             field="amount") from None
        out.append(BankLine((row.get("end_to_end_id") or "").strip() or None, CSV_STATUSES[status],
                            amount, (row.get("currency") or "").strip() or None,
                            (row.get("reason") or "").strip() or None, n))
    return out


def read_report(data: bytes, *, file: str) -> tuple[str, list[BankLine]]:
    kind = kind_of(data)
    if kind == "pain.002":
        return kind, read_pain002(data, file=file)
    if kind.startswith("camt"):
        return kind, read_camt(data, file=file)
    return kind, read_csv_returns(data, file=file)
