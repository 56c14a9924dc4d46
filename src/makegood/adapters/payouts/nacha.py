"""NACHA ACH files: PPD credits, written by a small fixed-width writer.

Records are 94 characters; the file is padded with lines of nines to a multiple of 10 records
(the blocking factor). One batch (service class 220, credits only) per file. The batch and file
control records carry the entry count, the entry hash (the sum of the receiving banks' 8-digit
routing prefixes, last 10 digits) and the credit total in cents. The end-to-end id goes in the
entry's individual identification number (15 characters), which ACH returns carry back.

Names are transliterated to ASCII and upper-cased; a name longer than its field (22 characters)
is cut, as every ACH originator does; amounts and ids are never cut: too long is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from text_unidecode import unidecode

from makegood.adapters.payouts.lines import Originator, PaymentLine, cents
from makegood.domain.bank_details import check_aba_routing, check_us_account
from makegood.domain.errors import InputError

RECORD = 94
BLOCKING = 10
CHECKING_CREDIT, SAVINGS_CREDIT = "22", "32"


def _alpha(text: str, width: int) -> str:
    return str(unidecode(text)).upper().replace("\n", " ")[:width].ljust(width)


def _num(value: int, width: int, *, field: str, row: int | None = None) -> str:
    text = str(value)
    if value < 0 or len(text) > width:
        raise InputError(f"{value} does not fit in {width} digits", row=row, field=field)
    return text.zfill(width)


def _record(*parts: str) -> str:
    text = "".join(parts)
    assert len(text) == RECORD, (len(text), text)
    return text


def write_nacha(lines: Sequence[PaymentLine], *, batch_number: int, originator: Originator,
                effective: date, created: datetime, entry_description: str = "COMPENSATN"
                ) -> bytes:
    odfi = check_aba_routing(originator.routing_number)
    records = [_record(
        "1", "01", " " + odfi, " " + odfi, created.strftime("%y%m%d"), created.strftime("%H%M"),
        "A", "094", "10", "1", _alpha(originator.bank_name, 23), _alpha(originator.name, 23),
        " " * 8)]
    company_id = _alpha(originator.company_id, 10)
    records.append(_record(
        "5", "220", _alpha(originator.name, 16), " " * 20, company_id, "PPD",
        _alpha(entry_description, 10), effective.strftime("%y%m%d"),
        effective.strftime("%y%m%d"), "   ", "1", odfi[:8], _num(batch_number, 7, field="batch")))
    entry_hash = 0
    total = 0
    for n, line in enumerate(lines, 1):
        if line.currency != "USD":
            raise InputError(f"ACH pays USD only, not {line.currency}", row=n, field="currency")
        rdfi = check_aba_routing(line.details["routing_number"])
        account = check_us_account(line.details["account_number"])
        if len(line.end_to_end_id) > 15:
            raise InputError(f"{line.end_to_end_id!r} is longer than the 15 characters of an "
                             "ACH individual id", row=n, field="end_to_end_id")
        amount = cents(line.amount, where="amount")
        code = SAVINGS_CREDIT if line.details.get("account_type") == "savings" else CHECKING_CREDIT
        records.append(_record(
            "6", code, rdfi[:8], rdfi[8], account.ljust(17), _num(amount, 10, field="amount", row=n),
            line.end_to_end_id.ljust(15), _alpha(line.holder, 22), "  ", "0",
            odfi[:8] + _num(n, 7, field="trace", row=n)))
        entry_hash += int(rdfi[:8])
        total += amount
    count = len(lines)
    hash_text = str(entry_hash)[-10:].zfill(10)
    records.append(_record(
        "8", "220", _num(count, 6, field="count"), hash_text, "0" * 12,
        _num(total, 12, field="total"), company_id, " " * 19, " " * 6, odfi[:8],
        _num(batch_number, 7, field="batch")))
    blocks = -(-(len(records) + 1) // BLOCKING)
    records.append(_record(
        "9", _num(1, 6, field="batches"), _num(blocks, 6, field="blocks"),
        _num(count, 8, field="count"), hash_text, "0" * 12, _num(total, 12, field="total"),
        " " * 39))
    records.extend(["9" * RECORD] * (blocks * BLOCKING - len(records)))
    return ("\n".join(records) + "\n").encode("ascii")
