"""Payee bank details checked as far as their format allows, without asking a bank.

IBAN and BIC checks need the registry data of the ``schwifty`` package and live in
``adapters/payouts/details.py``; here are the checks that need no data beyond this file:

- US ABA routing numbers: 9 digits with the weighted checksum 3-7-1 (mod 10);
- Korean bank codes (the 3-digit codes of the Korea Financial Telecommunications and Clearings
  Institute, as printed on bulk-transfer forms) and the account number lengths each bank issues.
  The lengths are a plausibility check, not a bank's own validation: they come from the banks'
  published account formats (for example KB Kookmin 14 digits for new accounts and 12 for old
  ones, KakaoBank 13, Toss Bank 12); a bank that issued another length is refused with a
  message that names the lengths accepted, and the table is extended here.
- the account holder's name compared the way confirmation-of-payee services compare it (NFC,
  case and spaces ignored).

Standard library only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from makegood.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class KoreanBank:
    code: str
    name: str
    lengths: frozenset[int]


def _bank(code: str, name: str, *lengths: int) -> tuple[str, KoreanBank]:
    return code, KoreanBank(code, name, frozenset(lengths))


KOREAN_BANKS: dict[str, KoreanBank] = dict([
    _bank("002", "KDB산업은행", 11, 14),
    _bank("003", "IBK기업은행", 10, 11, 12, 13, 14),
    _bank("004", "KB국민은행", 12, 14),
    _bank("007", "수협은행", 11, 12),
    _bank("011", "NH농협은행", 11, 12, 13, 14),
    _bank("012", "지역농축협", 13, 14),
    _bank("020", "우리은행", 13),
    _bank("023", "SC제일은행", 11),
    _bank("027", "한국씨티은행", 10, 11, 12, 13),
    _bank("031", "iM뱅크", 11, 12),
    _bank("032", "부산은행", 12, 13),
    _bank("034", "광주은행", 12, 13),
    _bank("035", "제주은행", 10),
    _bank("037", "전북은행", 12, 13),
    _bank("039", "경남은행", 12, 13),
    _bank("045", "새마을금고", 13, 14),
    _bank("048", "신협", 12, 13),
    _bank("071", "우체국", 14),
    _bank("081", "하나은행", 14),
    _bank("088", "신한은행", 11, 12),
    _bank("089", "케이뱅크", 12),
    _bank("090", "카카오뱅크", 13),
    _bank("092", "토스뱅크", 12),
])


def digits(text: str, *, field: str) -> str:
    """An account number without the spaces and dashes people write in it."""
    value = text.replace(" ", "").replace("-", "")
    if not value.isdigit() or not value.isascii():
        raise InputError(f"{text!r} must be digits (spaces and dashes are allowed)", field=field)
    return value


def check_korean_account(bank_code: str, account: str) -> tuple[KoreanBank, str]:
    bank = KOREAN_BANKS.get(bank_code.strip())
    if bank is None:
        raise InputError(f"{bank_code!r} is not a Korean bank code we pay to (see "
                         "docs/payouts.md for the table)", field="bank_code")
    number = digits(account, field="account_number")
    if len(number) not in bank.lengths:
        accepted = ", ".join(str(n) for n in sorted(bank.lengths))
        raise InputError(f"{bank.name} ({bank.code}) account numbers have {accepted} digits, "
                         f"not {len(number)}", field="account_number")
    return bank, number


def check_aba_routing(routing: str) -> str:
    """A US routing transit number: 9 digits, 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) % 10 == 0."""
    value = routing.strip()
    if len(value) != 9 or not value.isdigit() or not value.isascii():
        raise InputError(f"{routing!r} is not a 9-digit ABA routing number", field="routing_number")
    d = [int(c) for c in value]
    if (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])) % 10:
        raise InputError(f"{routing!r} fails the ABA routing number checksum",
                         field="routing_number")
    return value


def check_us_account(account: str) -> str:
    value = account.strip().replace("-", "")
    if not 4 <= len(value) <= 17 or not value.isascii() or not value.isalnum():
        raise InputError(f"{account!r} is not a US bank account number (4 to 17 letters or "
                         "digits)", field="account_number")
    return value.upper()


def name_key(name: str) -> str:
    """A holder name as confirmation-of-payee services compare it."""
    return "".join(unicodedata.normalize("NFC", name).casefold().split())


def names_match(given: str, on_record: str) -> bool:
    return bool(name_key(given)) and name_key(given) == name_key(on_record)
