"""Notices: enqueue a national-scale award campaign, then deliver over real local servers.

1. **Enqueue**: the award notices of a demo ledger of about 10 M subscriptions (the seeded
   2022 scenario, compensated by the DuckDB engine) into the outbox, on SQLite and on
   PostgreSQL (``makegood``'s campaign: DuckDB groups per account and joins the contacts; COPY
   on PostgreSQL, executemany on SQLite). Baseline in the same run: the same notices built in
   Python from the ledger rows and inserted with SQLAlchemy ``executemany`` (measured on the
   first ``--baseline-notices`` notices, its rate reported).
2. **Deliver**: ``--deliver`` notices by e-mail to an aiosmtpd server on loopback (chain
   e-mail then SMS; 4 % of mailboxes answer 451 once, 1 % refuse with 550) and as many by SMS to
   a local HTTP provider (chain SMS then e-mail; 4 % of first tries answer 503, 1 % of numbers
   are refused), by one worker process with the default 8 threads. Reported: notices per second,
   p99 time from first attempt to delivered, fallbacks taken, duplicates seen by the servers.
   Baseline in the same run: a plain ``smtplib`` loop over one connection and a plain
   ``httpx`` loop over one client sending the same number of messages, no database.

Usage: ``python benchmarks/bench_notify.py [--subscriptions 10000000] [--deliver 100000]``
(``make bench-notify``). Figures print as JSON; ``--write-docs`` puts them into
docs/benchmarks.md under "Notices".
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.notify_servers import HttpSink, SmtpSink  # noqa: E402

from makegood.adapters.db.engine import make_engine, upgrade  # noqa: E402
from makegood.adapters.db.notice_tables import notice_attempts, notices  # noqa: E402
from makegood.adapters.db.repository import UnitOfWork  # noqa: E402
from makegood.adapters.notify.config import load  # noqa: E402
from makegood.adapters.scenario import generate, kakao_2022_incident  # noqa: E402
from makegood.domain.incident_file import dump_incident  # noqa: E402
from makegood.domain.notices import Channel, provider_key  # noqa: E402
from makegood.services.notice_campaigns import award_campaign  # noqa: E402
from makegood.services.notices import Worker, close_senders, senders_for  # noqa: E402

PG_URL = os.environ.get("MAKEGOOD_BENCH_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 1, 5, tzinfo=UTC)


class Servers:
    """The SMTP server and the HTTP provider in a process of their own (as real servers are:
    they must not share the worker's interpreter lock), answering questions over a pipe."""

    def __init__(self, fail_rate: float = 0.0) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, fail_rate), daemon=True)
        self.process.start()
        self.smtp_port, self.http_url = self._conn.recv()

    def ask(self, what: str) -> Any:
        self._conn.send(what)
        return self._conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.process.join(10)


def _serve(conn: Any, fail_rate: float) -> None:
    smtp, http = SmtpSink(), HttpSink()
    http.behaviour.fail_rate = fail_rate
    conn.send((smtp.port, http.url))
    while True:
        what = conn.recv()
        if what == "stop":
            smtp.stop()
            http.stop()
            conn.send(None)
            return
        conn.send({"mail": [m["message_id"] for m in smtp.received], "sms": list(http.sent),
                   "http_requests": len(http.raw)})


def _pg_schema() -> tuple[str, sa.Engine]:
    schema = f"bench_notify_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), admin


def _drop(admin: sa.Engine, url: str) -> None:
    schema = sa.make_url(url).query["options"].split("=", 1)[1]  # type: ignore[union-attr]
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _put_incident(engine: sa.Engine) -> None:
    incident = kakao_2022_incident()
    with UnitOfWork(engine) as uow:
        uow.incidents.put(incident=incident, document=dump_incident(incident), policy_id=None,
                          ledger_path=None, intake_opens=None, intake_closes=None, now=NOW)
        uow.commit()


def make_ledger(work: Path, subscriptions: int) -> tuple[Path, Path, int]:
    """The seeded scenario (about 2.19 subscriptions per account) and its DuckDB ledger."""
    from makegood import policies as shipped_policies
    from makegood.adapters.batch.duckdb_engine import DuckDBEngine
    from makegood.adapters.calendars import HolidayCalendars
    from makegood.adapters.tables import resolve
    from makegood.domain.policy import read_policy

    accounts = max(1000, int(subscriptions / 2.19))
    scenario = work / "scenario"
    for _ in generate(scenario, accounts=accounts, seed=2022, chunk_accounts=500_000):
        pass
    subs = sum(pq.ParquetFile(p).metadata.num_rows
               for p in (scenario / "subscriptions").glob("*.parquet"))
    ledger = work / "ledger.parquet"
    policies = [read_policy(shipped_policies.path(p)) for p in shipped_policies.KAKAO_2022]
    DuckDBEngine().run_to_file(incident=kakao_2022_incident(), policies=policies,
                               source=resolve(scenario), calendars=HolidayCalendars(),
                               out=ledger, fmt=None)
    return ledger, scenario / "contacts", subs


def baseline_enqueue(engine: sa.Engine, ledger: Path, contacts: Path, limit: int) -> float:
    """Notices built in Python from ledger rows, inserted with executemany: notices/s."""
    started = time.perf_counter()
    table = pq.read_table(ledger).slice(0, limit * 2).to_pylist()
    contact_rows = {r["account_id"]: r for r in pq.read_table(contacts).to_pylist()}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in table:
        grouped.setdefault(row["account_id"], []).append(
            {k: str(v) if v is not None else None for k, v in row.items()})
    rows = []
    for account, awards in list(grouped.items())[:limit]:
        c = contact_rows.get(account) or {}
        rows.append({"key": f"baseline|{account}", "campaign_id": "baseline",
                     "incident_id": "kakao-2022-10-15", "account_id": account,
                     "kind": "award_granted", "language": c.get("language") or "ko",
                     "payload": json.dumps({"awards": awards}, ensure_ascii=False),
                     "email": c.get("email"), "phone": c.get("phone"),
                     "push_id": c.get("push_id"), "webhook_url": c.get("webhook_url"),
                     "status": "created", "step": 0, "tries": 0, "skipped": False,
                     "next_at": NOW, "created_at": NOW, "updated_at": NOW})
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(notices.insert(), rows[start:start + 10_000])
    return len(rows) / (time.perf_counter() - started)


def enqueue(url: str, ledger: Path, contacts: Path, baseline_notices: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    _put_incident(engine)
    result = award_campaign(engine=engine, incident=kakao_2022_incident(), ledger=ledger,
                            run_id="bench", contacts=contacts, now=NOW)
    again = award_campaign(engine=engine, incident=kakao_2022_incident(), ledger=ledger,
                           run_id="bench", contacts=contacts, now=NOW)
    rate = baseline_enqueue(engine, ledger, contacts, baseline_notices)
    engine.dispose()
    return {"accounts": result.accounts, "notices": result.enqueued,
            "seconds": round(result.seconds, 1),
            "notices_per_second": round(result.enqueued / result.seconds),
            "rerun_new": again.enqueued, "rerun_seconds": round(again.seconds, 1),
            "baseline_executemany_notices_per_second": round(rate),
            "baseline_notices": baseline_notices}


def _contacts_file(work: Path, n: int, *, refuse_every: int, flaky_every: int) -> Path:
    lines = ["account_id,email,phone,push_id,webhook_url,language"]
    for i in range(n):
        local = ("refuse" if i % refuse_every == 3 else "flaky" if i % flaky_every == 1
                 else "user") + str(i)
        phone = f"+82bad{i}" if i % refuse_every == 7 else f"+8210{i:08d}"
        lines.append(f"A{i:09d},{local}@example.com,{phone},,,ko")
    path = work / "contacts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _small_ledger(work: Path, n: int) -> Path:
    from decimal import Decimal

    from makegood.adapters.ledger import LedgerRow, write_rows

    path = work / "small-ledger.parquet"
    write_rows((LedgerRow(f"A{i:09d}", f"S{i:010d}", "individual", "music", "p", "music-web",
                          37800, "extension", Decimal(3), "day", None, "fixed")
                for i in range(n)), path)
    return path


def deliver(url: str, work: Path, n: int, chain: str, servers: Servers) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    _put_incident(engine)
    contacts = _contacts_file(work, n, refuse_every=100, flaky_every=25)
    award_campaign(engine=engine, incident=kakao_2022_incident(), ledger=_small_ledger(work, n),
                   run_id=f"deliver-{chain}", contacts=contacts, now=NOW)
    config_path = work / "notify.toml"
    config_path.write_text(f"""
[routing]
default = [{chain}]
[retry]
base_seconds = 0.05
cap_seconds = 1
floor_seconds = 0.01
max_tries = 4
[worker]
batch = 500
threads = 8
[channels.email]
adapter = "smtp"
port = {servers.smtp_port}
breaker_threshold = 1000
[channels.sms]
adapter = "http"
url = "{servers.http_url}/sms"
breaker_threshold = 1000
""", encoding="utf-8")
    config = load(config_path)
    senders = senders_for(config)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=config, senders=senders,
                    clock=lambda: datetime.now(UTC),
                    incident_clock=lambda: datetime(2022, 11, 1, tzinfo=UTC))
    started = time.perf_counter()
    try:
        while True:
            if worker.run_once():
                continue
            with UnitOfWork(engine) as uow:
                if uow.outbox.pending() == 0:
                    break
            time.sleep(0.02)
    finally:
        worker.close()
        close_senders(senders)
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        first = sa.select(notice_attempts.c.notice_id,
                          sa.func.min(notice_attempts.c.sending_at).label("first")
                          ).group_by(notice_attempts.c.notice_id).subquery()
        rows = conn.execute(sa.select(notices.c.key, notices.c.status, notices.c.step,
                                      notices.c.channel, notices.c.delivered_at, first.c.first)
                            .join(first, first.c.notice_id == notices.c.id)).all()
    engine.dispose()
    latencies = sorted((r.delivered_at - r.first).total_seconds() for r in rows
                       if r.delivered_at is not None)
    stats = servers.ask("stats")
    mail = stats["mail"]
    mail_ids, sms_keys = set(mail), set(stats["sms"])
    both = sum(1 for r in rows
               if f"<{provider_key(r.key, Channel.EMAIL)}@makegood.invalid>" in mail_ids
               and provider_key(r.key, Channel.SMS) in sms_keys)
    return {"notices": len(rows), "seconds": round(seconds, 1),
            "notices_per_second": round(len(rows) / seconds),
            "delivered": sum(1 for r in rows if r.status == "delivered"),
            "p99_seconds_first_attempt_to_delivered": round(
                latencies[int(len(latencies) * 0.99) - 1], 3) if latencies else None,
            "fallbacks_taken": sum(1 for r in rows if r.status == "delivered" and r.step > 0),
            "duplicate_emails": len(mail) - len(set(mail)),
            "recipients_reached_on_two_channels": both}


def spread(values: list[float], places: int) -> dict[str, Any]:
    """The median of several runs with their range (the machine is shared and noisy)."""
    def fmt(v: float) -> float | int:
        return round(v) if places == 0 else round(v, places)

    return {"median": fmt(statistics.median(values)), "min": fmt(min(values)),
            "max": fmt(max(values)), "runs": len(values)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several delivery runs: medians with spread for times and rates; counts of every run
    (delivered and fallbacks per run; duplicates summed over all runs: any is a defect)."""
    return {"notices": runs[0]["notices"],
            "seconds": spread([r["seconds"] for r in runs], 1),
            "notices_per_second": spread([r["notices_per_second"] for r in runs], 0),
            "p99_seconds_first_attempt_to_delivered": spread(
                [r["p99_seconds_first_attempt_to_delivered"] for r in runs
                 if r["p99_seconds_first_attempt_to_delivered"] is not None], 3),
            "delivered": [r["delivered"] for r in runs],
            "fallbacks_taken": [r["fallbacks_taken"] for r in runs],
            "duplicate_emails": sum(r["duplicate_emails"] for r in runs),
            "recipients_reached_on_two_channels": sum(r["recipients_reached_on_two_channels"]
                                                      for r in runs)}


def summarize_enqueue(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    return {"accounts": first["accounts"], "notices": first["notices"],
            "seconds": spread([r["seconds"] for r in runs], 1),
            "notices_per_second": spread([r["notices_per_second"] for r in runs], 0),
            "rerun_new": max(r["rerun_new"] for r in runs),
            "rerun_seconds": spread([r["rerun_seconds"] for r in runs], 1),
            "baseline_executemany_notices_per_second": spread(
                [r["baseline_executemany_notices_per_second"] for r in runs], 0),
            "baseline_notices": first["baseline_notices"]}


def baseline_smtp(port: int, n: int) -> float:
    client = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(n):
        mail = EmailMessage()
        mail["From"] = "bench@localhost"
        mail["To"] = f"base{i}@example.com"
        mail["Subject"] = "장애 보상 안내"
        mail.set_content("보상 안내")
        client.send_message(mail)
    client.quit()
    return n / (time.perf_counter() - started)


def baseline_http(url: str, n: int) -> float:
    with httpx.Client() as client:
        started = time.perf_counter()
        for i in range(n):
            client.post(f"{url}/sms", json={"to": f"+8210{i:08d}", "text": "보상 안내"},
                        headers={"Idempotency-Key": f"base-{i}"})
        return n / (time.perf_counter() - started)


ENQUEUE = "### Enqueue the award notices"
DELIVER = "### Deliver over real local servers"


def write_docs(figures: dict[str, Any]) -> None:
    """Replace, under "Notices" in docs/benchmarks.md, the parts this run measured (enqueue,
    delivery), keeping the other part's earlier figures."""
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    marker = "## Notices (`benchmarks/bench_notify.py`)"
    start = text.find(marker)
    end = text.find("\n## ", start + len(marker)) if start != -1 else -1
    old = text[start:end if end != -1 else len(text)] if start != -1 else ""
    parts = {}
    for head in (ENQUEUE, DELIVER):
        at = old.find(head)
        if at != -1:
            stop = old.find("\n### ", at + len(head))
            parts[head] = old[at:stop if stop != -1 else len(old)].rstrip() + "\n"
    header = f"Run on {figures['machine']}; `make bench-notify` runs all of it at the issue's sizes."
    if figures.get("enqueue"):
        parts[ENQUEUE] = ENQUEUE + "\n\n" + render_enqueue(figures)
    if figures.get("deliver"):
        parts[DELIVER] = DELIVER + "\n\n" + render_deliver(figures)
    section = "\n".join([marker, "", header, "", *(parts[h] + "" for h in (ENQUEUE, DELIVER)
                                                   if h in parts)])
    if start != -1:
        text = text[:start] + section + (text[end:] if end != -1 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def _ms(value: dict[str, Any]) -> str:
    """``12.3 [11.9 to 13.0]``: a median with its spread."""
    return f"{value['median']:,} [{value['min']:,} to {value['max']:,}]"


def _each(values: list[int]) -> str:
    return " / ".join(f"{v:,}" for v in values) + " (per run)"


def render_enqueue(f: dict[str, Any]) -> str:
    lines = [f"Measured by `python benchmarks/bench_notify.py {f['args']}`.", ""]
    for backend, e in f["enqueue"].items():
        lines.append(f"- {backend}: {e['notices']:,} award notices for {e['accounts']:,} "
                     f"accounts of a {f['subscriptions']:,}-subscription ledger in "
                     f"{_ms(e['seconds'])} s ({_ms(e['notices_per_second'])} notices/s); the "
                     f"same campaign run again added {e['rerun_new']} (every run) in "
                     f"{_ms(e['rerun_seconds'])} s. Baseline in the same run (notices built in "
                     f"Python, SQLAlchemy executemany, first {e['baseline_notices']:,} "
                     f"notices): {_ms(e['baseline_executemany_notices_per_second'])} "
                     f"notices/s.")
    lines += ["", "Times and rates are the median of the runs with their range in brackets "
              "(min to max). The target is under 60 s at 10 M subscriptions.", ""]
    return "\n".join(lines)


def render_deliver(f: dict[str, Any]) -> str:
    lines = [f"Measured by `python benchmarks/bench_notify.py {f['args']}`.", ""]
    for name, d in f["deliver"].items():
        lines.append(f"- {name}: {d['notices']:,} notices, {_ms(d['seconds'])} s "
                     f"({_ms(d['notices_per_second'])} notices/s); delivered "
                     f"{_each(d['delivered'])}; p99 first attempt to delivered "
                     f"{_ms(d['p99_seconds_first_attempt_to_delivered'])} s; fallbacks taken "
                     f"{_each(d['fallbacks_taken'])}; duplicate e-mails {d['duplicate_emails']} "
                     f"and recipients reached on two channels "
                     f"{d['recipients_reached_on_two_channels']} over all runs.")
    if "baseline" in f:
        b = f["baseline"]
        lines.append(f"- Baseline in the same run, no database, no failures, "
                     f"{b['messages']:,} messages per run: a plain smtplib loop over one "
                     f"connection {_ms(b['smtplib_per_second'])} e-mails/s; a plain httpx loop "
                     f"over one client {_ms(b['httpx_per_second'])} SMS/s.")
    lines += ["", "Times and rates are the median of the runs with their range in brackets "
              "(min to max); counts list every run. 5 % of deliveries fail on purpose: 4 % of "
              "first tries answer a temporary failure (SMTP 451, HTTP 503) and are retried, "
              "1 % of addresses or numbers are refused for good and fall back to the next "
              "channel. One worker process with 8 threads. The p99 is from a notice's first "
              "attempt to its delivery; retries wait behind the queue (docs/notices.md). "
              "Duplicates are counted by the servers: e-mails with the same Message-ID, SMS "
              "with the same idempotency key sent twice, recipients reached on both channels.",
              ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000_000)
    parser.add_argument("--deliver", type=int, default=100_000)
    parser.add_argument("--baseline-notices", type=int, default=200_000)
    parser.add_argument("--skip-enqueue", action="store_true")
    parser.add_argument("--skip-deliver", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--baseline-messages", type=int, default=20_000,
                        help="Messages per run of the plain smtplib / httpx baseline loops.")
    parser.add_argument("--runs", type=int, default=3,
                        help="Delivery runs per chain; the median and the spread are reported.")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    import platform

    figures: dict[str, Any] = {
        "args": " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "subscriptions": 0, "enqueue": {}, "deliver": {}}
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        work = Path(tmp)
        for backend in args.backends.split(","):
            if args.skip_enqueue:
                break
            if "ledger" not in figures:
                ledger, contacts, subs = make_ledger(work, args.subscriptions)
                figures["ledger"] = str(ledger)
                figures["subscriptions"] = subs
            if backend == "sqlite":
                figures["enqueue"]["SQLite"] = summarize_enqueue([
                    enqueue(f"sqlite:///{work / f'enqueue-{i}.db'}", ledger, contacts,
                            args.baseline_notices) for i in range(args.runs)])
            else:
                pg_runs: list[dict[str, Any]] = []
                for _ in range(args.runs):
                    url, admin = _pg_schema()
                    try:
                        pg_runs.append(enqueue(url, ledger, contacts, args.baseline_notices))
                    finally:
                        _drop(admin, url)
                figures["enqueue"]["PostgreSQL"] = summarize_enqueue(pg_runs)
            print(json.dumps(figures["enqueue"], indent=2), flush=True)
        if not args.skip_deliver:
            for chain, label in (('"email", "sms"', "e-mail first (SMTP)"),
                                 ('"sms", "email"', "SMS first (HTTP provider)")):
                runs: list[dict[str, Any]] = []
                for _ in range(args.runs):
                    servers = Servers(fail_rate=0.04)
                    sub = work / f"deliver-{len(figures['deliver'])}-{len(runs)}"
                    sub.mkdir()
                    url, admin = _pg_schema()
                    try:
                        runs.append(deliver(url, sub, args.deliver, chain, servers))
                    finally:
                        _drop(admin, url)
                        servers.stop()
                    print(json.dumps(runs[-1]), flush=True)
                figures["deliver"][f"{label}, PostgreSQL"] = summarize(runs)
                print(json.dumps(figures["deliver"], indent=2), flush=True)
            smtp_rates, http_rates = [], []
            for _ in range(args.runs):
                servers = Servers()
                try:
                    smtp_rates.append(baseline_smtp(servers.smtp_port, args.baseline_messages))
                    http_rates.append(baseline_http(servers.http_url, args.baseline_messages))
                finally:
                    servers.stop()
            figures["baseline"] = {"messages": args.baseline_messages,
                                   "smtplib_per_second": spread(smtp_rates, 0),
                                   "httpx_per_second": spread(http_rates, 0)}
    figures.pop("ledger", None)
    print(json.dumps(figures, indent=2))
    if args.write_docs:
        write_docs(figures)


if __name__ == "__main__":
    main()
