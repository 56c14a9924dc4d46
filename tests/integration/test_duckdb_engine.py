"""The DuckDB engine against the reference: the same ledger, row for row and byte for byte.

The data is made to sit on the edges: subscriptions that start or end inside a window (to the
microsecond), several subscriptions per account, zero and odd fees under every billing period,
rounding ties, thresholds exactly at the limit, an outage across a month end and across Korean
public holidays (3 and 10 October 2022), Korean service names in decomposed (NFD) form, and
every rule kind with rule, account and fund caps.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from makegood import policies as shipped
from makegood.adapters.batch.duckdb import DuckDBEngine
from makegood.adapters.calendars import HolidayCalendars
from makegood.adapters.ledger import write_table
from makegood.adapters.scenario import generate
from makegood.adapters.tables import AccountsSource, resolve
from makegood.domain.incident import Fault, Impact, Incident, Severity
from makegood.domain.incident_file import read_incident
from makegood.domain.policy import Policy, load_policy, read_policy
from makegood.domain.windows import Window
from makegood.services.compensation import ReferenceEngine, RunResult

KST = ZoneInfo("Asia/Seoul")
WEBTOON = "웹툰"


def kst(month: int, day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, second, micro, tzinfo=KST)


def incident(fault: Fault = Fault.PROVIDER) -> Incident:
    def impact(service: str, start: datetime, end: datetime, severity: Severity = Severity.OUTAGE,
               feature: str | None = None) -> Impact:
        return Impact(service=service, window=Window(start, end), severity=severity, feature=feature)

    return Incident(
        id="edge-2022", title="Edges", timezone="Asia/Seoul", fault=fault,
        official_window=Window(kst(9, 30, 20), kst(10, 4, 9, 30)),
        impacts=(
            impact("music", kst(10, 15, 15, 30), kst(10, 16, 2, 0)),
            impact("music", kst(10, 17, 10, 0), kst(10, 17, 12, 0, 30, 500_000)),
            impact("music", kst(10, 16, 2, 0), kst(10, 16, 18, 0), Severity.DEGRADED),
            impact("mail", kst(9, 30, 20, 0), kst(10, 4, 9, 0, 0, 250_000)),
            impact("mail", kst(10, 7, 0, 0), kst(10, 12, 13, 0)),
            impact("chat", kst(10, 15, 15, 30), kst(10, 16, 1, 31), feature="text"),
            impact("chat", kst(10, 15, 15, 30), kst(10, 16, 22, 0), feature="media"),
            impact(WEBTOON, kst(10, 15, 15, 30), kst(10, 15, 17, 30)),
            impact("pay", kst(10, 15, 15, 30), kst(10, 16, 8, 0)),
        ),
    )


ALL_KINDS = """
[policy]
id = "edge-all"
version = 1
name = "every kind"
currency = "KRW"
timezone = "Asia/Seoul"
[caps]
per_account = "12000"
[[rules]]
id = "a-ext"
kind = "fixed"
when = { services = ["music"], channels = ["web"], paid = true }
extension = "3d"
[[rules]]
id = "b-fee-time"
kind = "fixed"
when = { services = ["music", "mail"], channels = ["app_store"] }
fee_time = "72h"
fee_days = "calendar"
round = { step = "10", mode = "half_up" }
[[rules]]
id = "c-amount"
kind = "fixed"
when = { services = ["pay"] }
amount = "1500"
award = "cash"
cap = "1000"
[[rules]]
id = "d-3x"
kind = "extension_multiple"
when = { services = ["music", "웹툰"] }
multiplier = "2.5"
force_majeure_multiplier = "1"
trigger = { continuous_at_least = "2h" }
round = { unit = "hour", mode = "half_even" }
[[rules]]
id = "e-10x"
kind = "fee_multiple"
when = { services = ["music", "mail", "pay"], paid = true }
multiplier = "10"
trigger = { cumulative_more_than = "10h30min", continuous_at_least = "16h" }
measure = "continuous"
time_round = { unit = "minute", mode = "half_up" }
fee_days = "calendar"
round = { step = "1", mode = "half_up" }
award = "refund"
[[rules]]
id = "f-sla"
kind = "sla_tiers"
when = { services = ["mail", "music"], paid = true }
tiers = [ { below = "99.99", percent = "10" }, { below = "99.0", percent = "30" },
          { below = "95.0", percent = "100" } ]
max_percent = "50"
min_credit = "100"
round = { step = "0.01", mode = "half_even" }
[[rules]]
id = "g-ofcom"
kind = "per_day"
when = { services = ["mail"], paid = true }
grace_days = 2
grace = "working"
calendar = "KR"
steps = [ { from_day = 1, amount = "1034" } ]
[[rules]]
id = "h-tkg"
kind = "per_day"
when = { services = ["mail", "music"] }
grace_days = 1
grace = "calendar"
steps = [ { from_day = 1, amount = "500", fee_share = "0.10" },
          { from_day = 3, amount = "1000", fee_share = "0.205" } ]
round = { step = "5", mode = "half_up" }
award = "cash"
[[rules]]
id = "i-elapsed"
kind = "per_day"
when = { services = ["mail"], segments = ["enterprise"] }
grace_days = 2
steps = [ { from_day = 1, amount = "0", fee_share = "0.5" } ]
[[rules]]
id = "j-goodwill"
kind = "goodwill"
when = { services = ["chat"], features = ["text"] }
item = "이모티콘-3"
[[rules]]
id = "k-loss"
kind = "loss_brackets"
when = { segments = ["small_business"] }
source = "computed"
baseline = { from = 2022-09-03, to = 2022-10-08 }
outage_week = 2022-10-15
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
[[rules]]
id = "l-reported"
kind = "loss_brackets"
when = { segments = ["enterprise"], services = ["pay"] }
source = "reported"
brackets = [ { up_to = "1000000", amount = "100000" } ]
"""

FUND = """
[policy]
id = "edge-fund"
version = 1
name = "fund"
currency = "KRW"
windows = "official"
[caps]
fund = "1000000"
reserve = "0.15"
fund_round = { step = "10", mode = "down" }
[[rules]]
id = "share"
kind = "fixed"
when = { }
amount = "33333"
award = "cash"
[[rules]]
id = "fee-share"
kind = "fee_multiple"
when = { paid = true }
multiplier = "3"
fee_days = 30
award = "cash"
[[rules]]
id = "credit-not-scaled"
kind = "fixed"
when = { services = ["mail"] }
amount = "700"
"""

DEGRADED = """
[policy]
id = "edge-degraded"
version = 2
name = "degraded counts"
currency = "KRW"
severities = ["outage", "degraded"]
timezone = "Europe/London"
[[rules]]
id = "any"
kind = "extension_multiple"
when = { features = ["media"] }
multiplier = "1"
measure = "continuous"
round = { unit = "day", mode = "down" }
[[rules]]
id = "goodwill"
kind = "goodwill"
when = { paid = false }
item = "coupon"
quantity = "2"
"""

FIELDS = ["subscription_id", "account_id", "segment", "service", "plan", "paid", "fee", "currency",
          "billing_period", "channel", "start", "end", "reported_loss"]


def edge_instants() -> list[datetime]:
    inc = incident()
    out = [kst(9, 1, 0), kst(10, 1, 0), kst(10, 3, 0), kst(10, 16, 0), kst(10, 31, 23, 59)]
    for impact in inc.impacts:
        for t in (impact.window.start, impact.window.end):
            out += [t, t - timedelta(microseconds=1), t + timedelta(microseconds=1),
                    t + timedelta(hours=1, microseconds=7), t - timedelta(hours=7, seconds=1)]
    return out


def write_edge_data(root: Path, *, seed: int, count: int, fmt: str) -> AccountsSource:
    rng = random.Random(seed)
    instants = edge_instants()
    services = ["music", "mail", "chat", "pay", unicodedata.normalize("NFD", WEBTOON), "unknown"]
    fees = ["0", "3900", "10900", "1", "0.5", "39000", "4900.55", "12345.678", "72000"]
    rows = []
    losses: dict[str, str] = {}  # one reported loss per account, as the reference requires
    for i in range(count):
        account = f"A{rng.randrange(count // 3 + 1):05d}"
        loss = losses.setdefault(account, rng.choice(["999999", "1000001", "5000", "0"]))
        segment = ["individual", "small_business", "enterprise"][int(account[1:]) % 3]
        paid = rng.random() < 0.7
        start = rng.choice(instants)
        end = rng.choice([None, None, *instants])
        if end is not None and end <= start:
            end = None
        rows.append({
            "subscription_id": f"S{i:06d}", "account_id": account, "segment": segment,
            "service": rng.choice(services), "plan": "p", "paid": "true" if paid else "false",
            "fee": rng.choice(fees) if paid else "0", "currency": "KRW",
            "billing_period": rng.choice(["month", "month", "year", "week", "day"]),
            "channel": rng.choice(["web", "app_store", "other"]),
            "start": start.isoformat(), "end": end.isoformat() if end else "",
            "reported_loss": rng.choice(["", "", loss]),
        })
    sales = []
    for n in range(count // 3 + 1):
        account = f"A{n:05d}"
        if n % 3 != 1 or n % 7 == 0:
            continue
        for week in range(7):
            day = datetime(2022, 9, 3) + timedelta(days=7 * week)
            amount = 1_000_000 + rng.choice([0, 250_000, -300_000, -500_000, -500_001, 100])
            if week == 6:
                amount = 1_000_000 - rng.choice([0, 300_000, 500_000, 500_001, 700_000, 299_999])
            sales.append({"account_id": account, "week_start": day.date().isoformat(),
                          "amount": str(amount)})
    root.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        subs_path, sales_path = root / "subs.csv", root / "sales.csv"
        for path, data, names in ((subs_path, rows, FIELDS),
                                  (sales_path, sales, ["account_id", "week_start", "amount"])):
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=names)
                writer.writeheader()
                writer.writerows(data)
        return AccountsSource((subs_path,), (sales_path,))
    half = len(rows) // 2
    parts = []
    for j, chunk in enumerate((rows[:half], rows[half:])):
        table = pa.table({
            **{k: [r[k] for r in chunk] for k in FIELDS if k not in ("paid", "fee", "start", "end")},
            "paid": [r["paid"] == "true" for r in chunk],
            "fee": pa.array([Decimal(r["fee"]) for r in chunk], pa.decimal128(18, 3)),
            "start": pa.array([datetime.fromisoformat(r["start"]) for r in chunk],
                              pa.timestamp("us", tz="UTC")),
            "end": pa.array([datetime.fromisoformat(r["end"]) if r["end"] else None for r in chunk],
                            pa.timestamp("us", tz="UTC")),
        })
        path = root / f"part-{j}.parquet"
        pq.write_table(table, path)
        parts.append(path)
    sales_path = root / "sales.parquet"
    pq.write_table(pa.table({
        "account_id": [s["account_id"] for s in sales],
        "week_start": pa.array([datetime.fromisoformat(s["week_start"]).date() for s in sales]),
        "amount": pa.array([Decimal(s["amount"]) for s in sales], pa.decimal128(18, 2)),
    }), sales_path)
    return AccountsSource(tuple(parts), (sales_path,))


def both(policies: list[Policy], source: AccountsSource, inc: Incident) -> tuple[RunResult, RunResult]:
    kwargs = {"incident": inc, "policies": policies, "source": source,
              "calendars": HolidayCalendars()}
    return ReferenceEngine().run(**kwargs), DuckDBEngine().run(**kwargs)  # type: ignore[arg-type]


def assert_same(ref: RunResult, duck: RunResult) -> None:
    assert ref.ledger.num_rows > 0
    for i, (a, b) in enumerate(zip(ref.ledger.to_pylist(), duck.ledger.to_pylist(), strict=True)):
        assert a == b, f"row {i}"
    assert ref.ledger.equals(duck.ledger)
    assert (ref.accounts, ref.subscriptions, ref.accounts_affected, ref.fund_factors) == (
        duck.accounts, duck.subscriptions, duck.accounts_affected, duck.fund_factors)


@pytest.mark.parametrize(("seed", "fmt"), [(1, "csv"), (2, "parquet"), (3, "csv")])
def test_every_rule_kind_matches_the_reference_on_edge_data(tmp_path: Path, seed: int, fmt: str) -> None:
    source = write_edge_data(tmp_path, seed=seed, count=900, fmt=fmt)
    policies = [load_policy(ALL_KINDS), load_policy(FUND), load_policy(DEGRADED)]
    ref, duck = both(policies, source, incident())
    assert_same(ref, duck)
    codes = set(ref.ledger.column("code").to_pylist())
    for code in ("FIXED_EXTENSION", "FIXED_FEE_TIME", "FIXED_AMOUNT+CAP_RULE", "EXT_MULTIPLE",
                 "FEE_MULTIPLE", "SLA_TIER", "PER_DAY", "GOODWILL", "LOSS_BRACKET", "LOSS_REVIEW",
                 "FIXED_AMOUNT+FUND_SCALED"):
        assert any(c.startswith(code) for c in codes), code
    assert any("CAP_ACCOUNT" in c for c in codes)


def test_force_majeure_uses_its_own_multiplier(tmp_path: Path) -> None:
    source = write_edge_data(tmp_path, seed=4, count=300, fmt="csv")
    ref, duck = both([load_policy(ALL_KINDS)], source, incident(Fault.FORCE_MAJEURE))
    assert_same(ref, duck)


def test_ledger_files_are_byte_identical_to_the_reference(tmp_path: Path) -> None:
    source = write_edge_data(tmp_path / "data", seed=5, count=600, fmt="parquet")
    policies = [load_policy(ALL_KINDS), load_policy(FUND)]
    inc = incident()
    ref = ReferenceEngine().run(incident=inc, policies=policies, source=source,
                                calendars=HolidayCalendars())
    for suffix in ("parquet", "csv"):
        write_table(ref.ledger, tmp_path / f"ref.{suffix}")
        DuckDBEngine().run_to_file(incident=inc, policies=policies, source=source,
                                   calendars=HolidayCalendars(), out=tmp_path / f"duck.{suffix}")
        assert (tmp_path / f"ref.{suffix}").read_bytes() == (tmp_path / f"duck.{suffix}").read_bytes()


def test_streamed_summary_equals_the_summary_of_the_table(tmp_path: Path) -> None:
    source = write_edge_data(tmp_path / "data", seed=6, count=600, fmt="csv")
    policies = [load_policy(ALL_KINDS), load_policy(FUND)]
    inc = incident()
    ref = ReferenceEngine().run(incident=inc, policies=policies, source=source,
                                calendars=HolidayCalendars())
    summary = DuckDBEngine().run_to_file(incident=inc, policies=policies, source=source,
                                         calendars=HolidayCalendars(), out=tmp_path / "l.parquet")
    assert summary == ref.summary()


def test_shipped_policies_on_a_generated_scenario_match_the_reference(tmp_path: Path) -> None:
    for _ in generate(tmp_path / "s", accounts=1500, seed=11, chunk_accounts=700):
        pass
    policies = [read_policy(p) for p in shipped.shipped()]
    inc = read_incident(tmp_path / "s" / "incident.toml")
    ref, duck = both(policies, resolve(tmp_path / "s"), inc)
    assert_same(ref, duck)


def test_rerunning_gives_the_same_bytes(tmp_path: Path) -> None:
    for _ in generate(tmp_path / "s", accounts=800, seed=3):
        pass
    policies = [read_policy(shipped.path(p)) for p in shipped.KAKAO_2022]
    inc = read_incident(tmp_path / "s" / "incident.toml")
    for name in ("one", "two"):
        DuckDBEngine(threads=2).run_to_file(incident=inc, policies=policies,
                                            source=resolve(tmp_path / "s"),
                                            calendars=HolidayCalendars(),
                                            out=tmp_path / f"{name}.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def test_rows_in_any_order_give_the_same_ledger_bytes(tmp_path: Path) -> None:
    # Generated data comes in (account, subscription) order and is checked in one streamed
    # pass; shuffled, the same rows take the general checks and must give the same file.
    for _ in generate(tmp_path / "s", accounts=900, seed=5, chunk_accounts=400):
        pass
    policies = [read_policy(shipped.path(p)) for p in shipped.KAKAO_2022]
    inc = read_incident(tmp_path / "s" / "incident.toml")
    shuffled = tmp_path / "shuffled"
    (shuffled / "subscriptions").mkdir(parents=True)
    (shuffled / "sales").symlink_to(tmp_path / "s" / "sales")
    table = pa.concat_tables(pq.read_table(p) for p in
                             sorted((tmp_path / "s" / "subscriptions").glob("*.parquet")))
    order = list(range(table.num_rows))
    random.Random(1).shuffle(order)
    pq.write_table(table.take(order), shuffled / "subscriptions" / "part-0.parquet")
    for name, root in (("sorted", tmp_path / "s"), ("shuffled", shuffled)):
        DuckDBEngine().run_to_file(incident=inc, policies=policies, source=resolve(root),
                                   calendars=HolidayCalendars(), out=tmp_path / f"{name}.parquet")
    assert pq.read_table(tmp_path / "sorted.parquet").num_rows > 0
    assert (tmp_path / "sorted.parquet").read_bytes() == (tmp_path / "shuffled.parquet").read_bytes()


def test_an_account_split_between_the_halves_read_at_once_is_counted_and_picked_once(
        tmp_path: Path) -> None:
    # Parquet parts are checked as two halves on two connections at once; an account whose rows
    # straddle the cut must be picked once for its account-scoped rules and counted once.
    for _ in generate(tmp_path / "s", accounts=600, seed=8, chunk_accounts=600):
        pass
    table = pq.read_table(tmp_path / "s" / "subscriptions" / "part-00000.parquet")
    accounts = table.column("account_id").to_pylist()
    cut = table.num_rows // 2
    while accounts[cut - 1] != accounts[cut]:
        cut += 1
    straddling = accounts[cut]
    rows = [i for i, a in enumerate(accounts) if a == straddling]
    # Every row of that account on messenger, from before the outage: the goodwill rule (one
    # item per account, on its lowest subscription) matches on both sides of the cut.
    service = table.column("service").to_pylist()
    start = table.column("start").to_pylist()
    for i in rows:
        service[i] = "messenger"
        start[i] = datetime(2022, 1, 1, tzinfo=ZoneInfo("UTC"))
    table = table.set_column(table.schema.get_field_index("service"), "service",
                             pa.array(service, pa.string()))
    table = table.set_column(table.schema.get_field_index("start"), "start",
                             pa.array(start, table.schema.field("start").type))
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        (root / "subscriptions").mkdir(parents=True)
        (root / "sales").symlink_to(tmp_path / "s" / "sales")
    pq.write_table(table, one / "subscriptions" / "part-0.parquet")
    pq.write_table(table.slice(0, cut), two / "subscriptions" / "part-0.parquet")
    pq.write_table(table.slice(cut), two / "subscriptions" / "part-1.parquet")
    policies = [read_policy(shipped.path(p)) for p in shipped.KAKAO_2022]
    inc = read_incident(tmp_path / "s" / "incident.toml")
    summaries = {}
    for name, root in (("one", one), ("two", two)):
        summaries[name] = DuckDBEngine().run_to_file(
            incident=inc, policies=policies, source=resolve(root), calendars=HolidayCalendars(),
            out=tmp_path / f"{name}.parquet")
    reference = ReferenceEngine().run(incident=inc, policies=policies, source=resolve(two),
                                      calendars=HolidayCalendars())
    ledger = pq.read_table(tmp_path / "two.parquet")
    assert ledger.equals(reference.ledger)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()
    goodwill = [r for r in ledger.to_pylist()
                if r["account_id"] == straddling and r["policy_id"] == "kakao-2022-free-goodwill"]
    assert [r["subscription_id"] for r in goodwill] == [table.column("subscription_id")[rows[0]].as_py()]
    assert summaries["two"]["accounts_affected"] == summaries["one"]["accounts_affected"] \
        == reference.accounts_affected


def test_the_ledger_sorted_in_parts_is_the_ledger_sorted_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At national scale the awards are sorted in consecutive parts by position; the parts must
    # join into exactly the file one sort gives.
    from makegood.adapters.batch.duckdb import ledger

    for _ in generate(tmp_path / "s", accounts=700, seed=9, chunk_accounts=300):
        pass
    policies = [read_policy(shipped.path(p)) for p in shipped.KAKAO_2022]
    inc = read_incident(tmp_path / "s" / "incident.toml")
    summaries = {}
    for name, rows in (("once", 1 << 30), ("parts", 97)):
        monkeypatch.setattr(ledger, "SORT_ROWS", rows)
        summaries[name] = DuckDBEngine().run_to_file(
            incident=inc, policies=policies, source=resolve(tmp_path / "s"),
            calendars=HolidayCalendars(), out=tmp_path / f"{name}.parquet")
    assert summaries["once"]["awards"] > 5 * 97
    assert summaries["once"] == summaries["parts"]
    assert (tmp_path / "once.parquet").read_bytes() == (tmp_path / "parts.parquet").read_bytes()


def test_text_padded_with_any_whitespace_is_stripped_as_the_reference_strips_it(tmp_path: Path) -> None:
    # The reference strips every text value with str.strip(): tabs, line breaks and Unicode
    # spaces as well as spaces. Values that start or end with a space or a non-ASCII character
    # are stripped by DuckDB with the same set.
    source = write_edge_data(tmp_path / "data", seed=11, count=300, fmt="csv")
    path = source.subscriptions[0]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pads = [(" ", "\t "), ("\u3000", " "), (" \n", "\u00a0"), ("\t ", "\u3000\r")]
    for i, row in enumerate(rows):
        left, right = pads[i % len(pads)]
        for key in ("account_id", "segment", "service", "channel", "billing_period", "plan"):
            row[key] = f"{left}{row[key]}{right}"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    policies = [load_policy(ALL_KINDS), load_policy(FUND)]
    expected = ReferenceEngine().run(incident=incident(), policies=policies, source=source,
                                     calendars=HolidayCalendars())
    got = DuckDBEngine().run(incident=incident(), policies=policies, source=source,
                             calendars=HolidayCalendars())
    assert expected.ledger.num_rows > 0
    assert got.ledger.equals(expected.ledger)
    assert (got.accounts, got.accounts_affected) == (expected.accounts, expected.accounts_affected)


def test_the_summary_is_the_same_when_the_streamed_masks_run_out_of_bits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # More (service, template) pairs than a tally's mask holds: accounts are counted in SQL.
    from makegood.adapters.batch import streams

    monkeypatch.setattr(streams.LedgerTally, "BITS", 2)
    source = write_edge_data(tmp_path / "data", seed=6, count=600, fmt="parquet")
    policies = [load_policy(ALL_KINDS), load_policy(FUND)]
    inc = incident()
    ref = ReferenceEngine().run(incident=inc, policies=policies, source=source,
                                calendars=HolidayCalendars())
    summary = DuckDBEngine().run_to_file(incident=inc, policies=policies, source=source,
                                         calendars=HolidayCalendars(), out=tmp_path / "l.parquet")
    assert len({(r["service"], r["kind"]) for r in summary["by_service"]}) > 2
    assert summary == ref.summary()
