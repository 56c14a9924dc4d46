"""Verification of a claim against the facts we hold: accounts, windows, the ledger, the policy.

The checks themselves are pure (:func:`makegood.domain.verification.verify`); this module gathers the
facts through the unit of work and the ledger reader, which is a port (tests pass a fake).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from makegood.domain.accounts import Subscription
from makegood.domain.claims import Category, ClaimantKind
from makegood.domain.incident import Severity
from makegood.domain.records import IncidentRecord
from makegood.domain.rules import LossBrackets
from makegood.domain.verification import LedgerLine, SalesReport, Verification, verify
from makegood.domain.windows import Window
from makegood.services.ports import LedgerReader, UnitOfWork

__all__ = ["LedgerReader", "read_ledger", "verify_claim", "verify_facts"]


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
    return verify_facts(
        record=record, subscriptions=uow.accounts.subscriptions(account_id),
        ledger=ledger(record.ledger_path, account_id) if record.ledger_path else None,
        account_id=account_id, service=service, feature=feature, start=start, end=end,
        kind=kind, category=category, sales=sales)


def verify_facts(
    *,
    record: IncidentRecord,
    subscriptions: Sequence[Subscription] | None,
    ledger: Sequence[LedgerLine] | None,
    account_id: str,
    service: str,
    feature: str | None,
    start: datetime,
    end: datetime,
    kind: ClaimantKind,
    category: Category,
    sales: SalesReport | None,
) -> Verification:
    """The checks of one claim from facts already gathered (no I/O): the account's
    subscriptions (``None``: no such account) and its ledger lines (``None``: no ledger)."""
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
        subscriptions=subscriptions,
        service_windows=windows,
        incident_services=incident.services,
        ledger=ledger,
        loss_rule=loss_rule,
        sales=sales,
    )
