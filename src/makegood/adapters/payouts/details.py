"""Payee bank details: checked per method as far as the format allows, masked for display.

IBAN (checksum, country length, national bank code) and BIC with ``schwifty``, offline: the
package ships its registry. The rest is in ``domain/bank_details.py``. The details travel as
JSON, encrypted with the claims service's key; only an admin writing a bank file decrypts them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from makegood.domain.bank_details import (
    check_aba_routing,
    check_korean_account,
    check_us_account,
    name_key,
)
from makegood.domain.claims import mask_account
from makegood.domain.errors import InputError
from makegood.domain.payouts import Method

FIELDS: dict[Method, tuple[str, ...]] = {
    Method.SEPA: ("iban",),
    Method.NACHA: ("routing_number", "account_number"),
    Method.KR_BULK: ("bank_code", "account_number"),
    Method.CHECK: ("address",),
    Method.BILLING_CREDIT: (),
}


def check_details(method: Method, details: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The normalized details and their masked form; InputError names the bad field."""
    missing = [f for f in FIELDS[method] if not str(details.get(f) or "").strip()]
    if missing:
        raise InputError(f"is required to pay by {method.value}", field=missing[0])
    if method is Method.SEPA:
        try:
            iban = IBAN(details["iban"])
        except SchwiftyException as exc:
            raise InputError(f"{details['iban']!r} is not a valid IBAN: {exc}",
                             field="iban") from None
        out = {"iban": iban.compact}
        if details.get("bic"):
            try:
                out["bic"] = str(BIC(details["bic"]))
            except SchwiftyException as exc:
                raise InputError(f"{details['bic']!r} is not a valid BIC: {exc}",
                                 field="bic") from None
        return out, f"IBAN {iban.country_code}{mask_account(iban.compact)[2:]}"
    if method is Method.NACHA:
        routing = check_aba_routing(details["routing_number"])
        account = check_us_account(details["account_number"])
        kind = details.get("account_type") or "checking"
        if kind not in ("checking", "savings"):
            raise InputError(f"{kind!r} is not checking or savings", field="account_type")
        return ({"routing_number": routing, "account_number": account, "account_type": kind},
                f"ABA {routing} {mask_account(account)}")
    if method is Method.KR_BULK:
        bank, account = check_korean_account(details["bank_code"], details["account_number"])
        return ({"bank_code": bank.code, "account_number": account},
                f"{bank.name} {mask_account(account)}")
    if method is Method.CHECK:
        return {"address": details["address"].strip()}, "check by post"
    return {}, "billing account"


class NameCheck(Protocol):
    """Confirmation of payee / real-name inquiry: does the account belong to this holder?

    Returns ``match``, ``mismatch`` or ``unavailable`` (the provider could not tell)."""

    def check(self, method: Method, details: Mapping[str, str], holder: str) -> str: ...


class RegisterNameCheck:
    """A name check against a local register: a CSV of ``account_key,holder`` lines, the way a
    bank's real-name inquiry answers. It stands in for a provider in tests and in the demo; a
    real provider implements :class:`NameCheck` the same way."""

    def __init__(self, register: Mapping[str, str]) -> None:
        self._register = {k: name_key(v) for k, v in register.items()}

    @classmethod
    def from_csv(cls, path: Path) -> RegisterNameCheck:
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                return cls({row["account_key"]: row["holder"] for row in csv.DictReader(fh)})
        except (OSError, KeyError) as exc:
            raise InputError(f"cannot read the name register: {exc}", file=str(path)) from None

    def check(self, method: Method, details: Mapping[str, str], holder: str) -> str:
        known = self._register.get(account_key(method, details))
        if known is None:
            return "unavailable"
        return "match" if known == name_key(holder) else "mismatch"


class NoNameCheck:
    """No provider configured: every check is ``unavailable`` (release shows it)."""

    def check(self, method: Method, details: Mapping[str, str], holder: str) -> str:
        return "unavailable"


def account_key(method: Method, details: Mapping[str, str]) -> str:
    if method is Method.SEPA:
        return details.get("iban", "")
    if method is Method.NACHA:
        return f"{details.get('routing_number', '')}:{details.get('account_number', '')}"
    if method is Method.KR_BULK:
        return f"{details.get('bank_code', '')}:{details.get('account_number', '')}"
    return ""
