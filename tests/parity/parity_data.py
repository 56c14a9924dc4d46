"""Seeded datasets for the engine parity suite: the edges where engines tend to disagree.

Three datasets, each written to disk as the engines read it and run once per engine:

* ``kakao``: the project's scenario generator (Parquet parts, sales), the 2022 incident and the
  shipped Kakao policies, the telecom 10x terms, the content 3x terms and the capped fund.
* ``edges-csv``: hand-placed edges plus seeded random accounts, as CSV with mixed offsets
  (``Z``, ``+09:00``, microseconds): windows that cross subscription boundaries, subscriptions
  that start or end exactly at a window edge or one microsecond / one second off it, a window of
  exactly two hours (the telecom trigger), an SLA month exactly at 99.0 % uptime, per-day
  grace across GB Christmas and Korean Chuseok holidays, rounding ties under half_up and
  half_even, zero fees, yearly / weekly / daily fees, several subscriptions per account,
  degraded severities, feature filters, the official window, rule, per-account and fund caps,
  reported and computed losses at the bracket limits, a Korean service name written in NFD.
* ``edges-parquet``: the same generator with another seed, as two Parquet parts in a directory,
  under a force-majeure incident.

Fees for yearly, weekly and daily billing are chosen so that the monthly fee is an exact
decimal, so that these datasets stay valid parity data against any engine that prices through
decimals.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from makegood import policies as shipped
from makegood.adapters.scenario import generate, kakao_2022_incident
from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.incident_file import read_incident
from makegood.domain.policy import Policy, load_policy, read_policy
from makegood.domain.windows import Window

KST = ZoneInfo("Asia/Seoul")
LONDON = ZoneInfo("Europe/London")
US = timedelta(microseconds=1)
WEBTOON_KO = "웹툰"  # NFC in the incident; the data writes it decomposed (NFD)


def at(tz: ZoneInfo, y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0,
       us: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, us, tzinfo=tz).astimezone(UTC)


# service, severity, feature, start, end
EDGE_IMPACTS: tuple[tuple[str, Severity, str | None, datetime, datetime], ...] = (
    # 7 days across GB Christmas 2022 (bank holidays Mon 26 and Tue 27 Dec), then 2 h exactly.
    ("broadband", Severity.OUTAGE, None, at(LONDON, 2022, 12, 23, 18), at(LONDON, 2022, 12, 30, 10)),
    ("broadband", Severity.OUTAGE, None, at(LONDON, 2023, 1, 3, 9), at(LONDON, 2023, 1, 3, 11)),
    # Across Chuseok 2022 (9-12 Sep in Korea) and a weekend.
    ("line", Severity.OUTAGE, None, at(KST, 2022, 9, 8, 20), at(KST, 2022, 9, 15, 9, 0, 0, 250_000)),
    # Across a month end (UTC), then a degraded stretch that touches it.
    ("cloud", Severity.OUTAGE, None, at(UTC, 2022, 9, 30, 20), at(UTC, 2022, 10, 1, 4)),
    ("cloud", Severity.DEGRADED, None, at(UTC, 2022, 10, 1, 4), at(UTC, 2022, 10, 1, 10)),
    # November has 2,592,000 s: 25,920 s down is exactly 99.0 % uptime (the tier limit).
    ("cloud_a", Severity.OUTAGE, None, at(UTC, 2022, 11, 10), at(UTC, 2022, 11, 10, 7, 12)),
    # Exactly 2 h continuous (the telecom trigger), then a window with microseconds.
    ("tv", Severity.OUTAGE, None, at(KST, 2022, 10, 15, 15, 30), at(KST, 2022, 10, 15, 17, 30)),
    ("tv", Severity.OUTAGE, None, at(KST, 2022, 10, 15, 20, 0, 0, 250_000),
     at(KST, 2022, 10, 15, 20, 59, 59, 750_000)),
    ("tv", Severity.MAINTENANCE, None, at(KST, 2022, 10, 16, 2), at(KST, 2022, 10, 16, 6)),
    (WEBTOON_KO, Severity.OUTAGE, None, at(KST, 2022, 10, 15, 15, 30), at(KST, 2022, 10, 16, 7)),
)

PLANS = ("basic", "pro", "business")
# Monthly fees: ties under half_up vs half_even (25 -> 72 h of a 30-day month = 2.5), zero,
# cents, the 2021 and 2022 worked examples.
MONTHLY_FEES = ("25", "35", "15", "0.5", "99.99", "3900", "10900", "33000", "39000", "12345.67",
                "40", "1", "0")
YEARLY_FEES = ("120000", "1200", "36", "99.96")  # multiples of 12 (cents included)
WEEKLY_FEES = ("3", "30", "9.99")  # x 52 / 12 exact: multiples of 3
DAILY_FEES = ("12", "120", "0.12")  # x 365 / 12 exact: multiples of 12


def edge_incident(fault: Fault = Fault.PROVIDER) -> Incident:
    base = kakao_2022_incident()
    extra = tuple(Impact(service=s, severity=sev, feature=f, window=Window(a, b))
                  for s, sev, f, a, b in EDGE_IMPACTS)
    return replace(base, id="parity-edges", impacts=base.impacts + extra, fault=fault)


def _instants(incident: Incident, service: str, rng: random.Random) -> list[datetime]:
    """Instants near the service's window edges (exactly, 1 µs, 1 s, 30 min off) and far away."""
    edges = [w for i in incident.impacts if i.service == service for w in (i.window.start, i.window.end)]
    if incident.official_window is not None:
        edges += [incident.official_window.start, incident.official_window.end]
    if not edges:
        edges = [at(KST, 2022, 10, 15, 15, 30)]
    out = []
    for edge in edges:
        for delta in (timedelta(0), US, -US, timedelta(seconds=1), -timedelta(seconds=1),
                      timedelta(minutes=30), -timedelta(minutes=30), timedelta(hours=1)):
            out.append(edge + delta)
    out.append(min(edges) - timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86399)))
    return out


@dataclass
class SubRow:
    subscription_id: str
    account_id: str
    segment: str
    service: str
    plan: str
    paid: bool
    fee: Decimal
    currency: str
    billing_period: str
    channel: str
    start: datetime
    end: datetime | None
    reported_loss: Decimal | None


def _fee(rng: random.Random, paid: bool) -> tuple[Decimal, str]:
    if not paid:
        return Decimal(0), rng.choice(("month", "month", "year"))
    period = rng.choices(("month", "year", "week", "day"), weights=(10, 3, 2, 2))[0]
    choices = {"month": MONTHLY_FEES, "year": YEARLY_FEES, "week": WEEKLY_FEES,
               "day": DAILY_FEES}[period]
    fee = Decimal(rng.choice(choices))
    return fee, period


Sales = list[tuple[str, date, Decimal]]


def edge_rows(seed: int, accounts: int, incident: Incident) -> tuple[list[SubRow], Sales]:
    rng = random.Random(seed)
    services = sorted(set(incident.services) | {"no_outage_service"})
    rows: list[SubRow] = []
    sales: Sales = []
    weeks = [date(2022, 9, 3) + timedelta(days=7 * i) for i in range(7)]  # ... Sat 15 Oct
    sub_number = 0
    tv = at(KST, 2022, 10, 15, 15, 30)
    fixed = [  # hand-placed: the 2 h trigger exactly met and just missed, a rounding tie
        ("E1", "individual", "tv", "pro", Decimal("33000"), tv, None),
        ("E2", "individual", "tv", "pro", Decimal("33000"), tv + US, None),
        ("E3", "enterprise", "tv", "basic", Decimal("33000"), tv - US, tv + timedelta(hours=2)),
        ("E4", "individual", "tv", "basic", Decimal("25"), tv, None),
        ("E4", "individual", "cloud", "pro", Decimal("35"), at(UTC, 2022, 10, 1), None),
        ("E5", "small_business", "line", "business", Decimal("40"), at(KST, 2022, 9, 1), None),
        # 10 x 89 min = 890 min of 2,160 KRW in a 30-day month = 44.5 exactly (half up: 45)
        ("E6", "individual", "tv", "basic", Decimal("2160"), tv + timedelta(minutes=31),
         tv + timedelta(hours=2)),
    ]
    for account, segment, service, plan, fee, start, end in fixed:
        sub_number += 1
        rows.append(SubRow(f"S{sub_number}", account, segment, service, plan, True, fee, "KRW",
                           "month", "web", start, end, None))
    for n in range(1, accounts + 1):
        # ids whose string order differs from numeric order (A9 > A10), and a Korean one
        account = f"A{n}" if n % 7 else f"가게-{n:03d}"
        segment = rng.choices(("individual", "small_business", "enterprise"), weights=(6, 3, 1))[0]
        loss = None
        if segment == "small_business" and rng.random() < 0.5:
            loss = Decimal(rng.choice(("300000", "300001", "500000", "500000.01", "0", "120000",
                                       "2000000")))
        for _ in range(rng.choice((1, 1, 2, 3, 4))):
            sub_number += 1
            service = rng.choice(services)
            paid = rng.random() < 0.7
            fee, period = _fee(rng, paid)
            instants = _instants(incident, service, rng)
            start = rng.choice(instants)
            end: datetime | None = None
            if rng.random() < 0.5:
                later = [i for i in instants if i > start]
                end = rng.choice(later) if later else start + timedelta(days=30)
            rows.append(SubRow(
                subscription_id=f"S{sub_number}", account_id=account, segment=segment,
                service=unicodedata.normalize("NFD", service) if service == WEBTOON_KO else service,
                plan=rng.choice(PLANS), paid=paid, fee=fee, currency="KRW", billing_period=period,
                channel=rng.choice(("web", "app_store", "other")), start=start, end=end,
                reported_loss=loss,
            ))
        if segment == "small_business" and rng.random() < 0.8:
            best = Decimal(rng.choice(("1200000", "800000", "500000")))
            loss_pick = Decimal(rng.choice(("300000", "300001", "500000", "500001", "0", "-1000",
                                            "250000", "1000000")))
            for i, week in enumerate(weeks):
                if i == len(weeks) - 1:
                    if rng.random() < 0.9:  # sometimes the outage week is missing
                        sales.append((account, week, best - loss_pick))
                elif i == 2:
                    sales.append((account, week, best))
                else:
                    sales.append((account, week, best - Decimal(rng.randint(0, 50)) * 1000))
    return rows, sales


def _text_time(value: datetime, rng: random.Random) -> str:
    """The same instant in one of the ways people write it: Z, +09:00, -05:00, microseconds."""
    style = rng.randrange(4)
    if style == 0:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if style == 1:
        return value.astimezone(KST).isoformat()
    if style == 2:
        return value.astimezone(ZoneInfo("America/New_York")).isoformat(sep=" ")
    return value.astimezone(LONDON).isoformat()


def write_csv(rows: list[SubRow], sales: Sales, root: Path, seed: int) -> None:
    rng = random.Random(seed)
    (root / "subscriptions").mkdir(parents=True)
    (root / "sales").mkdir()
    with (root / "subscriptions" / "subscriptions.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subscription_id", "account_id", "segment", "service", "plan", "paid", "fee",
                    "currency", "billing_period", "channel", "start", "end", "reported_loss"])
        for r in rows:
            w.writerow([r.subscription_id, r.account_id, r.segment, r.service, r.plan,
                        rng.choice(("true", "True", "1", "yes")) if r.paid else rng.choice(("false", "0")),
                        r.fee, r.currency, r.billing_period, r.channel, _text_time(r.start, rng),
                        _text_time(r.end, rng) if r.end else "",
                        "" if r.reported_loss is None else r.reported_loss])
    with (root / "sales" / "sales.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["account_id", "week_start", "amount"])
        for account, week, amount in sales:
            w.writerow([account, week.isoformat(), amount])


def write_parquet(rows: list[SubRow], sales: Sales, root: Path) -> None:
    (root / "subscriptions").mkdir(parents=True)
    (root / "sales").mkdir()
    schema = pa.schema([
        ("subscription_id", pa.string()), ("account_id", pa.string()), ("segment", pa.string()),
        ("service", pa.string()), ("plan", pa.string()), ("paid", pa.bool_()),
        ("fee", pa.decimal128(18, 2)), ("currency", pa.string()), ("billing_period", pa.string()),
        ("channel", pa.string()), ("start", pa.timestamp("us", tz="UTC")),
        ("end", pa.timestamp("us", tz="UTC")), ("reported_loss", pa.decimal128(18, 2)),
    ])
    half = len(rows) // 2
    for i, part in enumerate((rows[:half], rows[half:])):
        table = pa.Table.from_pylist([vars(r) for r in part], schema=schema)
        pq.write_table(table, root / "subscriptions" / f"part-{i}.parquet")
    pq.write_table(pa.table({
        "account_id": pa.array([s[0] for s in sales], pa.string()),
        "week_start": pa.array([s[1] for s in sales], pa.date32()),
        "amount": pa.array([s[2] for s in sales], pa.decimal128(18, 2)),
    }), root / "sales" / "part-0.parquet")


# Small inline policies for what the shipped ones do not cover.
CAPS_POLICY = """
[policy]
id = "parity-caps"
version = 1
name = "Parity: caps, ties, severities, features"
currency = "KRW"
windows = "measured"
severities = ["outage", "degraded"]
timezone = "Asia/Seoul"

[caps]
per_account = "20000"
fund = "400000"
reserve = "0.1"
fund_round = { step = "10", mode = "down" }

[[rules]]
id = "pro-3x-continuous"
kind = "fee_multiple"
when = { paid = true, plans = ["pro", "business"] }
multiplier = "3"
measure = "continuous"
trigger = { cumulative_more_than = "1h" }
time_round = { unit = "hour", mode = "half_even" }
fee_days = 30
round = { step = "1", mode = "half_even" }
award = "cash"
cap = "15000"

[[rules]]
id = "paid-72h-cash"
kind = "fixed"
when = { paid = true }
fee_time = "72h"
fee_days = 30
round = { step = "1", mode = "half_up" }
award = "cash"

[[rules]]
id = "small-business-flat"
kind = "fixed"
when = { segments = ["small_business"] }
amount = "5000"
award = "cash"

[[rules]]
id = "media-1.5x"
kind = "extension_multiple"
when = { services = ["messenger"], features = ["media"] }
multiplier = "1.5"
round = { unit = "hour", mode = "half_up" }

[[rules]]
id = "tv-coupon"
kind = "goodwill"
when = { services = ["tv", "cloud_a", "웹툰"] }
item = "coupon"

[[rules]]
id = "reported-loss"
kind = "loss_brackets"
when = { segments = ["small_business"] }
source = "reported"
brackets = [
  { up_to = "300000", amount = "30000" },
  { up_to = "500000", amount = "50000" },
]
"""

KR_WORKING_POLICY = """
[policy]
id = "parity-kr-working"
version = 1
name = "Parity: per-day after Korean working days"
currency = "KRW"
timezone = "Asia/Seoul"

[[rules]]
id = "line-working"
kind = "per_day"
when = { services = ["line", "broadband"] }
grace_days = 2
grace = "working"
calendar = "KR"
steps = [
  { from_day = 1, amount = "1000", fee_share = "0.05" },
  { from_day = 3, amount = "2000", fee_share = "0.1" },
]
round = { step = "10", mode = "half_even" }
award = "refund"

[[rules]]
id = "tv-10x-minutes"
kind = "fee_multiple"
when = { services = ["tv", "broadband"], paid = true }
multiplier = "10"
time_round = { unit = "minute", mode = "up" }
fee_days = 30
round = { step = "1", mode = "half_up" }

[[rules]]
id = "line-calendar"
kind = "per_day"
when = { services = ["line", "cloud"] }
grace_days = 1
grace = "calendar"
steps = [ { from_day = 1, amount = "0", fee_share = "0.025" } ]
round = { step = "1", mode = "up" }
award = "cash"

[[rules]]
id = "sla-down"
kind = "sla_tiers"
when = { services = ["cloud", "cloud_a", "line"] }
tiers = [ { below = "99.9", percent = "12.5" }, { below = "99.0", percent = "25" } ]
round = { step = "1", mode = "down" }
"""


@dataclass(frozen=True)
class Dataset:
    name: str
    incident: Incident
    policies: tuple[Policy, ...]
    accounts: Path


def shipped_policy(name: str) -> Policy:
    return read_policy(Path(shipped.__file__).parent / f"{name}.toml")


def build(name: str, root: Path) -> Dataset:
    """Write dataset ``name`` under ``root`` and return what the engines need to run it."""
    inline = (load_policy(CAPS_POLICY, file="<parity-caps>"),
              load_policy(KR_WORKING_POLICY, file="<parity-kr-working>"))
    if name == "kakao":
        out = root / "kakao"
        for _ in generate(out, accounts=250, seed=2022, chunk_accounts=120):
            pass
        names = ("kakao-2022-paid", "kakao-2022-free-goodwill", "kakao-2022-small-business",
                 "kr-telecom-10x", "content-3x", "capped-fund")
        return Dataset(name, read_incident(out / "incident.toml"),
                       tuple(shipped_policy(n) for n in names), out)
    if name == "edges-csv":
        incident = edge_incident()
        rows, sales = edge_rows(11, 140, incident)
        write_csv(rows, sales, root / name, seed=11)
        names = ("kr-broadband-6x", "kt-2021", "aws-ec2-sla", "aws-s3-sla", "google-cloud-sla",
                 "de-tkg-58", "ofcom-gb", "kakao-2022-paid", "kakao-2022-small-business")
        return Dataset(name, incident, tuple(shipped_policy(n) for n in names) + inline, root / name)
    if name == "edges-parquet":
        incident = edge_incident(Fault.FORCE_MAJEURE)
        rows, sales = edge_rows(29, 140, incident)
        write_parquet(rows, sales, root / name)
        names = ("content-3x", "capped-fund", "kakao-2022-free-goodwill", "ofcom-gb",
                 "google-cloud-sla", "kr-telecom-10x")
        return Dataset(name, incident, tuple(shipped_policy(n) for n in names) + inline, root / name)
    raise KeyError(name)


DATASETS = ("kakao", "edges-csv", "edges-parquet")
