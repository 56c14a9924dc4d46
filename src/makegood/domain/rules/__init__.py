"""The rule kinds a policy is written in, one small class each, with the reference semantics.

Each kind says where it comes from (a regime in DOMAIN.md) and carries a worked example. A rule
has an eligibility filter (``when``), an optional per-award cap, and evaluates one *exposure*
(one subscription and the outage windows that count for it) into at most one :class:`Award`.
Account-scoped kinds (goodwill, loss brackets) are evaluated once per account, on the account's
first affected matching subscription (lowest subscription id).

The package: :mod:`.base` (what every kind shares), :mod:`.remedies` (extension and fee
multiples, fixed remedies), :mod:`.uptime` (SLA tiers, per-day amounts), :mod:`.account`
(goodwill, loss brackets). Importing it registers every kind in :data:`KINDS`.
"""

from __future__ import annotations

from makegood.domain.rules.account import Bracket, Goodwill, LossBrackets
from makegood.domain.rules.base import (
    KINDS,
    Calendars,
    Eligibility,
    Exposure,
    Rule,
    StaticCalendars,
    Trigger,
    fee_share,
    fee_worth,
    kind,
    month_days,
    parse_fee_days,
    parse_rounding,
    parse_time_rounding,
)
from makegood.domain.rules.remedies import ExtensionMultiple, FeeMultiple, Fixed
from makegood.domain.rules.uptime import DayStep, PerDay, SlaTiers, Tier

__all__ = [
    "KINDS",
    "Bracket",
    "Calendars",
    "DayStep",
    "Eligibility",
    "Exposure",
    "ExtensionMultiple",
    "FeeMultiple",
    "Fixed",
    "Goodwill",
    "LossBrackets",
    "PerDay",
    "Rule",
    "SlaTiers",
    "StaticCalendars",
    "Tier",
    "Trigger",
    "fee_share",
    "fee_worth",
    "kind",
    "month_days",
    "parse_fee_days",
    "parse_rounding",
    "parse_time_rounding",
]
