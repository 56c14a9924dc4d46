"""The CSV payout files: a Korean bank's bulk transfer, the billing system's credits, checks.

Korean bulk transfer (UTF-8 with a byte-order mark, as the banks' upload pages and Excel
expect), one row per transfer::

    bank_code,account_number,holder,amount,memo,reference
    090,3333012345678,김민수,30000,장애보상,PB00001-000001

``bank_code`` is the 3-digit code (docs/payouts.md has the table), ``account_number`` digits
only, ``amount`` whole won, ``memo`` what the payee's statement shows (at most 10 characters,
refused when longer), ``reference`` our end-to-end id, which the bank's result file returns.

Billing credits (no money leaves; the billing system applies each line to the account)::

    account_id,award_id,kind,amount,unit,reference,memo

Checks (the fallback after a transfer failed twice)::

    reference,payee_id,holder,amount,currency,address,memo
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from makegood.adapters.payouts.lines import PaymentLine
from makegood.domain.bank_details import check_korean_account
from makegood.domain.errors import InputError

KR_COLUMNS = ("bank_code", "account_number", "holder", "amount", "memo", "reference")
BILLING_COLUMNS = ("account_id", "award_id", "kind", "amount", "unit", "reference", "memo")
CHECK_COLUMNS = ("reference", "payee_id", "holder", "amount", "currency", "address", "memo")
KR_MEMO_MAX = 10


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]], *, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def write_kr_bulk(lines: Sequence[PaymentLine]) -> bytes:
    rows = []
    for n, line in enumerate(lines, 1):
        if line.currency != "KRW":
            raise InputError(f"a Korean bulk transfer pays KRW only, not {line.currency}", row=n,
                             field="currency")
        if line.amount != line.amount.to_integral_value():
            raise InputError(f"{line.amount} KRW is not a whole number of won", row=n,
                             field="amount")
        if len(line.memo) > KR_MEMO_MAX:
            raise InputError(f"the memo {line.memo!r} is longer than {KR_MEMO_MAX} characters",
                             row=n, field="memo")
        _, account = check_korean_account(line.details["bank_code"], line.details["account_number"])
        rows.append((line.details["bank_code"], account, line.holder, str(int(line.amount)),
                     line.memo, line.end_to_end_id))
    return _csv(KR_COLUMNS, rows, bom=True)


def write_billing_credits(lines: Sequence[PaymentLine]) -> bytes:
    return _csv(BILLING_COLUMNS, [(line.payee_id, line.award_id, line.kind, str(line.amount),
                                   line.currency, line.end_to_end_id, line.memo)
                                  for line in lines])


def write_checks(lines: Sequence[PaymentLine]) -> bytes:
    return _csv(CHECK_COLUMNS, [(line.end_to_end_id, line.payee_id, line.holder,
                                 str(line.amount), line.currency,
                                 line.details.get("address", ""), line.memo) for line in lines])
