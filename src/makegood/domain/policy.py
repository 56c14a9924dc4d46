"""Policies as data: a validated TOML document naming a currency, which windows count, and rules.

The document::

    [policy]
    id = "kakao-2022-paid"          # required
    version = 1                     # required; bump on every published change
    name = "..."                    # required
    currency = "KRW"                # required, ISO 4217
    windows = "measured"            # or "official" (the incident's declared window)
    severities = ["outage"]         # which measured severities count
    timezone = "Asia/Seoul"         # for days and months; default: the incident's
    source = "..."                  # where the rules come from

    [caps]                          # all optional
    per_account = "100000"          # money awards per account, in rule order
    fund = "27500000000"            # total cash; all cash awards scale pro rata above it
    reserve = "0.10"                # share of the fund held back for late and cured claims
    fund_round = { step = "1", mode = "down" }

    [[rules]]
    id = "music-web"
    kind = "fixed"                  # see makegood.domain.rules.KINDS
    when = { services = ["music"], channels = ["web"], paid = true }
    extension = "3d"

Errors name the file, the rule and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from makegood.domain.document import Table, parse_toml
from makegood.domain.errors import InputError, PolicyError
from makegood.domain.incident import Severity, zone
from makegood.domain.money import Rounding, format_amount
from makegood.domain.rules import KINDS, Eligibility, Rule, parse_rounding


@dataclass(frozen=True, slots=True)
class Caps:
    per_account: Decimal | None = None
    fund: Decimal | None = None
    reserve: Decimal = Decimal(0)
    fund_rounding: Rounding = Rounding(Decimal(1), "down")  # noqa: RUF009 - frozen, immutable

    @property
    def fund_available(self) -> Decimal | None:
        if self.fund is None:
            return None
        return self.fund * (1 - self.reserve)


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    version: int
    name: str
    currency: str
    rules: tuple[Rule, ...]
    windows: str = "measured"
    severities: tuple[Severity, ...] = (Severity.OUTAGE,)
    timezone: str | None = None
    source: str = ""
    caps: Caps = Caps()

    @property
    def official(self) -> bool:
        return self.windows == "official"

    @property
    def services(self) -> frozenset[str]:
        return frozenset(s for r in self.rules for s in r.when.services)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise InputError(f"policy {self.id!r} has no rule {rule_id!r}")

    def check_services(self, known: Iterable[str], *, file: str | None = None) -> None:
        """Raise if a rule names a service that neither the incident nor the data knows."""
        known_set = set(known)
        for rule in self.rules:
            for service in rule.when.services:
                if service not in known_set:
                    raise PolicyError(
                        f"unknown service {service!r}; the incident and the data know: "
                        f"{', '.join(sorted(known_set)) or 'none'}",
                        file=file, rule=rule.id, field="when.services",
                    )

    def describe(self) -> list[str]:
        """The policy in words, one line per item."""
        basis = ("the incident's official window" if self.official
                 else "measured windows of severity " + "/".join(s.value for s in self.severities))
        lines = [f"{self.name} ({self.id} v{self.version}), currency {self.currency}, counting {basis}"]
        if self.source:
            lines.append(f"source: {self.source}")
        lines.extend(rule.describe() for rule in self.rules)
        if self.caps.per_account is not None:
            lines.append(f"cap: at most {format_amount(self.caps.per_account)} {self.currency} "
                         "of money awards per account")
        if self.caps.fund is not None:
            lines.append(f"fund: {format_amount(self.caps.fund)} {self.currency}, reserve "
                         f"{format_amount(self.caps.reserve * 100)} %; cash awards scale pro rata "
                         "when they exceed what is available")
        return lines


def load_policy(text: str, *, file: str = "<policy>") -> Policy:
    """Parse and validate a policy document."""
    data = parse_toml(text, file=file, error=PolicyError)
    root = Table(data, file=file, error=PolicyError)
    head = root.table("policy", required=True)
    assert head is not None
    currency = head.text("currency")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise head.fail(f"{currency!r} is not an ISO 4217 currency code such as KRW", "currency")
    timezone = head.text("timezone", None)
    if timezone is not None:
        try:
            zone(timezone)
        except InputError as exc:
            raise head.fail(exc.problem, "timezone") from None
    severities = head.texts("severities", ("outage",))
    for s in severities:
        if s not in {v.value for v in Severity}:
            raise head.fail(f"{s!r} is not one of: outage, degraded, maintenance", "severities")
    policy_id = head.text("id")
    version = head.integer("version", minimum=1)
    name = head.text("name")
    windows = head.text("windows", "measured", choices=("measured", "official"))
    source = head.text("source", "")
    head.finish()

    caps = Caps()
    caps_table = root.table("caps")
    if caps_table is not None:
        caps = Caps(
            per_account=caps_table.decimal("per_account", None),
            fund=caps_table.decimal("fund", None),
            reserve=caps_table.decimal("reserve", Decimal(0)),
            fund_rounding=parse_rounding(caps_table, "fund_round", Rounding(Decimal(1), "down")),
        )
        if not Decimal(0) <= caps.reserve < 1:
            raise caps_table.fail("must be a share from 0 up to (not including) 1", "reserve")
        caps_table.finish()

    rules: list[Rule] = []
    seen: set[str] = set()
    for index, t in enumerate(root.tables("rules", required=True)):
        rule_id = t.text("id")
        t.rule, t.prefix = rule_id, ""
        if rule_id in seen:
            raise t.fail("duplicate rule id", "id")
        seen.add(rule_id)
        kind_name = t.text("kind")
        if kind_name not in KINDS:
            raise t.fail(f"unknown rule kind {kind_name!r}; known kinds: {', '.join(KINDS)}",
                         "kind")
        common: dict[str, object] = {
            "id": rule_id,
            "index": index,
            "when": Eligibility.parse(t.table("when")),
            "description": t.text("description", ""),
            "cap": t.decimal("cap", None),
        }
        rules.append(KINDS[kind_name].parse(t, common))
        t.finish()
    if not rules:
        raise root.fail("a policy needs at least one [[rules]] entry", "rules")
    root.finish()
    return Policy(
        id=policy_id,
        version=version,
        name=name,
        currency=currency,
        rules=tuple(rules),
        windows=windows,
        severities=tuple(Severity(s) for s in severities),
        timezone=timezone,
        source=source,
        caps=caps,
    )


def read_policy(path: str | Path) -> Policy:
    """Load a policy file; an unreadable file is a :class:`PolicyError` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {exc.__class__.__name__}: {exc}",
                          file=str(p)) from None
    return load_policy(text, file=str(p))
