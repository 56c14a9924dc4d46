"""One payment line as every file writer receives it: decrypted details, for the write only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PaymentLine:
    end_to_end_id: str
    award_id: str
    payee_id: str
    holder: str
    amount: Decimal
    currency: str  # or the unit of a non-monetary billing credit (day, emoticon-pack)
    kind: str
    memo: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Originator:
    """Who pays: the fund's account at its bank (MAKEGOOD_PAYOUT_ORIGINATOR_NAME and the other
    originator settings)."""

    name: str = "MAKEGOOD COMPENSATION FUND"
    iban: str = "DE89370400440532013000"
    bic: str = "COBADEFFXXX"
    routing_number: str = "021000021"  # the ODFI (the fund's US bank)
    company_id: str = "1234567890"  # ACH company identification (10 characters)
    bank_name: str = "JPMORGAN CHASE"
    execution_date: date | None = None


def cents(amount: Decimal, *, where: str) -> int:
    """An amount in whole cents; a fraction of a cent is refused, never rounded away."""
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        from makegood.domain.errors import InputError

        raise InputError(f"{amount} has a fraction of a cent", field=where)
    return int(scaled)
