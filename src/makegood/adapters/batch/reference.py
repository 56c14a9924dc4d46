"""The reference engine: the domain core, account by account (the truth, for small inputs).

The batch engines re-express the same semantics over tables and must produce the same rows;
the parity suite runs them against this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from makegood.adapters.ledger import LedgerRow, Progress, RunResult, rows_to_table
from makegood.adapters.tables import AccountsSource, load_accounts
from makegood.domain.accounts import Account
from makegood.domain.awards import Award
from makegood.domain.compensation import apply_fund_cap, check_policies, compensate
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars


def reference_awards(
    accounts: Sequence[Account],
    incident: Incident,
    policy: Policy,
    calendars: Calendars,
) -> tuple[list[tuple[Award, str]], Decimal, set[str]]:
    """Awards with each account's segment, the fund factor, and the ids of affected accounts."""
    awards: list[Award] = []
    segments: dict[str, str] = {}
    affected: set[str] = set()
    for account in accounts:
        result = compensate(account, incident, policy, calendars=calendars)
        awards.extend(result.awards)
        segments[account.id] = account.segment.value
        if result.affected:
            affected.add(account.id)
    capped, factor = apply_fund_cap(awards, policy)
    return [(a, segments[a.account_id]) for a in capped], factor, affected


class ReferenceEngine:
    """The domain core, account by account: the truth, for small inputs."""

    name = "reference"

    def run(
        self,
        *,
        incident: Incident,
        policies: Sequence[Policy],
        source: AccountsSource,
        calendars: Calendars,
        progress: Progress | None = None,
    ) -> RunResult:
        accounts = load_accounts(source)
        check_policies(policies, incident,
                       {s.service for a in accounts for s in a.subscriptions})
        rows: list[LedgerRow] = []
        affected_ids: set[str] = set()
        factors: dict[str, str] = {}
        for policy in policies:
            awarded, factor, affected = reference_awards(accounts, incident, policy, calendars)
            rows.extend(LedgerRow.from_award(a, seg, policy.id) for a, seg in awarded)
            affected_ids |= affected
            if policy.caps.fund is not None:
                factors[policy.id] = str(factor)
            if progress:
                progress(len(rows), len(rows))
        return RunResult(
            ledger=rows_to_table(rows),
            accounts=len(accounts),
            subscriptions=sum(len(a.subscriptions) for a in accounts),
            accounts_affected=len(affected_ids),
            fund_factors=factors,
        )
