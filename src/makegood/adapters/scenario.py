"""The one seeded scenario generator: a 2022-style incident and accounts of any size.

Modelled on the Pangyo fire of 15 October 2022 (DOMAIN.md): the services and features with
their windows, and accounts that are free users, paid subscribers bought on the web or in an
app store, small businesses with weekly sales, and enterprises. Deterministic for a seed, and
generated in chunks of accounts written as Parquet parts, so memory does not grow with size.

Where DOMAIN.md gives no exact time ("16 Oct, night", "16 Oct, afternoon") the scenario picks
one and says so in the incident notes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.incident_file import dump_incident
from makegood.domain.windows import Window

KST = ZoneInfo("Asia/Seoul")


def kst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 10, day, hour, minute, tzinfo=KST)


# service, feature, severity, start, end
WINDOWS_2022: tuple[tuple[str, str | None, Severity, datetime, datetime], ...] = (
    ("messenger", "text", Severity.OUTAGE, kst(15, 15, 30), kst(16, 1, 31)),
    ("messenger", "media", Severity.OUTAGE, kst(15, 15, 30), kst(16, 22, 0)),
    ("partner_login", None, Severity.OUTAGE, kst(15, 15, 46), kst(16, 11, 5)),
    ("taxi", "hailing", Severity.OUTAGE, kst(15, 15, 30), kst(16, 15, 0)),
    ("taxi", "hailing", Severity.DEGRADED, kst(16, 15, 0), kst(17, 18, 0)),
    ("taxi_pro", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 15, 0)),
    ("driver_pro", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 15, 0)),
    ("pay", "payments", Severity.OUTAGE, kst(15, 15, 30), kst(16, 8, 0)),
    ("pay", "certificates", Severity.DEGRADED, kst(16, 8, 0), kst(19, 18, 0)),
    ("webtoon", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 7, 0)),
    ("page", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 7, 0)),
    ("music", "streaming", Severity.OUTAGE, kst(15, 15, 30), kst(16, 2, 0)),
    ("music", "charts", Severity.DEGRADED, kst(16, 2, 0), kst(16, 18, 0)),
    ("emoticon_plus", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 1, 31)),
    ("chat_backup", None, Severity.OUTAGE, kst(15, 15, 30), kst(16, 22, 0)),
    ("kakao_mail", None, Severity.OUTAGE, kst(15, 15, 30), kst(18, 9, 0)),
    ("daum_mail", "web", Severity.OUTAGE, kst(15, 15, 30), kst(19, 6, 0)),
    ("daum_mail", "imap", Severity.OUTAGE, kst(15, 15, 30), kst(20, 23, 0)),
    ("biz_channel", None, Severity.OUTAGE, kst(15, 15, 30), kst(19, 0, 0)),
)


def kakao_2022_incident() -> Incident:
    return Incident(
        id="kakao-2022-10-15",
        title="Pangyo data-center fire, 15 October 2022",
        timezone="Asia/Seoul",
        fault=Fault.PROVIDER,
        official_window=Window(kst(15, 15, 30), kst(20, 23, 0)),
        impacts=tuple(Impact(service=s, feature=f, severity=sev, window=Window(a, b))
                      for s, f, sev, a, b in WINDOWS_2022),
        notes=(
            "Modelled on the public timeline in DOMAIN.md.",
            "Unpublished times chosen by the scenario: messenger media back 16 Oct 22:00; "
            "taxi back 16 Oct 15:00; music streaming back 16 Oct 02:00; daum mail IMAP 20 Oct 23:00.",
        ),
    )


@dataclass(frozen=True, slots=True)
class Product:
    service: str
    plan: str
    fee: Decimal  # per month; 0 for free
    share: dict[str, float]  # probability per segment of holding it
    app_store_share: float = 0.0


PRODUCTS: tuple[Product, ...] = (
    Product("messenger", "free", Decimal(0), {"individual": 0.97, "small_business": 0.98,
                                             "enterprise": 1.0}),
    Product("kakao_mail", "free", Decimal(0), {"individual": 0.20, "small_business": 0.30,
                                              "enterprise": 0.2}),
    Product("daum_mail", "free", Decimal(0), {"individual": 0.10, "small_business": 0.15,
                                             "enterprise": 0.1}),
    Product("pay", "free", Decimal(0), {"individual": 0.30, "small_business": 0.70,
                                       "enterprise": 0.3}),
    Product("partner_login", "free", Decimal(0), {"individual": 0.05, "small_business": 0.02,
                                                 "enterprise": 0.0}),
    Product("taxi", "free", Decimal(0), {"individual": 0.15, "small_business": 0.05,
                                        "enterprise": 0.0}),
    Product("emoticon_plus", "plus", Decimal(3900), {"individual": 0.08, "small_business": 0.03,
                                                    "enterprise": 0.0}, app_store_share=0.6),
    Product("chat_backup", "backup", Decimal(1900), {"individual": 0.05, "small_business": 0.05,
                                                    "enterprise": 0.0}, app_store_share=0.5),
    Product("music", "unlimited", Decimal(10900), {"individual": 0.10, "small_business": 0.02,
                                                  "enterprise": 0.0}, app_store_share=0.4),
    Product("webtoon", "pass", Decimal(4900), {"individual": 0.06, "small_business": 0.0,
                                              "enterprise": 0.0}),
    Product("page", "pass", Decimal(5900), {"individual": 0.04, "small_business": 0.0,
                                           "enterprise": 0.0}),
    Product("taxi_pro", "pro", Decimal(39000), {"individual": 0.005, "small_business": 0.02,
                                               "enterprise": 0.0}),
    Product("driver_pro", "pro", Decimal(22000), {"individual": 0.003, "small_business": 0.01,
                                                 "enterprise": 0.0}),
    Product("biz_channel", "business", Decimal(50000), {"individual": 0.0, "small_business": 0.5,
                                                       "enterprise": 1.0}),
)
SEGMENTS = ("individual", "small_business", "enterprise")
SEGMENT_SHARES = (0.896, 0.102, 0.002)
SALES_WEEKS = tuple(date(2022, 9, 3) + timedelta(days=7 * i) for i in range(7))  # Sat 3 Sep .. 15 Oct
OUTAGE_START = kst(15, 15, 30).astimezone(UTC)

SUBSCRIPTION_SCHEMA = pa.schema([
    ("subscription_id", pa.string()),
    ("account_id", pa.string()),
    ("segment", pa.string()),
    ("service", pa.string()),
    ("plan", pa.string()),
    ("paid", pa.bool_()),
    ("fee", pa.decimal128(18, 2)),
    ("currency", pa.string()),
    ("billing_period", pa.string()),
    ("channel", pa.string()),
    ("start", pa.timestamp("us", tz="UTC")),
    ("end", pa.timestamp("us", tz="UTC")),
])
SALES_SCHEMA = pa.schema([
    ("account_id", pa.string()),
    ("week_start", pa.date32()),
    ("amount", pa.decimal128(18, 2)),
])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width,
                        padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), text, "")


def _chunk(rng: np.random.Generator, first: int, count: int,
           sub_offset: int) -> tuple[pa.Table, pa.Table, int]:
    numbers = np.arange(first, first + count, dtype=np.int64)
    segment_idx = rng.choice(3, size=count, p=SEGMENT_SHARES)
    seg_names = np.array(SEGMENTS, dtype=object)
    parts: list[dict[str, object]] = []
    for product in PRODUCTS:
        probs = np.array([product.share[s] for s in SEGMENTS])[segment_idx]
        holds = rng.random(count) < probs
        idx = np.nonzero(holds)[0]
        n = len(idx)
        if n == 0:
            continue
        us_day = 86_400_000_000
        outage_us = int(OUTAGE_START.timestamp() * 1_000_000)
        # Most subscriptions started months before; about 2 % start during the outage and about
        # 2 % end during it, so windows cross subscription boundaries.
        start = outage_us - rng.integers(1, 700, size=n) * us_day + rng.integers(0, us_day, size=n)
        late = rng.random(n) < 0.02
        start[late] = outage_us + rng.integers(0, 3 * us_day, size=late.sum())
        end = np.full(n, -1, dtype=np.int64)
        ending = rng.random(n) < 0.02
        end[ending] = outage_us + rng.integers(60_000_000, 2 * us_day, size=ending.sum())
        end = np.where((end != -1) & (end <= start), start + us_day, end)
        channel = np.where(rng.random(n) < product.app_store_share, "app_store", "web")
        if product.fee == 0:
            channel = np.full(n, "web")
        parts.append({
            "account": numbers[idx], "segment": seg_names[segment_idx[idx]], "service": product,
            "start": start, "end": end, "channel": channel,
        })
    tables = []
    for part in parts:
        product = part["service"]  # type: ignore[assignment]
        assert isinstance(product, Product)
        account = part["account"]
        assert isinstance(account, np.ndarray)
        n = len(account)
        end_arr = part["end"]
        assert isinstance(end_arr, np.ndarray)
        tables.append(pa.table({
            "account_num": pa.array(account, pa.int64()),
            "product": pa.array(np.full(n, PRODUCTS.index(product)), pa.int16()),
            "segment": pa.array(part["segment"], pa.string()),
            "service": pa.array(np.full(n, product.service), pa.string()),
            "plan": pa.array(np.full(n, product.plan), pa.string()),
            "paid": pa.array(np.full(n, product.fee > 0), pa.bool_()),
            "fee": pa.repeat(pa.scalar(product.fee, pa.decimal128(18, 2)), n),
            "currency": pa.array(np.full(n, "KRW"), pa.string()),
            "billing_period": pa.array(np.full(n, "month"), pa.string()),
            "channel": pa.array(part["channel"], pa.string()),
            "start": pa.array(part["start"], pa.timestamp("us", tz="UTC")),
            "end": pa.array(end_arr, pa.timestamp("us", tz="UTC"), mask=end_arr == -1),
        }))
    subs = pa.concat_tables(tables).sort_by([("account_num", "ascending"), ("product", "ascending")])
    total = subs.num_rows
    sub_ids = _ids("S", np.arange(sub_offset, sub_offset + total, dtype=np.int64), 10)
    subs = pa.table({
        "subscription_id": sub_ids,
        "account_id": _ids("A", subs.column("account_num").to_numpy(), 9),
        **{name: subs.column(name) for name in SUBSCRIPTION_SCHEMA.names[2:]},
    }, schema=SUBSCRIPTION_SCHEMA)

    small = numbers[segment_idx == 1]
    m = len(small)
    base = rng.lognormal(mean=14.0, sigma=0.6, size=m)  # ~1.2 million KRW a week
    weeks = []
    for i, week in enumerate(SALES_WEEKS):
        factor = rng.uniform(0.85, 1.15, size=m)
        if i == len(SALES_WEEKS) - 1:  # the outage week: most lost some sales
            factor = rng.uniform(0.70, 1.05, size=m)
        amounts = np.round(base * factor, -2).astype(np.int64)
        weeks.append(pa.table({
            "account_id": _ids("A", small, 9),
            "week_start": pa.array(np.full(m, np.datetime64(week, "D")), pa.date32()),
            "amount": pc.cast(pc.cast(pa.array(amounts, pa.int64()), pa.decimal128(21, 2)),
                              pa.decimal128(18, 2)),
        }, schema=SALES_SCHEMA))
    sales = pa.concat_tables(weeks).sort_by([("account_id", "ascending"),
                                             ("week_start", "ascending")])
    return subs, sales, total


# Contact points for notices (docs/notices.md): where people of 2022 had their mail, so that the
# operator's own domains (daum.net, hanmail.net, kakao.com) are well represented.
EMAIL_DOMAINS = ("naver.com", "daum.net", "hanmail.net", "kakao.com", "gmail.com")
EMAIL_SHARES = (0.35, 0.18, 0.12, 0.15, 0.20)


def contacts_of(subs: pa.Table, rng: np.random.Generator) -> pa.Table:
    """One row per account of ``subs``: e-mail (92 %), mobile phone (85 %), app push id (70 %),
    a webhook for enterprises, language (6 % English)."""
    pairs = subs.group_by(["account_id", "segment"]).aggregate([]).sort_by("account_id")
    ids = pairs.column("account_id")
    n = len(ids)
    numbers = pc.utf8_slice_codeunits(ids, 1).to_numpy(zero_copy_only=False).astype(np.int64)
    domain = np.array(EMAIL_DOMAINS, dtype=object)[rng.choice(len(EMAIL_DOMAINS), size=n,
                                                               p=EMAIL_SHARES)]
    email = np.array([f"user{k}@{d}" for k, d in zip(numbers, domain, strict=True)], dtype=object)
    phone = np.array([f"+8210{k % 100_000_000:08d}" for k in numbers], dtype=object)
    push = np.array([f"push-{k:09x}" for k in numbers], dtype=object)
    enterprise = pc.equal(pairs.column("segment"), "enterprise").to_numpy(zero_copy_only=False)
    hook = np.array([f"https://partner{k}.example.com/makegood" for k in numbers], dtype=object)
    return pa.table({
        "account_id": ids,
        "email": pa.array(email, pa.string(), mask=rng.random(n) >= 0.92),
        "phone": pa.array(phone, pa.string(), mask=rng.random(n) >= 0.85),
        "push_id": pa.array(push, pa.string(), mask=rng.random(n) >= 0.70),
        "webhook_url": pa.array(hook, pa.string(), mask=~enterprise),
        "language": pa.array(np.where(rng.random(n) < 0.06, "en", "ko"), pa.string()),
    })


def generate(
    out: Path, *, accounts: int, seed: int, chunk_accounts: int = 1_000_000
) -> Iterator[tuple[int, int]]:
    """Write ``out/{incident.toml, subscriptions/, sales/, contacts/}``; yields (accounts,
    subscriptions) done. Contacts draw from their own generator, so adding them changed nothing
    else.

    Each chunk uses its own generator derived from the seed, so the output does not depend on
    anything but the seed, the account count and the chunk size.
    """
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "subscriptions").mkdir(parents=True)
    (tmp / "sales").mkdir()
    (tmp / "contacts").mkdir()
    (tmp / "incident.toml").write_text(dump_incident(kakao_2022_incident()), encoding="utf-8")
    done = subs_done = 0
    part = 0
    while done < accounts:
        count = min(chunk_accounts, accounts - done)
        rng = np.random.default_rng([seed, part])
        subs, sales, n = _chunk(rng, done + 1, count, subs_done + 1)
        pq.write_table(subs, tmp / "subscriptions" / f"part-{part:05d}.parquet", compression="zstd")
        pq.write_table(sales, tmp / "sales" / f"part-{part:05d}.parquet", compression="zstd")
        contacts = contacts_of(subs, np.random.default_rng([seed, part, 7]))
        pq.write_table(contacts, tmp / "contacts" / f"part-{part:05d}.parquet",
                       compression="zstd")
        done += count
        subs_done += n
        part += 1
        yield done, subs_done
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
