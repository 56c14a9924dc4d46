"""Each rule kind compiled into integer SQL slots and a Python evaluator (see the package doc).

Local calendar facts (months and their lengths, local days, grace ends) come from
:mod:`makegood.domain.local_calendar` and enter the SQL as constants; the evaluators price with
the rule's own methods (:mod:`makegood.domain.rules`), so the money is the reference's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from makegood.adapters.batch.plan.compiled import CompiledPolicy, CompiledRule, Piece, Template
from makegood.adapters.batch.plan.expr import (
    DAY_US,
    DUCKDB,
    US,
    Dialect,
    case_chain,
    round_units,
    times,
    us,
)
from makegood.domain.awards import AwardKind
from makegood.domain.compensation import policy_zone
from makegood.domain.incident import Fault, Incident
from makegood.domain.local_calendar import (
    Month,
    grace_end_from,
    last_date,
    local_date,
    local_days,
    months,
)
from makegood.domain.money import UNIT_SECONDS
from makegood.domain.policy import Policy
from makegood.domain.rules import (
    Calendars,
    ExtensionMultiple,
    FeeMultiple,
    Fixed,
    Goodwill,
    LossBrackets,
    PerDay,
    Rule,
    SlaTiers,
    Trigger,
)
from makegood.domain.windows import Window


def compile_policy(policy: Policy, incident: Incident, calendars: Calendars,
                   dialect: Dialect = DUCKDB) -> CompiledPolicy:
    """The plan of one policy for one incident, its SQL written in ``dialect``."""
    tz = policy_zone(policy, incident)
    windows: dict[tuple[int, str], tuple[Window, ...]] = {}
    for rule in policy.rules:
        services = rule.when.services or incident.services
        for service in services:
            found = incident.windows(service, severities=policy.severities,
                                     features=rule.when.features or None, official=policy.official)
            if found:
                windows[(rule.index, service)] = found
    k = max((len(w) for w in windows.values()), default=1)
    compiled = CompiledPolicy(policy, tz, windows, k, [], dialect)
    for rule in policy.rules:
        rule_windows = [w for (ri, _), ws in windows.items() if ri == rule.index for w in ws]
        compiled.rules.append(_compile_rule(rule, policy, incident, tz, calendars, compiled.pieces(),
                                            rule_windows, dialect))
    return compiled


def _template(policy: Policy, rule: Rule, kind: str, unit: str, code: str) -> Template:
    money = kind in (AwardKind.CREDIT, AwardKind.REFUND, AwardKind.CASH, AwardKind.REVIEW)
    currency = policy.currency if money and unit == policy.currency else None
    return Template(policy.id, rule.id, rule.index, AwardKind(kind).value, unit, currency, code)


def _trigger_sql(trigger: Trigger) -> str:
    if trigger.is_any_outage:
        return "true"
    parts = []
    for value, column, op in ((trigger.continuous_at_least, "longest_us", ">="),
                              (trigger.continuous_more_than, "longest_us", ">"),
                              (trigger.cumulative_at_least, "counted_us", ">="),
                              (trigger.cumulative_more_than, "counted_us", ">")):
        if value is not None:
            parts.append(f"{column} {op} {value // timedelta(microseconds=1)}")
    return "(" + " OR ".join(parts) + ")"


def _months(windows: Sequence[Window], tz: ZoneInfo) -> list[Month]:
    """Each local month from the one the windows start in to the one they end in."""
    if not windows:
        return []
    return months(min(w.start for w in windows), max(w.end for w in windows), tz)


def _first_start(pieces: Sequence[Piece]) -> str:
    whens = " ".join(f"WHEN {d} > 0 THEN {ps}" for ps, _, d in pieces)
    return f"(CASE {whens} END)"


def _compile_rule(rule: Rule, policy: Policy, incident: Incident, tz: ZoneInfo, calendars: Calendars,
                  pieces: list[Piece], windows: list[Window], d: Dialect) -> CompiledRule:
    # fee_days = "calendar": the days of the local month in which the first counted piece starts
    fee_days_of = case_chain(_first_start(pieces),
                             [(us(m.end), str(m.days)) for m in _months(windows, tz)], "0")
    if isinstance(rule, Fixed):
        if rule.extension is not None:
            amount, unit = rule.extension
            return CompiledRule(rule, _template(policy, rule, AwardKind.EXTENSION, unit,
                                                "FIXED_EXTENSION"), constant=amount)
        if rule.fee_time is not None:
            fixed = rule

            def fee_time(fee: Fraction, slots: tuple[int, ...]) -> Decimal | None:
                amount = fixed.fee_time_amount(fee, slots[0])
                return amount if amount > 0 else None

            days_sql = str(rule.fee_days) if rule.fee_days is not None else fee_days_of
            return CompiledRule(rule, _template(policy, rule, rule.award_kind, policy.currency,
                                                "FIXED_FEE_TIME"),
                                slots=[days_sql], evaluate=fee_time, needs_fee=True)
        assert rule.amount is not None
        return CompiledRule(rule, _template(policy, rule, rule.award_kind, rule.unit or policy.currency,
                                            "FIXED_AMOUNT"), constant=rule.amount)
    if isinstance(rule, ExtensionMultiple):
        factor = (rule.force_majeure_multiplier if incident.fault is Fault.FORCE_MAJEURE
                  else rule.multiplier)
        base = "counted_us" if rule.measure == "cumulative" else "longest_us"
        step = UNIT_SECONDS[rule.rounding.unit]
        units = round_units(times(d.div(base, US), factor, d), step, rule.rounding.mode, d)
        slot = f"CASE WHEN {_trigger_sql(rule.trigger)} THEN {units} ELSE 0 END"

        def extension(_: Fraction, slots: tuple[int, ...]) -> Decimal | None:
            return Decimal(slots[0]) if slots[0] > 0 else None

        return CompiledRule(rule, _template(policy, rule, AwardKind.EXTENSION, rule.rounding.unit,
                                            "EXT_MULTIPLE"), slots=[slot], evaluate=extension)
    if isinstance(rule, FeeMultiple):
        base = "counted_us" if rule.measure == "cumulative" else "longest_us"
        step = UNIT_SECONDS[rule.time_rounding.unit]
        multiplied = times(d.div(base, US), rule.multiplier, d)
        rounded = f"{round_units(multiplied, step, rule.time_rounding.mode, d)} * {step}"
        slot = f"CASE WHEN {_trigger_sql(rule.trigger)} THEN {rounded} ELSE -1 END"
        days_sql = str(rule.fee_days) if rule.fee_days is not None else fee_days_of
        multiple = rule

        def fee_multiple(fee: Fraction, slots: tuple[int, ...]) -> Decimal | None:
            rounded_s, days = slots[0], slots[1]
            if rounded_s < 0:
                return None
            amount = multiple.amount_for(fee, rounded_s, days)
            return amount if amount > 0 else None

        return CompiledRule(rule, _template(policy, rule, rule.award_kind, policy.currency,
                                            "FEE_MULTIPLE"),
                            slots=[slot, days_sql], evaluate=fee_multiple, needs_fee=True)
    if isinstance(rule, SlaTiers):
        return _compile_sla(rule, policy, tz, pieces, windows, d)
    if isinstance(rule, PerDay):
        return _compile_per_day(rule, policy, tz, calendars, pieces, windows, d)
    if isinstance(rule, Goodwill):
        return CompiledRule(rule, _template(policy, rule, AwardKind.ITEM, rule.item, "GOODWILL"),
                            constant=rule.quantity, account_scoped=True)
    if isinstance(rule, LossBrackets):
        return CompiledRule(
            rule, _template(policy, rule, AwardKind.CASH, policy.currency, "LOSS_BRACKET"),
            account_scoped=True,
            review=_template(policy, rule, AwardKind.REVIEW, policy.currency, "LOSS_REVIEW"))
    raise NotImplementedError(f"rule kind {rule.kind!r} has no batch form")  # pragma: no cover


def _compile_sla(rule: SlaTiers, policy: Policy, tz: ZoneInfo, pieces: list[Piece],
                 windows: list[Window], d: Dialect) -> CompiledRule:
    ascending = sorted(enumerate(rule.tiers), key=lambda t: t[1].below)  # strictest first
    slots = []
    for month in _months(windows, tz):
        m_start, m_end, month_s = us(month.start), us(month.end), month.seconds
        overlaps = [f"greatest(least({pe}, {m_end}) - greatest({ps}, {m_start}), 0)"
                    for ps, pe, _ in pieces]
        down_us = " + ".join(f"(CASE WHEN {dur} > 0 THEN {o} ELSE 0 END)"
                             for (_, _, dur), o in zip(pieces, overlaps, strict=True))
        down_s = d.div(down_us, US)
        whens = []
        for index, tier in ascending:
            num, den = tier.below.as_integer_ratio()
            # up < below x month  <=>  (month - down) x 100 x den < num x month, exactly
            whens.append(f"WHEN CAST({month_s} - {down_s} AS {d.wide}) * {100 * den} < "
                         f"CAST({num} AS {d.wide}) * {month_s} THEN {index}")
        slots.append(f"CASE WHEN ({down_us}) <= 0 THEN -1 {' '.join(whens)} ELSE -2 END")
    tiers, max_percent, min_credit = rule.tiers, rule.max_percent, rule.min_credit

    def sla(fee: Fraction, slots: tuple[int, ...]) -> Decimal | None:
        total = Decimal(0)
        for t in slots:
            if t == -1:
                continue
            percent = tiers[t].percent if t >= 0 else Decimal(0)
            if max_percent is not None:
                percent = min(percent, max_percent)
            total += rule.month_credit(fee, percent)
        if total <= 0 or total < min_credit:
            return None
        return total

    return CompiledRule(rule, _template(policy, rule, AwardKind.CREDIT, policy.currency, "SLA_TIER"),
                        slots=slots or ["-1"], evaluate=sla, needs_fee=True)


def grace_ends(rule: PerDay, tz: ZoneInfo, calendars: Calendars,
               windows: Sequence[Window]) -> list[tuple[int, int, int]]:
    """Over the windows' local days D: (local midnight of D, the grace's end when counting
    starts on D, the ordinal of the local day on which it ends)."""
    if not windows or rule.grace == "elapsed" or rule.grace_days == 0:
        return []
    working = calendars.get(rule.calendar) if rule.grace == "working" and rule.calendar else None
    first = local_date(min(w.start for w in windows), tz)
    last = last_date(max(w.end for w in windows), tz) + timedelta(days=1)
    out = []
    for day in local_days(first, last, tz):
        end = grace_end_from(day.day, rule.grace_days, tz, working)
        out.append((us(day.start), us(end), local_date(end, tz).toordinal()))
    return out


def day_ordinal_sql(value: str, tz: ZoneInfo, windows: Sequence[Window]) -> str:
    """The ordinal (``date.toordinal()``) of the local day holding instant ``value`` (epoch
    microseconds within the windows' span), as a chain over the local days' ends."""
    first = local_date(min(w.start for w in windows), tz)
    last = last_date(max(w.end for w in windows), tz)
    bounds = [(us(day.end), str(day.day.toordinal())) for day in local_days(first, last, tz)]
    return case_chain(value, bounds, "NULL")


def _compile_per_day(rule: PerDay, policy: Policy, tz: ZoneInfo, calendars: Calendars,
                     pieces: list[Piece], windows: list[Window], d: Dialect) -> CompiledRule:
    steps = rule.steps
    per_step: list[list[str]] = [[] for _ in steps]
    ends = grace_ends(rule, tz, calendars, windows)
    for ps, pe, dur in pieces:
        if rule.grace == "elapsed":
            # periods of 24 h from the start, the grace included
            grace_end = f"({ps} + {rule.grace_days * DAY_US})"
            days = d.div(f"{d.div(f'{pe} - {grace_end}', US)} + 86399", 86400)
        else:
            # the local calendar days the piece touches from the grace's end on (the start's
            # own day when there is no grace); a grace counts from the day of ps if ps is a
            # local midnight, else from the next day
            last_day = day_ordinal_sql(f"{pe} - 1", tz, windows) if windows else "NULL"
            if rule.grace_days == 0:
                grace_end = ps
                first_day = day_ordinal_sql(ps, tz, windows) if windows else "NULL"
            else:
                grace_end = case_chain(ps, [(mid, str(end)) for mid, end, _ in ends], "NULL", op="<=")
                first_day = case_chain(ps, [(mid, str(o)) for mid, _, o in ends], "NULL", op="<=")
            days = f"({last_day} - {first_day} + 1)"
        for i, step in enumerate(steps):
            last = str(steps[i + 1].from_day - 1) if i + 1 < len(steps) else days
            n = f"greatest(least({last}, {days}) - {step.from_day} + 1, 0)"
            per_step[i].append(f"(CASE WHEN {dur} > 0 AND {pe} > {grace_end} THEN {n} ELSE 0 END)")

    def per_day(fee: Fraction, slots: tuple[int, ...]) -> Decimal | None:
        total = Decimal(0)
        for step, n in zip(steps, slots, strict=True):
            if n > 0:
                total += rule.day_amount(step, fee) * n
        return total if total > 0 else None

    return CompiledRule(rule, _template(policy, rule, rule.award_kind, policy.currency, "PER_DAY"),
                        slots=[" + ".join(parts) for parts in per_step], evaluate=per_day,
                        needs_fee=True)
