"""Small builders for domain objects in tests (aware timestamps, KST by default)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from makegood.domain.accounts import (
    Account,
    BillingPeriod,
    Channel,
    Segment,
    Subscription,
    WeeklySales,
)
from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.policy import Policy, load_policy
from makegood.domain.windows import Window

KST = ZoneInfo("Asia/Seoul")
UTC = ZoneInfo("UTC")


def at(text: str, tz: ZoneInfo = KST) -> datetime:
    """``at("2022-10-15 15:30")`` -> an aware datetime in ``tz``."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def window(start: str, end: str, tz: ZoneInfo = KST) -> Window:
    return Window(at(start, tz), at(end, tz))


def incident(
    *windows: tuple[str, str, str] | tuple[str, str, str, str],
    tz: str = "Asia/Seoul",
    fault: Fault = Fault.PROVIDER,
    official: tuple[str, str] | None = None,
    severity: Severity = Severity.OUTAGE,
) -> Incident:
    """``incident(("music", "2022-10-15 15:30", "2022-10-16 02:00"))`` in local time ``tz``."""
    zone = ZoneInfo(tz)
    impacts = []
    for w in windows:
        service, start, end = w[0], w[1], w[2]
        sev = Severity(w[3]) if len(w) == 4 else severity
        impacts.append(Impact(service=service, window=window(start, end, zone), severity=sev))
    return Incident(
        id="test-incident", title="test", timezone=tz, impacts=tuple(impacts), fault=fault,
        official_window=window(*official, zone) if official else None,
    )


def subscription(
    service: str,
    *,
    id: str = "S1",
    account_id: str = "A1",
    fee: str | int = 0,
    paid: bool | None = None,
    channel: Channel = Channel.WEB,
    period: BillingPeriod = BillingPeriod.MONTH,
    currency: str = "KRW",
    start: datetime | None = None,
    end: datetime | None = None,
    plan: str = "standard",
) -> Subscription:
    fee_d = Decimal(str(fee))
    return Subscription(
        id=id, account_id=account_id, service=service, plan=plan,
        paid=fee_d > 0 if paid is None else paid, fee=fee_d, currency=currency,
        billing_period=period, channel=channel,
        start=start or at("2020-01-01 00:00"), end=end,
    )


def account(
    *subs: Subscription,
    id: str = "A1",
    segment: Segment = Segment.INDIVIDUAL,
    sales: dict[str, int] | None = None,
    reported_loss: int | None = None,
) -> Account:
    weekly = tuple(
        WeeklySales(datetime.fromisoformat(d).date(), Decimal(v)) for d, v in (sales or {}).items()
    )
    return Account(id=id, segment=segment, subscriptions=subs, weekly_sales=weekly,
                   reported_loss=Decimal(reported_loss) if reported_loss is not None else None)


def policy(body: str, *, currency: str = "KRW", extra_head: str = "", caps: str = "") -> Policy:
    """A policy from its rules only (the [policy] head is filled in)."""
    head = (f'[policy]\nid = "test"\nversion = 1\nname = "test"\ncurrency = "{currency}"\n'
            f"{extra_head}\n")
    return load_policy(head + (f"[caps]\n{caps}\n" if caps else "") + body, file="test.toml")


HOUR = timedelta(hours=1)
