"""Per-account compensation: the reference semantics every engine must reproduce.

For each subscription of the account and each rule (in policy order) whose filter matches, the
counted windows are the incident's windows for the subscription's service (measured at the
policy's severities, or the official window), clipped to the subscription period. The rule turns
them into at most one award. Account-scoped rules are evaluated once, on the first affected
matching subscription (lowest subscription id). Then caps apply: the rule cap per award, the
per-account cap on money awards in rule order, and across all accounts the fund cap, which
scales every cash award by one factor (:func:`apply_fund_cap`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from makegood.domain.accounts import Account, Subscription
from makegood.domain.awards import Award, AwardKind
from makegood.domain.incident import Incident, zone
from makegood.domain.policy import Policy
from makegood.domain.rules import Calendars, Exposure, Rule, StaticCalendars
from makegood.domain.windows import Window, clip

NO_CALENDARS = StaticCalendars({})


@dataclass(frozen=True, slots=True)
class Compensation:
    """What one account gets under one policy for one incident."""

    account_id: str
    awards: tuple[Award, ...]
    exposures: tuple[Exposure, ...]

    @property
    def affected(self) -> bool:
        return any(e.windows for e in self.exposures)


def policy_zone(policy: Policy, incident: Incident) -> ZoneInfo:
    return zone(policy.timezone) if policy.timezone else incident.tz


def counted_windows(
    sub: Subscription, rule: Rule, policy: Policy, incident: Incident
) -> tuple[Window, ...]:
    windows = incident.windows(
        sub.service,
        severities=policy.severities,
        features=rule.when.features or None,
        official=policy.official,
    )
    return clip(windows, sub.start, sub.end)


def compensate(
    account: Account,
    incident: Incident,
    policy: Policy,
    *,
    calendars: Calendars = NO_CALENDARS,
) -> Compensation:
    """The awards of one account, after rule caps and the per-account cap (not the fund cap)."""
    tz = policy_zone(policy, incident)
    subs = sorted(account.subscriptions, key=lambda s: s.id)
    awards: list[Award] = []
    exposures: dict[str, Exposure] = {}
    for rule in policy.rules:
        for sub in subs:
            if not rule.when.matches(account, sub):
                continue
            exposure = Exposure(account, sub, counted_windows(sub, rule, policy, incident),
                                incident, tz, policy.currency, calendars)
            exposures.setdefault(sub.id, exposure)
            if not exposure.windows:
                continue
            award = rule.evaluate(exposure)
            if award is not None:
                awards.append(_rule_cap(award, rule))
            if rule.scope == "account":
                break
    awards.sort(key=Award.sort_key)
    return Compensation(account.id, tuple(_account_cap(awards, policy)), tuple(exposures.values()))


def _rule_cap(award: Award, rule: Rule) -> Award:
    if rule.cap is None or not award.is_money or award.amount <= rule.cap:
        return award
    return award.adjusted(rule.cap, "CAP_RULE", "rule")


def _account_cap(awards: list[Award], policy: Policy) -> Iterator[Award]:
    cap = policy.caps.per_account
    if cap is None:
        yield from awards
        return
    used = Decimal(0)
    for award in awards:
        if award.is_money and award.currency == policy.currency:
            room = max(Decimal(0), cap - used)
            if award.amount > room:
                award = award.adjusted(room, "CAP_ACCOUNT", "account", limit=cap)
            used += award.amount
            if award.amount <= 0:
                continue
        yield award


def fund_factor(awards: Iterable[Award], policy: Policy) -> Decimal:
    """The pro-rata factor (at most 1) that fits all cash awards into the fund."""
    available = policy.caps.fund_available
    if available is None:
        return Decimal(1)
    owed = sum((a.amount for a in awards if a.kind is AwardKind.CASH), Decimal(0))
    if owed <= available:
        return Decimal(1)
    return available / owed


def apply_fund_cap(awards: list[Award], policy: Policy) -> tuple[list[Award], Decimal]:
    """Scale every cash award by the fund factor (rounded by the fund's rounding)."""
    factor = fund_factor(awards, policy)
    if factor == 1:
        return awards, factor
    return scale_awards(awards, policy, factor), factor


def scale_awards(awards: Iterable[Award], policy: Policy, factor: Decimal) -> list[Award]:
    """Cash awards scaled by the fund ``factor``: each scaled award is rounded by the fund's
    rounding (the factor itself is not rounded); other awards unchanged."""
    if factor == 1:
        return list(awards)
    out = []
    rounding = policy.caps.fund_rounding
    for award in awards:
        if award.kind is AwardKind.CASH:
            scaled = rounding.apply(award.amount * factor)
            award = award.adjusted(scaled, "FUND_SCALED", "fund", factor=factor)
        out.append(award)
    return out


def check_policies(policies: Sequence[Policy], incident: Incident, data_services: set[str],
                   files: Sequence[str | None] = ()) -> None:
    """Every service a policy names must be known to the incident or present in the data."""
    known = set(incident.services) | data_services
    for i, policy in enumerate(policies):
        policy.check_services(known, file=files[i] if i < len(files) else None)


def compensate_all(
    accounts: Iterable[Account],
    incident: Incident,
    policy: Policy,
    *,
    calendars: Calendars = NO_CALENDARS,
) -> tuple[list[Award], Decimal]:
    """Every account's awards with the fund cap applied; returns the awards and the fund factor."""
    awards: list[Award] = []
    for account in accounts:
        awards.extend(compensate(account, incident, policy, calendars=calendars).awards)
    return apply_fund_cap(awards, policy)
