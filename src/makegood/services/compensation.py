"""Compensation runs: plan (load and cross-check the inputs), run an engine, write the ledger.

An engine turns (incident, policies, accounts source) into a ledger table with the columns of
:mod:`makegood.adapters.ledger`. The reference engine runs the domain core account by account;
the batch engines re-express the same semantics over tables and must produce the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from makegood.adapters.ledger import LedgerRow, rows_to_table, summarize, write_json, write_table
from makegood.adapters.tables import AccountsSource, load_accounts
from makegood.domain.accounts import Account
from makegood.domain.awards import Award
from makegood.domain.compensation import apply_fund_cap, compensate
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars

Progress = Callable[[int, int], None]  # (done, total) accounts or rows


@dataclass(slots=True)
class RunResult:
    """A ledger table and what the engine counted along the way."""

    ledger: pa.Table
    accounts: int = 0
    subscriptions: int = 0
    accounts_affected: int = 0
    fund_factors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "subscriptions": self.subscriptions,
            "accounts_affected": self.accounts_affected,
            "fund_factors": self.fund_factors,
            **summarize(self.ledger),
        }


class Engine(Protocol):
    name: str

    def run(
        self,
        *,
        incident: Incident,
        policies: Sequence[Policy],
        source: AccountsSource,
        calendars: Calendars,
        progress: Progress | None = None,
    ) -> RunResult: ...


def check_policies(policies: Sequence[Policy], incident: Incident, data_services: set[str],
                   files: Sequence[str | None] = ()) -> None:
    """Every service a policy names must be known to the incident or present in the data."""
    known = set(incident.services) | data_services
    for i, policy in enumerate(policies):
        policy.check_services(known, file=files[i] if i < len(files) else None)


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


def write_outputs(result: RunResult, out: Path, *, fmt: str | None, summary_path: Path | None,
                  extra: dict[str, Any]) -> dict[str, Any]:
    """Write the ledger and its summary JSON (both atomically); return the summary."""
    summary = {**extra, **result.summary()}
    write_table(result.ledger, out, fmt)
    write_json(summary, summary_path or out.with_name(out.name + ".summary.json"))
    return summary
