"""A policy and an incident compiled into SQL over the ``subs`` view, plus exact money lookups.

The reference (``domain/compensation.py`` + ``domain/rules.py``) is the truth; this module says
the same things in SQL, split where each part is exact:

* **Time in SQL, as integers.** The incident's merged windows for each (rule, service) are
  constants (at most ``K`` per pair); clipping them to a subscription period, the counted and
  the longest outage, triggers, the multiplied and rounded durations, the split of the outage
  by local calendar month (SLA tiers), the end of a grace period in working or calendar days
  (per-day rules), all become integer arithmetic on epoch microseconds. Local days and months
  are turned into UTC instants here, in Python, with the policy's zone and the working-day
  calendar, and enter the SQL as constants (``CASE`` chains over a handful of boundaries).
* **Money in Python, once per distinct key.** Every money amount is a function of the
  subscription's fee and billing period and a few of the integers above (days in the month,
  rounded seconds, tier per month, compensable days per step). The engine collects the distinct
  keys with SQL, evaluates each once with ``Decimal`` exactly as the reference does (same
  operations in the same order, same context, same named rounding), and joins the amounts back.
  There are a few dozen keys for millions of rows, so this costs nothing and cannot drift from
  the reference's rounding.

Each compiled rule produces, per (subscription, rule) pair, up to ``SLOTS`` integer slots (``x0``
...) that, with the fee, determine the award; ``evaluate`` turns (fee, slots) into the amount.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from makegood.adapters.batch.inputs import MAX_US, quote
from makegood.domain.awards import MONEY_KINDS, AwardKind
from makegood.domain.compensation import policy_zone
from makegood.domain.incident import Fault, Incident
from makegood.domain.money import UNIT_SECONDS
from makegood.domain.policy import Policy
from makegood.domain.rules import (
    Calendars,
    Eligibility,
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

US = 1_000_000
DAY_US = 86_400 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REVIEW = "review"


def us(instant: datetime) -> int:
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def local_midnight(day: date, tz: ZoneInfo) -> int:
    return us(datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC))


def round_units(x: str, unit: int, mode: str) -> str:
    """``x`` (a non-negative integer expression) in whole ``unit``s, as ``TimeRounding.units``."""
    if mode == "up":
        return f"(({x}) + {unit - 1}) // {unit}"
    if mode == "down":
        return f"({x}) // {unit}"
    if mode == "half_up":
        return f"(2 * ({x}) + {unit}) // {2 * unit}"
    q, r = f"(({x}) // {unit})", f"(({x}) % {unit})"
    return (f"(CASE WHEN 2 * {r} > {unit} THEN {q} + 1 WHEN 2 * {r} < {unit} THEN {q} "
            f"ELSE {q} + {q} % 2 END)")


def times(x: str, factor: Decimal) -> str:
    """``int(Decimal(x) * factor)`` for a non-negative integer ``x``: exact integer arithmetic."""
    num, den = factor.as_integer_ratio()
    if den == 1:
        return f"(CAST({x} AS HUGEINT) * {num})"
    return f"((CAST({x} AS HUGEINT) * {num}) // {den})"


def case_chain(value: str, bounds: Sequence[tuple[int, str]], default: str, op: str = "<") -> str:
    """``CASE WHEN value <op> b1 THEN r1 ... ELSE default END``."""
    if not bounds:
        return default
    whens = " ".join(f"WHEN {value} {op} {b} THEN {r}" for b, r in bounds)
    return f"(CASE {whens} ELSE {default} END)"


@dataclass(frozen=True, slots=True)
class Template:
    """What is constant in a ledger row of one rule (and variant: a loss bracket or a review)."""

    policy_id: str
    rule_id: str
    rule_index: int
    kind: str
    unit: str
    currency: str | None
    code: str

    @property
    def is_money(self) -> bool:
        return (AwardKind(self.kind) in MONEY_KINDS and self.currency is not None
                and self.unit == self.currency)


Evaluator = Callable[[Fraction, tuple[int, ...]], Decimal | None]  # (exact monthly fee, slots)


@dataclass(slots=True)
class CompiledRule:
    rule: Rule
    template: Template
    slots: list[str] = field(default_factory=list)  # SQL integer expressions over the pieces
    evaluate: Evaluator | None = None  # (monthly fee, slots) -> amount; None: a constant
    constant: Decimal | None = None
    needs_fee: bool = False
    account_scoped: bool = False
    review: Template | None = None  # loss brackets: the template of a review row


def eligibility_sql(when: Eligibility) -> str:
    parts = []
    if when.services:
        parts.append(f"service IN {_in(when.services)}")
    if when.plans:
        parts.append(f"plan IN {_in(when.plans)}")
    if when.paid is not None:
        parts.append("paid" if when.paid else "NOT paid")
    if when.channels:
        parts.append(f"channel IN {_in([c.value for c in when.channels])}")
    if when.segments:
        parts.append(f"segment IN {_in([s.value for s in when.segments])}")
    return " AND ".join(parts) if parts else "true"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote(v) for v in values) + ")"


@dataclass(slots=True)
class CompiledPolicy:
    """Everything the engine needs to run one policy: constants, SQL pieces and evaluators."""

    policy: Policy
    tz: ZoneInfo
    windows: dict[tuple[int, str], tuple[Window, ...]]
    k: int
    rules: list[CompiledRule]

    @property
    def nslots(self) -> int:
        return max((len(r.slots) for r in self.rules), default=0)

    def rule_windows_rows(self) -> list[tuple[object, ...]]:
        """Rows (ri, service, ws0, we0, ..., ws{K-1}, we{K-1}) of the constant windows table."""
        rows: list[tuple[object, ...]] = []
        for (ri, service), windows in sorted(self.windows.items()):
            bounds: list[int | None] = []
            for w in windows:
                bounds += [us(w.start), us(w.end)]
            bounds += [None] * (2 * self.k - len(bounds))
            rows.append((ri, service, *bounds))
        return rows

    def pieces(self) -> list[tuple[str, str, str]]:
        """(start, end, duration) SQL of each clipped window piece; duration 0 when empty."""
        out = []
        for j in range(self.k):
            ps = f"greatest(ws{j}, s)"
            pe = f"least(we{j}, coalesce(e, {MAX_US}))"
            # DuckDB's greatest/least skip NULLs: an absent window must count as nothing.
            out.append((ps, pe, f"(CASE WHEN ws{j} IS NULL THEN 0 ELSE greatest({pe} - {ps}, 0) END)"))
        return out

    def first_rule_sql(self) -> str:
        """The index of the first rule whose filter matches the subscription (or -1)."""
        whens = " ".join(f"WHEN {eligibility_sql(r.rule.when)} THEN {r.rule.index}" for r in self.rules)
        return f"(CASE {whens} ELSE -1 END)"

    def match_sql(self) -> str:
        whens = " ".join(f"WHEN {r.rule.index} THEN ({eligibility_sql(r.rule.when)})"
                         for r in self.rules)
        return f"(CASE ri {whens} ELSE false END)"

    def counted_sql(self, ri: int) -> str:
        """Rule ``ri``'s counted outage of a subscription row (microseconds), with the windows
        written in as constants per service (no join with the windows table); 0 without any."""
        whens = []
        for (rule, service), windows in sorted(self.windows.items()):
            if rule != ri:
                continue
            pieces = [f"greatest(least({us(w.end)}, coalesce(e, {MAX_US})) - greatest({us(w.start)}, s), 0)"
                      for w in windows]
            whens.append(f"WHEN {quote(service)} THEN {' + '.join(pieces)}")
        return f"(CASE service {' '.join(whens)} ELSE 0 END)" if whens else "0"

    def scoped_sql(self, ri: int) -> str:
        """The counted outage of account-scoped rule ``ri`` where its filter matches, else 0."""
        rule = next(r for r in self.rules if r.rule.index == ri)
        return f"(CASE WHEN {eligibility_sql(rule.rule.when)} THEN {self.counted_sql(ri)} ELSE 0 END)"

    def affected_sql(self) -> str:
        """Whether the subscription row is affected under this policy: the first rule whose
        filter matches it counts some outage (the reference's exposure with windows)."""
        services = sorted({service for _, service in self.windows})
        if not services:
            return "false"
        whens = " ".join(f"WHEN {eligibility_sql(r.rule.when)} THEN {self.counted_sql(r.rule.index)}"
                         for r in self.rules)
        # Rows of a service without windows are not affected: one test spares them the rules.
        return f"(service IN {_in(services)} AND (CASE {whens} ELSE 0 END) > 0)"

    def slot_sql(self, i: int) -> str:
        whens = " ".join(f"WHEN {r.rule.index} THEN ({r.slots[i]})" for r in self.rules
                         if len(r.slots) > i)
        return f"CAST((CASE ri {whens} ELSE -1 END) AS BIGINT)" if whens else "CAST(-1 AS BIGINT)"


def compile_policy(policy: Policy, incident: Incident, calendars: Calendars) -> CompiledPolicy:
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
    compiled = CompiledPolicy(policy, tz, windows, k, [])
    for rule in policy.rules:
        rule_windows = [w for (ri, _), ws in windows.items() if ri == rule.index for w in ws]
        compiled.rules.append(_compile_rule(rule, policy, incident, tz, calendars, compiled.pieces(),
                                            rule_windows))
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


def _months(windows: Sequence[Window], tz: ZoneInfo) -> list[tuple[int, int, int, int]]:
    """(start_us, end_us, days, seconds) of each local month the windows touch."""
    if not windows:
        return []
    first = min(w.start for w in windows).astimezone(tz)
    last = max(w.end for w in windows).astimezone(tz)
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        ny, nm = year + (month == 12), month % 12 + 1
        start, end = local_midnight(date(year, month, 1), tz), local_midnight(date(ny, nm, 1), tz)
        out.append((start, end, _calendar.monthrange(year, month)[1], (end - start) // US))
        year, month = ny, nm
    return out


def _month_days_sql(first_start: str, windows: Sequence[Window], tz: ZoneInfo) -> str:
    months = _months(windows, tz)
    return case_chain(first_start, [(end, str(days)) for _, end, days, _ in months], "0")


def _first_start(pieces: Sequence[tuple[str, str, str]]) -> str:
    whens = " ".join(f"WHEN {d} > 0 THEN {ps}" for ps, _, d in pieces)
    return f"(CASE {whens} END)"


def _compile_rule(rule: Rule, policy: Policy, incident: Incident, tz: ZoneInfo, calendars: Calendars,
                  pieces: list[tuple[str, str, str]], windows: list[Window]) -> CompiledRule:
    fee_days_of = _month_days_sql(_first_start(pieces), windows, tz)
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
        units = round_units(times(f"{base} // {US}", factor), step, rule.rounding.mode)
        slot = f"CASE WHEN {_trigger_sql(rule.trigger)} THEN {units} ELSE 0 END"

        def extension(_: Fraction, slots: tuple[int, ...]) -> Decimal | None:
            return Decimal(slots[0]) if slots[0] > 0 else None

        return CompiledRule(rule, _template(policy, rule, AwardKind.EXTENSION, rule.rounding.unit,
                                            "EXT_MULTIPLE"), slots=[slot], evaluate=extension)
    if isinstance(rule, FeeMultiple):
        base = "counted_us" if rule.measure == "cumulative" else "longest_us"
        step = UNIT_SECONDS[rule.time_rounding.unit]
        multiplied = times(f"{base} // {US}", rule.multiplier)
        rounded = f"{round_units(multiplied, step, rule.time_rounding.mode)} * {step}"
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
        return _compile_sla(rule, policy, tz, pieces, windows)
    if isinstance(rule, PerDay):
        return _compile_per_day(rule, policy, tz, calendars, pieces, windows)
    if isinstance(rule, Goodwill):
        return CompiledRule(rule, _template(policy, rule, AwardKind.ITEM, rule.item, "GOODWILL"),
                            constant=rule.quantity, account_scoped=True)
    if isinstance(rule, LossBrackets):
        return CompiledRule(
            rule, _template(policy, rule, AwardKind.CASH, policy.currency, "LOSS_BRACKET"),
            account_scoped=True,
            review=_template(policy, rule, AwardKind.REVIEW, policy.currency, "LOSS_REVIEW"))
    raise NotImplementedError(f"rule kind {rule.kind!r} has no batch form")  # pragma: no cover


def _compile_sla(rule: SlaTiers, policy: Policy, tz: ZoneInfo,
                 pieces: list[tuple[str, str, str]], windows: list[Window]) -> CompiledRule:
    months = _months(windows, tz)
    ascending = sorted(enumerate(rule.tiers), key=lambda t: t[1].below)  # strictest first
    slots = []
    for m_start, m_end, _, month_s in months:
        overlaps = [f"greatest(least({pe}, {m_end}) - greatest({ps}, {m_start}), 0)"
                    for ps, pe, d in pieces]
        down_us = " + ".join(f"(CASE WHEN {d} > 0 THEN {o} ELSE 0 END)"
                             for (_, _, d), o in zip(pieces, overlaps, strict=True))
        down_s = f"(({down_us}) // {US})"
        whens = []
        for index, tier in ascending:
            num, den = tier.below.as_integer_ratio()
            # up < below x month  <=>  (month - down) x 100 x den < num x month, exactly
            whens.append(f"WHEN CAST({month_s} - {down_s} AS HUGEINT) * {100 * den} < "
                         f"CAST({num} AS HUGEINT) * {month_s} THEN {index}")
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
               windows: Sequence[Window]) -> list[tuple[int, int]]:
    """(local midnight of day D, grace end when counting starts on D) over the windows' days."""
    if not windows:
        return []
    cal = calendars.get(rule.calendar) if rule.grace == "working" and rule.calendar else None
    first = min(w.start for w in windows).astimezone(tz).date()
    last = max(w.end for w in windows).astimezone(tz).date() + timedelta(days=1)
    out = []
    day = first
    while day <= last:
        counted, probe = 0, day
        while True:
            if cal is None or cal.is_working_day(probe):
                counted += 1
                if counted == rule.grace_days:
                    break
            probe += timedelta(days=1)
        out.append((local_midnight(day, tz), local_midnight(probe + timedelta(days=1), tz)))
        day += timedelta(days=1)
    return out


def _compile_per_day(rule: PerDay, policy: Policy, tz: ZoneInfo, calendars: Calendars,
                     pieces: list[tuple[str, str, str]], windows: list[Window]) -> CompiledRule:
    steps = rule.steps
    per_step: list[list[str]] = [[] for _ in steps]
    ends = grace_ends(rule, tz, calendars, windows)
    for ps, pe, d in pieces:
        if rule.grace == "elapsed" or rule.grace_days == 0:
            grace_end = f"({ps} + {rule.grace_days * DAY_US})"
        else:
            # counting starts on the day of ps if ps is local midnight, else on the next day
            grace_end = case_chain(ps, [(mid, str(end)) for mid, end in ends], "NULL", op="<=")
        days = f"((({pe} - {grace_end}) // {US}) + 86399) // 86400"
        for i, step in enumerate(steps):
            last = str(steps[i + 1].from_day - 1) if i + 1 < len(steps) else days
            n = f"greatest(least({last}, {days}) - {step.from_day} + 1, 0)"
            per_step[i].append(f"(CASE WHEN {d} > 0 AND {pe} > {grace_end} THEN {n} ELSE 0 END)")
    def per_day(fee: Fraction, slots: tuple[int, ...]) -> Decimal | None:
        total = Decimal(0)
        for step, n in zip(steps, slots, strict=True):
            if n > 0:
                total += rule.day_amount(step, fee) * n
        return total if total > 0 else None

    return CompiledRule(rule, _template(policy, rule, rule.award_kind, policy.currency, "PER_DAY"),
                        slots=[" + ".join(parts) for parts in per_step], evaluate=per_day,
                        needs_fee=True)
