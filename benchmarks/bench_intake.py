"""Benchmark: claim intake over HTTP against PostgreSQL, with raw driver inserts as the baseline.

The script, in one run:

1. creates a fresh PostgreSQL schema, migrates it (``makegood db upgrade``'s code path) and loads
   the 2022 incident, a claims policy and ``--accounts`` generated accounts (seeded);
2. starts the real server (``makegood serve --workers N``, uvicorn) on loopback;
3. runs a load generator in its own process: keep-alive HTTP/1.1 connections submitting claims on
   a fixed schedule (``--rate`` claims/s for ``--seconds``); latency is measured from each
   request's *scheduled* time, so a server that falls behind is charged for the queueing;
4. checks that every acknowledged claim (201 with a claim id) is in the database exactly once
   and that nothing unacknowledged was stored;
5. baseline: the same claim rows inserted through psycopg directly, one transaction per row
   (as the API commits each claim), on ``--workers`` connections and again on as many
   connections as the server's intake pools (``--workers`` x ``--pool``);
6. prints the figures and replaces the ``bench_intake`` section of ``docs/benchmarks.md``.

    .venv/bin/python benchmarks/bench_intake.py                        # 1,000 then 150 claims/s, 10 s each
    .venv/bin/python benchmarks/bench_intake.py --rate 600 --seconds 10

PostgreSQL comes from ``MAKEGOOD_BENCH_POSTGRES_URL`` (default: the test server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
SECTION = "bench_intake"
PG_URL = os.environ.get("MAKEGOOD_BENCH_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEED = 2022
SERVICES = ("messenger", "mail", "music", "payments")

INCIDENT = """
[incident]
id = "kakao-2022-10-15"
title = "Pangyo data-center fire"
timezone = "Asia/Seoul"
official_window = { start = "2022-10-15T15:30:00+09:00", end = "2022-10-20T23:00:00+09:00" }

[[windows]]
service = "messenger"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T01:31:00+09:00"

[[windows]]
service = "mail"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-18T09:00:00+09:00"

[[windows]]
service = "music"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T07:00:00+09:00"

[[windows]]
service = "payments"
start = "2022-10-15T15:30:00+09:00"
end = "2022-10-16T08:00:00+09:00"
"""

POLICY = """
[policy]
id = "kakao-2022-claims"
version = 1
name = "2022 damage reports"
currency = "KRW"
timezone = "Asia/Seoul"

[[rules]]
id = "small-business"
kind = "loss_brackets"
when = { segments = ["small_business"] }
source = "computed"
baseline = { from = "2022-09-03", to = "2022-10-08" }
outage_week = "2022-10-15"
brackets = [ { up_to = "300000", amount = "30000" }, { up_to = "500000", amount = "50000" } ]
"""


# ---------------------------------------------------------------------------------------------
# Data


def accounts_csv(path: Path, n: int) -> None:
    rng = random.Random(SEED)
    lines = ["subscription_id,account_id,segment,service,plan,paid,fee,currency,billing_period,"
             "channel,start,end"]
    for i in range(n):
        segment = "small_business" if rng.random() < 0.1 else "individual"
        service = rng.choice(SERVICES)
        paid = service == "music"
        fee = "10900" if paid else "0"
        lines.append(f"s-{i},acct-{i},{segment},{service},{'premium' if paid else 'free'},"
                     f"{str(paid).lower()},{fee},KRW,month,web,2021-01-01T00:00:00+09:00,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def claim_bodies(n: int, accounts: int) -> list[dict[str, object]]:
    rng = random.Random(SEED + 1)
    out = []
    for i in range(n):
        a = rng.randrange(accounts)
        small = rng.random() < 0.1
        body: dict[str, object] = {
            "incident_id": "kakao-2022-10-15",
            "claimant_kind": "small_business" if small else "individual",
            "name": f"청구인 {i}", "email": f"user{i}@example.com", "phone": "010-1234-5678",
            "account_id": f"acct-{a}", "service": rng.choice(SERVICES),
            "category": "business_sales" if small else "missed_communication",
            "start": "2022-10-15T16:00:00+09:00", "end": "2022-10-15T20:00:00+09:00",
            "description": "면접 안내 메일을 받지 못했습니다 / missed an interview invitation",
            "amount": str(rng.randrange(0, 600_000, 1000)), "currency": "KRW", "consent": True,
            "payout_account": f"110-{rng.randrange(100, 999)}-{rng.randrange(100000, 999999)}",
        }
        if small:
            body["sales"] = {"outage_week": "950000", "baseline": [
                {"week_start": "2022-09-24", "amount": str(rng.randrange(900_000, 1_600_000))}]}
        out.append(body)
    return out


# ---------------------------------------------------------------------------------------------
# Load generator (its own process): raw HTTP/1.1 over asyncio streams, paced by a schedule.


def _request(body: bytes, key: str) -> bytes:
    return (b"POST /claims HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Idempotency-Key: " + key.encode() + b"\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


class _Client(asyncio.Protocol):
    """One keep-alive connection: a request written whole, its response parsed as it arrives
    (a protocol rather than streams: less CPU taken from the server on the shared cores)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end + 2])  # with the last header line's CRLF
        at = head.find(b"content-length: ")  # uvicorn writes its headers in lower case
        found = re.search(rb"(?i)content-length: *(\d+)", head) if at < 0 else None
        length = int(head[at + 16:head.index(b"\r", at)] if at >= 0 else
                     found.group(1) if found else b"0")
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status, body = int(head[9:12]), bytes(self.buffer[end + 4:total])
        del self.buffer[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))


async def _load(port: int, requests: list[bytes], rate: float, connections: int
                ) -> list[tuple[float, int, bytes]]:
    results: list[tuple[float, int, bytes]] = [(0.0, 0, b"")] * len(requests)
    next_index = 0
    loop = asyncio.get_running_loop()
    start = time.perf_counter() + 0.2

    async def connect() -> tuple[asyncio.BaseTransport, _Client]:
        return await loop.create_connection(_Client, "127.0.0.1", port)

    async def worker() -> None:
        nonlocal next_index
        transport, client = await connect()
        while True:
            i = next_index
            if i >= len(requests):
                break
            next_index += 1
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client.waiter = loop.create_future()
            try:
                assert client.transport is not None
                client.transport.write(requests[i])
                status, body = await client.waiter
            except (OSError, ValueError):
                results[i] = (time.perf_counter() - due, 0, b"")
                transport.close()
                transport, client = await connect()
                continue
            results[i] = (time.perf_counter() - due, status, body)
        transport.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return results


def _load_process(port: int, requests: list[bytes], rate: float, connections: int,
                  out: mp.Queue) -> None:  # type: ignore[type-arg]
    # uvloop: the generator shares the 2 cores with the server and PostgreSQL; keep it lean.
    import uvloop

    started = time.perf_counter()
    results = uvloop.run(_load(port, requests, rate, connections))
    cpu = time.process_time()
    out.put((time.perf_counter() - started - 0.2, results, cpu))


# ---------------------------------------------------------------------------------------------
# Server and database


def pg_setting(name: str) -> str:
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        value = str(conn.execute(sa.text(f"SHOW {name}")).scalar_one())
    engine.dispose()
    return value


def pg_version() -> str:
    return pg_setting("server_version").split()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_schema(accounts: int, work: Path) -> tuple[str, str]:
    from makegood.adapters.db.engine import make_engine, upgrade
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.tables import load_accounts, resolve
    from makegood.services import staff

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    engine = make_engine(url_text)
    upgrade(engine)
    now = datetime.now(UTC)
    staff.put_policy(uow=UnitOfWork(engine), document=POLICY, actor=staff.SYSTEM, now=now)
    staff.put_incident(uow=UnitOfWork(engine), document=INCIDENT, policy_id="kakao-2022-claims",
                       ledger_path=None, intake_opens=None, intake_closes=None,
                       actor=staff.SYSTEM, now=now)
    accounts_csv(work / "subs.csv", accounts)
    staff.import_accounts(uow=UnitOfWork(engine), accounts=load_accounts(resolve(work / "subs.csv")),
                          actor=staff.SYSTEM, now=now)
    # Statistics and visibility maps for the loaded tables now, so that autovacuum does not do
    # it during a measured phase (as an operator would after `makegood db load`).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE accounts, subscriptions, incidents, policies"))
    engine.dispose()
    return schema, url_text


def drop_schema(schema: str) -> None:
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def start_server(url: str, port: int, workers: int, work: Path, pool: int
                 ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": url, "MAKEGOOD_RATE_LIMIT_PER_MINUTE": "0",
           "MAKEGOOD_INTAKE_CONNECTIONS": str(pool),
           "MAKEGOOD_EVIDENCE_DIR": str(work / "evidence"),
           "MAKEGOOD_SECRET_KEY_FILE": str(work / "secret.key")}
    makegood = str(Path(sys.executable).with_name("makegood"))
    proc = subprocess.Popen([makegood, "serve", "--port", str(port), "--workers", str(workers),
                             "--no-access-log", "--no-upgrade"], env=env, cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start: " + (proc.stderr.read() if proc.stderr else b"").decode())


def warm_up(port: int, bodies: list[dict[str, object]]) -> None:
    """A few hundred claims first, so that every worker has its connections and caches."""
    requests = [_request(json.dumps(b).encode(), f"warm-{i}") for i, b in enumerate(bodies)]
    asyncio.run(_load(port, requests, 200.0, 8))


# ---------------------------------------------------------------------------------------------
# Baseline: raw inserts through psycopg, one transaction per row


def raw_rows(n: int) -> list[dict[str, object]]:
    from cryptography.fernet import Fernet

    f = Fernet(Fernet.generate_key())
    now = datetime.now(UTC)
    rows = []
    for i, body in enumerate(claim_bodies(n, 1000)):
        rows.append({
            "id": uuid.uuid4().hex, "incident_id": "kakao-2022-10-15",
            "claimant_kind": body["claimant_kind"], "name": body["name"], "email": body["email"],
            "phone": body["phone"], "account_id": body["account_id"], "service": body["service"],
            "category": body["category"], "start": now, "end": now,
            "description": body["description"], "amount": body["amount"], "currency": "KRW",
            "sales": json.dumps(body.get("sales")), "consent": True,
            "payout_encrypted": f.encrypt(str(body["payout_account"]).encode()).decode(),
            "payout_masked": "********1234", "status": "submitted",
            "verification": json.dumps([]), "verification_result": "verified",
            "receipt_hash": uuid.uuid4().hex + uuid.uuid4().hex, "source": "api",
            "appealed": False, "created_at": now, "updated_at": now, "n": i,
        })
    return rows


RAW_SQL = """
INSERT INTO claims (id, incident_id, claimant_kind, name, email, phone, account_id, service,
  category, start, "end", description, amount, currency, sales, consent, payout_encrypted,
  payout_masked, status, verification, verification_result, receipt_hash, source, appealed,
  created_at, updated_at)
VALUES (%(id)s, %(incident_id)s, %(claimant_kind)s, %(name)s, %(email)s, %(phone)s,
  %(account_id)s, %(service)s, %(category)s, %(start)s, %(end)s, %(description)s, %(amount)s,
  %(currency)s, %(sales)s, %(consent)s, %(payout_encrypted)s, %(payout_masked)s, %(status)s,
  %(verification)s, %(verification_result)s, %(receipt_hash)s, %(source)s, %(appealed)s,
  %(created_at)s, %(updated_at)s)
"""


def raw_inserts(schema: str, rows: list[dict[str, object]], connections: int) -> float:
    import psycopg

    dsn = sa.make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    chunks = [rows[i::connections] for i in range(connections)]

    def run(chunk: list[dict[str, object]]) -> None:
        with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
            for row in chunk:
                with conn.transaction():
                    conn.execute(RAW_SQL, row)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(rows) / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_section(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    block = f"<!-- BEGIN {SECTION} -->\n{text.rstrip()}\n<!-- END {SECTION} -->"
    pattern = re.compile(rf"<!-- BEGIN {SECTION} -->.*?<!-- END {SECTION} -->", re.S)
    updated = pattern.sub(lambda _: block, current) if pattern.search(current) else \
        current.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_name(f".{doc.name}.{os.getpid()}.tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, doc)


PG_PORT = sa.make_url(PG_URL).port or 5432


def _cpu(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def server_processes(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL process, by pid."""
    return {p.pid: _cpu(p) for p in psutil.process_iter(["username"])
            if p.info["username"] == "postgres"}


def postgres_serving(server: list[psutil.Process]) -> list[int]:
    """The PostgreSQL processes that worked for this benchmark: the backends of the server's
    connections and the shared background processes (WAL writer, checkpointer, ...), not the
    backends of other jobs on the machine."""
    ports: set[int] = set()
    for proc in server:
        try:
            ports.update(c.laddr.port for c in proc.net_connections(kind="tcp")
                         if c.raddr and c.raddr.port == PG_PORT)
        except psutil.Error:
            continue
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT pid, client_port, backend_type FROM pg_stat_activity"
                                    " WHERE pid <> pg_backend_pid()")).all()
    engine.dispose()
    return [int(pid) for pid, port, kind in rows if kind != "client backend" or port in ports]


def autovacuum_runs(schema: str) -> int:
    """Autovacuum and autoanalyze runs so far on the benchmark's tables."""
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        count = conn.execute(sa.text(
            "SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) "
            "FROM pg_stat_user_tables WHERE schemaname = :s"), {"s": schema}).scalar_one()
    engine.dispose()
    return int(count)


def run_phase(port: int, rate: float, seconds: float, connections: int, accounts: int,
              phase: int, server_pid: int, schema: str) -> dict[str, object]:
    total = int(rate * seconds)
    bodies = claim_bodies(total, accounts)
    prefix = f"bench{phase}-"
    requests = [_request(json.dumps(b).encode(), f"{prefix}{i}") for i, b in enumerate(bodies)]
    queue: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    child = mp.get_context("fork").Process(
        target=_load_process, args=(port, requests, rate, connections, queue))
    vacuums = autovacuum_runs(schema)
    server = server_processes(server_pid)
    server_before = {p.pid: _cpu(p) for p in server}
    pg_before = postgres_cpu()
    cpu_before = psutil.cpu_times()
    child.start()
    try:  # a load generator that died must not hang the benchmark
        elapsed, results, load_cpu = queue.get(timeout=seconds * 20 + 120)
    except Exception:
        child.kill()
        raise SystemExit(f"the load generator failed (exit code {child.exitcode})") from None
    child.join()
    cpu_after = psutil.cpu_times()
    server_cpu = sum(_cpu(p) - server_before[p.pid] for p in server)
    pg_after = postgres_cpu()
    pg_cpu = sum(pg_after.get(pid, 0.0) - pg_before.get(pid, 0.0)
                 for pid in postgres_serving(server))
    acknowledged, latencies = [], []
    errors: dict[str, int] = {}
    for latency, status, body in results:
        if status == 201:
            acknowledged.append(json.loads(body)["claim_id"])
            latencies.append(latency)
        else:
            key = str(status or "connection")
            errors[key] = errors.get(key, 0) + 1
    busy = 1 - (cpu_after.idle - cpu_before.idle) / max(sum(cpu_after) - sum(cpu_before), 1e-9)
    return {"offered": rate, "total": total, "acknowledged": acknowledged, "prefix": prefix,
            "rate": len(acknowledged) / elapsed, "p50": percentile(latencies, 0.50) * 1000,
            "p99": percentile(latencies, 0.99) * 1000, "errors": errors, "busy": busy,
            "cpu_server": server_cpu * 1000 / total, "cpu_pg": pg_cpu * 1000 / total,
            "cpu_load": load_cpu * 1000 / total, "load": os.getloadavg()[0],
            "vacuums": autovacuum_runs(schema) - vacuums}


def check_stored(url: str, phases: list[dict[str, object]]) -> None:
    """Every acknowledged claim present exactly once; nothing stored that was not acknowledged."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id FROM claims WHERE source = 'api'")).scalars().all()
        for phase in phases:
            keys = conn.execute(sa.text("SELECT count(*) FROM idempotency_keys WHERE key LIKE :p"),
                                {"p": f"{phase['prefix']}%"}).scalar_one()
            acknowledged = phase["acknowledged"]
            assert isinstance(acknowledged, list)
            phase["unacknowledged"] = int(keys) - len(acknowledged)
    engine.dispose()
    counts: dict[str, int] = {}
    for claim_id in stored:
        counts[claim_id] = counts.get(claim_id, 0) + 1
    for phase in phases:
        acknowledged = phase["acknowledged"]
        assert isinstance(acknowledged, list)
        phase["missing"] = sum(1 for c in acknowledged if c not in counts)
        phase["twice"] = sum(1 for c in acknowledged if counts.get(c, 0) > 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, nargs="+", default=[1000.0, 150.0],
                        help="claims per second to offer, one phase per rate")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each phase lasts")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--connections", type=int, default=64, help="client connections")
    parser.add_argument("--accounts", type=int, default=50_000, help="generated accounts")
    parser.add_argument("--pool", type=int, default=2,
                        help="database connections per server worker for submissions")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the docs alone")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    schema, url = prepare_schema(args.accounts, work)
    port = free_port()
    server = start_server(url, port, args.workers, work, args.pool)
    phases = []
    try:
        warm_up(port, claim_bodies(400, args.accounts))
        for i, rate in enumerate(args.rate):
            phases.append(run_phase(port, rate, args.seconds, args.connections, args.accounts, i,
                                    server.pid, schema))
    finally:
        server.terminate()
        server.wait(timeout=30)
    check_stored(url, phases)
    largest = max(int(float(str(p["total"]))) for p in phases)
    rows = raw_rows(min(largest, 20_000))
    raw_rate = raw_inserts(schema, rows, args.workers)
    raw_concurrent = raw_inserts(schema, raw_rows(min(largest, 20_000)),
                                 args.workers * args.pool)
    drop_schema(schema)
    baseline = max(raw_rate, raw_concurrent)

    def row(label: str, fn: object) -> str:
        assert callable(fn)
        return f"| {label} | " + " | ".join(fn(p) for p in phases) + " |"

    table = "\n".join([
        "| measure | " + " | ".join(f"offered {p['offered']:,.0f}/s" for p in phases) + " |",
        "|---|" + "---|" * len(phases),
        row("claims acknowledged (201)",
            lambda p: f"{len(p['acknowledged']):,} of {p['total']:,}"),
        row("throughput", lambda p: f"**{p['rate']:,.0f} claims/s**"),
        row("latency p50 / p99", lambda p: f"{p['p50']:,.1f} ms / **{p['p99']:,.1f} ms**"),
        row("errors", lambda p: f"{sum(p['errors'].values()):,} {p['errors'] or ''}".strip()),
        row("acknowledged but missing in the database", lambda p: str(p["missing"])),
        row("acknowledged and stored twice", lambda p: str(p["twice"])),
        row("stored but not acknowledged", lambda p: str(p["unacknowledged"])),
        row(f"API rate / raw insert rate ({args.workers} / {args.workers * args.pool} "
            "connections)", lambda p: f"{p['rate'] / raw_rate:.2f} / {p['rate'] / raw_concurrent:.2f}"),
        row("CPU per claim: server", lambda p: f"{p['cpu_server']:.2f} ms"),
        row("CPU per claim: PostgreSQL", lambda p: f"{p['cpu_pg']:.2f} ms"),
        row("CPU per claim: load generator", lambda p: f"{p['cpu_load']:.2f} ms"),
        row("machine CPU busy", lambda p: f"{p['busy']:.0%}"),
        row("1-minute load average after the phase", lambda p: f"{p['load']:.1f}"),
        row("autovacuum/autoanalyze runs on its tables during the phase",
            lambda p: str(p["vacuums"])),
    ])
    best = max(phases, key=lambda p: float(str(p["rate"])))
    cpu_total = sum(float(str(best[k])) for k in ("cpu_server", "cpu_pg", "cpu_load"))
    def meets(p: dict[str, object]) -> bool:
        return (float(str(p["rate"])) >= 1000 and float(str(p["p99"])) < 100
                and float(str(p["rate"])) >= baseline / 4 and p["missing"] == 0
                and p["twice"] == 0 and not p["errors"])

    met = [p for p in phases if meets(p)]
    ok = bool(met) and all(p["missing"] == 0 and p["twice"] == 0 for p in phases)
    def judged(p: dict[str, object]) -> str:
        offered = float(str(p["offered"]))
        figures = (f"offered {offered:,.0f}/s: {float(str(p['rate'])):,.0f} claims/s, "
                   f"p99 {float(str(p['p99'])):,.1f} ms")
        if offered <= 1000:  # the rate is measured up to the last answer: just under offered
            return f"{figures} (latency only: not offered above the target rate)"
        return f"{figures}, {'met' if meets(p) else 'missed'}"

    verdict = ("met" if ok else "not met") + " (" + "; ".join(judged(p) for p in phases) + ")"
    command = (".venv/bin/python benchmarks/bench_intake.py --rate "
               + " ".join(f"{r:g}" for r in args.rate)
               + f" --seconds {args.seconds:g} --workers {args.workers} "
               f"--connections {args.connections} --accounts {args.accounts} --pool {args.pool}")
    shared = ("other jobs shared these 2 cores" if load_before >= 2 else
              "the machine was otherwise quiet")
    text = textwrap.dedent(f"""\
        ## Claim intake (`benchmarks/bench_intake.py`)

        Command: `{command}`

        Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},
        PostgreSQL {pg_version()} on loopback (`synchronous_commit` {pg_setting("synchronous_commit")},
        `fsync` {pg_setting("fsync")}); server `makegood serve --workers {args.workers}` (uvicorn with
        uvloop and httptools, no access log, {args.pool} intake connections per worker); load
        generator (asyncio on uvloop, pre-encoded HTTP/1.1 requests) in its own process on the
        same machine, {args.connections} keep-alive connections; each phase offers claims on a
        fixed schedule for {args.seconds:g} s. Latency counts from each claim's scheduled send
        time, so a server that falls behind is charged for the queue. Run on
        {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; the machine's 1-minute load average before the run
        was {load_before:.1f} ({shared}). CPU per claim is the CPU time of the server's processes,
        of the PostgreSQL processes serving them (their backends, the WAL writer and the other
        background processes; not other jobs' backends) and of the load generator during the
        phase, divided by the claims offered.

        Baseline in the same run: the same claim rows inserted through psycopg, one transaction
        per row: **{raw_rate:,.0f} rows/s** on {args.workers} connections (one per server worker)
        and **{raw_concurrent:,.0f} rows/s** on {args.workers * args.pool} connections (as many as
        the server's intake pools; concurrent commits share WAL flushes). The target's quarter is
        taken of the higher.

        TABLE

        Best throughput {float(str(best["rate"])):,.0f} claims/s. Targets (issue 5): >= 1,000
        claims/s with p99 < 100 ms, none lost, >= a quarter of the raw insert rate, in at
        least one phase: **{verdict}**.

        CPU budget: at the best phase the server, PostgreSQL and the load generator used
        {cpu_total:.2f} ms of CPU per claim together, so the 2 cores cannot carry more than
        about {2000 / cpu_total:,.0f} claims/s even at 100% busy; p99 under 100 ms needs headroom
        below that.

        The path measured: `POST /claims` is answered before FastAPI's middleware and router;
        on PostgreSQL each claim costs two round trips over asyncpg (one `SELECT` of the
        incident's intake window and the account's subscriptions, one `INSERT` statement with
        CTEs that commits the claim, its audit entry and its idempotency record together); the
        parsed incident and policy are cached per worker by row version (docs/claims.md,
        "Performance"). Before this path (commit 90fe600, SQLAlchemy Core in a worker thread,
        seven round trips) the same benchmark gave 239 claims/s with about 3.4 ms of server CPU
        per claim, on a machine loaded by other jobs. Where the CPU goes now (py-spy while
        developing): in the server about a third in the HTTP server and event loop (uvicorn,
        uvloop, socket calls) and a fifth in asyncpg, the rest in the submission's own work
        (validation and NFC, verification, two encryptions, JSON); in PostgreSQL mostly the
        `INSERT` of three rows into seven indexes and its durable commit.
        """).replace("TABLE", table)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
