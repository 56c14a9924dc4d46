"""Verification of a claim against the facts we hold: accounts, windows, the ledger, the policy.

The checks themselves are pure (:func:`makegood.domain.claims.verify`); this module gathers the
facts through the unit of work and the ledger reader, which is a port (tests pass a fake).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from makegood.adapters.db.repository import IncidentRecord, UnitOfWork
from makegood.domain.claims import (
    Category,
    ClaimantKind,
    LedgerLine,
    SalesReport,
    Verification,
    verify,
)
from makegood.domain.incident import Severity
from makegood.domain.rules import LossBrackets
from makegood.domain.windows import Window

LedgerReader = Callable[[str, str], "tuple[LedgerLine, ...] | None"]


def read_ledger(path: str, account_id: str) -> tuple[LedgerLine, ...] | None:
    from makegood.adapters.db.ledger import ledger_lines

    return ledger_lines(path, account_id)


def verify_claim(
    *,
    uow: UnitOfWork,
    record: IncidentRecord,
    account_id: str,
    service: str,
    feature: str | None,
    start: datetime,
    end: datetime,
    kind: ClaimantKind,
    category: Category,
    sales: SalesReport | None,
    ledger: LedgerReader = read_ledger,
) -> Verification:
    policy = record.policy
    incident = record.incident
    windows = incident.windows(
        service,
        severities=policy.severities if policy else (Severity.OUTAGE,),
        features=(feature,) if feature else None,
        official=bool(policy and policy.official and incident.official_window is not None),
    )
    loss_rule = next((r for r in policy.rules if isinstance(r, LossBrackets)), None) if policy \
        else None
    return verify(
        account_id=account_id,
        service=service,
        claimed=Window(start, end),
        kind=kind,
        category=category,
        subscriptions=uow.accounts.subscriptions(account_id),
        service_windows=windows,
        incident_services=incident.services,
        ledger=ledger(record.ledger_path, account_id) if record.ledger_path else None,
        loss_rule=loss_rule,
        sales=sales,
    )
