"""Drills 1 and 2, crash under load and database loss: claims submitted at a steady rate by
clients that retry with their Idempotency-Key (as the phone app does), while

- ``--fault server``: every server process (the supervisor and its workers) is killed with
  SIGKILL at random moments and started again;
- ``--fault database`` (PostgreSQL): every connection of the server is terminated by
  ``pg_terminate_backend`` at random moments, while the server keeps running.

Afterwards, checked against the database: every acknowledged claim is stored exactly once, with
its audit entry and its idempotency record; no claim exists without its audit entry; no claim
exists that no client was told about twice (a retry got the first answer: the same claim id and
receipt token); under database loss the API answered 503 with Retry-After while it could not
commit, never a 2xx for an uncommitted claim, never a 500, and recovered without a restart.

    python drills/crash.py --backend postgres --fault server --kills 12
    python drills/crash.py --backend sqlite --fault server --kills 10
    python drills/crash.py --backend postgres --fault database --kills 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import MAKEGOOD, PG_URL, ROOT, free_port, report, run, wait_for_port, workdir

sys.path.insert(0, str(ROOT))
from tests.backends.claims_data import INCIDENT, LEDGER, POLICY, SUBSCRIPTIONS, claim_body


class Server:
    def __init__(self, env: dict[str, str], work: Path, port: int, workers: int) -> None:
        self.env, self.work, self.port, self.workers = env, work, port, workers
        self.process: subprocess.Popen[bytes] | None = None
        self.log = open(work / "server.log", "ab")  # noqa: SIM115

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MAKEGOOD, "serve", "--port", str(self.port), "--workers", str(self.workers),
             "--no-access-log", "--no-upgrade"],
            env={**os.environ, **self.env}, cwd=self.work, stdout=self.log, stderr=self.log,
            start_new_session=True)
        wait_for_port(self.port)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def prepare(backend: str, work: Path) -> tuple[str, str | None]:
    app = f"makegood-drill-{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url, schema = f"sqlite:///{work / 'claims.db'}", None
    else:
        schema = f"crash_{uuid.uuid4().hex[:12]}"
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = sa.make_url(PG_URL).update_query_dict({
            "options": f"-csearch_path={schema}", "application_name": app,
        }).render_as_string(hide_password=False)
    for name, text in (("incident.toml", INCIDENT), ("policy.toml", POLICY),
                       ("subscriptions.csv", SUBSCRIPTIONS), ("ledger.csv", LEDGER)):
        (work / name).write_text(text, encoding="utf-8")
    env = {"MAKEGOOD_DATABASE_URL": url}
    run([MAKEGOOD, "db", "upgrade"], env=env, cwd=work)
    run([MAKEGOOD, "db", "load", "--incident", work / "incident.toml", "--policy",
         work / "policy.toml", "--accounts", work / "subscriptions.csv", "--ledger",
         work / "ledger.csv", "--intake-opens", "2022-10-19T00:00:00+09:00",
         "--intake-closes", "2099-01-01T00:00:00+09:00"], env=env, cwd=work)
    return url, schema


async def client(base: str, keys: asyncio.Queue[str], outcome: dict[str, Any]) -> None:
    """Submit claims one after another; retry each with its key until a 201 (or a 4xx)."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while True:
            try:
                key = keys.get_nowait()
            except asyncio.QueueEmpty:
                return
            if time.monotonic() > outcome["deadline"]:
                return
            body = claim_body(description=f"drill claim {key}")
            delay = 0.05
            while True:
                outcome["attempts"] += 1
                try:
                    r = await http.post("/claims", json=body, headers={"Idempotency-Key": key})
                except httpx.HTTPError as exc:
                    outcome["network_errors"] += 1
                    outcome["error_kinds"][type(exc).__name__] += 1
                    await asyncio.sleep(delay + random.random() * delay)
                    delay = min(delay * 2, 2.0)
                    continue
                outcome["statuses"][r.status_code] += 1
                if r.status_code == 503:
                    if not r.headers.get("Retry-After"):
                        outcome["503_without_retry_after"] += 1
                    await asyncio.sleep(delay + random.random() * delay)
                    delay = min(delay * 2, 2.0)
                    continue
                if r.status_code == 201:
                    answer = r.json()
                    outcome["answers"].setdefault(key, set()).add(
                        (answer["claim_id"], answer["receipt_token"]))
                else:
                    outcome["refused"][key] = (r.status_code, r.text[:200])
                break


async def load(base: str, n: int, concurrency: int, outcome: dict[str, Any]) -> None:
    """``concurrency`` clients, each one claim at a time (retried until answered), until the
    deadline or ``n`` claims: the rate is what the server sustains under the faults."""
    keys: asyncio.Queue[str] = asyncio.Queue()
    for i in range(n):
        keys.put_nowait(f"drill-{i:07d}-{uuid.uuid4().hex[:6]}")
    await asyncio.gather(*(client(base, keys, outcome) for _ in range(concurrency)))


def terminate_backends(app_name: str) -> int:
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        ended = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :app"), {"app": app_name}).scalar_one()
    engine.dispose()
    return int(ended)


def faults(server: Server, fault: str, app_name: str, kills: int, uptime: float,
           record: dict[str, Any]) -> None:
    """``kills`` faults, each after a random 0.5x-1.5x ``uptime`` of service (a restart alone
    takes seconds here, so faults at purely random moments would mostly hit a starting server)."""
    rng = random.Random(7)
    for _ in range(kills):
        time.sleep(rng.uniform(0.5, 1.5) * uptime)
        if fault == "server":
            server.kill()
            record["kills"] += 1
            server.start()
        else:
            record["kills"] += 1
            record["connections_terminated"] += terminate_backends(app_name)


def verify(url: str, outcome: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        claims = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, description FROM claims"))}
        audited = Counter(r[0] for r in conn.execute(sa.text(
            "SELECT entity_id FROM audit_log WHERE entity = 'claim' AND action = 'claim.submit'")))
        keys = {r[0]: r[1] for r in conn.execute(sa.text(
            "SELECT key, claim_id FROM idempotency_keys"))}
    engine.dispose()
    by_key = Counter(d.removeprefix("drill claim ") for d in claims.values())
    for key, answers in outcome["answers"].items():
        if len(answers) != 1:
            failures.append(f"{key}: retries got different answers {answers}")
        claim_id = next(iter(answers))[0]
        if claim_id not in claims:
            failures.append(f"{key}: acknowledged claim {claim_id} is not stored")
        if by_key[key] != 1:
            failures.append(f"{key}: stored {by_key[key]} times")
        if keys.get(key) != claim_id:
            failures.append(f"{key}: its idempotency record points at {keys.get(key)}")
    for claim_id in claims:
        if audited[claim_id] != 1:
            failures.append(f"claim {claim_id} has {audited[claim_id]} submission audit entries")
    unacknowledged = set(by_key) - set(outcome["answers"])
    if unacknowledged:
        failures.append(f"{len(unacknowledged)} stored claims no client was told about")
    if outcome["statuses"].get(500):
        failures.append(f"{outcome['statuses'][500]} answers were 500")
    if outcome["503_without_retry_after"]:
        failures.append(f"{outcome['503_without_retry_after']} 503s without Retry-After")
    if outcome["refused"]:
        failures.append(f"{len(outcome['refused'])} claims refused: "
                        f"{list(outcome['refused'].values())[:3]}")
    outcome["stored"] = len(claims)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--fault", choices=("server", "database"), default="server")
    parser.add_argument("--uptime", type=float, default=4,
                        help="mean seconds of service between faults")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0,
                        help="default: 2 on PostgreSQL, 1 on SQLite")
    args = parser.parse_args()
    if args.fault == "database" and args.backend != "postgres":
        raise SystemExit("--fault database needs --backend postgres")
    name = f"crash-{args.backend}-{args.fault}"
    work = workdir(name)
    url, schema = prepare(args.backend, work)
    app_name = sa.make_url(url).query.get("application_name", "")
    workers = args.workers or (2 if args.backend == "postgres" else 1)
    env = {"MAKEGOOD_DATABASE_URL": url, "MAKEGOOD_RATE_LIMIT_PER_MINUTE": "0",
           "MAKEGOOD_SECRET_KEY_FILE": str(work / "secret.key"),
           "MAKEGOOD_EVIDENCE_DIR": str(work / "evidence"), "MAKEGOOD_INTAKE_CONNECTIONS": "4"}
    server = Server(env, work, free_port(), workers)
    server.start()
    outcome: dict[str, Any] = {"attempts": 0, "network_errors": 0, "statuses": Counter(),
                               "error_kinds": Counter(),
                               "answers": {}, "refused": {}, "503_without_retry_after": 0}
    record = {"kills": 0, "connections_terminated": 0}
    started = time.monotonic()
    outcome["deadline"] = float("inf")

    def inject() -> None:
        faults(server, args.fault, str(app_name), args.kills, args.uptime, record)
        time.sleep(args.uptime)  # the load goes on a while after the last fault
        outcome["deadline"] = time.monotonic()

    injector = threading.Thread(target=inject)
    injector.start()
    asyncio.run(load(f"http://127.0.0.1:{server.port}", args.claims, args.clients, outcome))
    injector.join()
    elapsed = time.monotonic() - started
    # After the faults: the server answers at once, without a restart.
    recovered = httpx.post(f"http://127.0.0.1:{server.port}/claims",
                           json=claim_body(description="drill claim after-faults"),
                           headers={"Idempotency-Key": "after-faults"}, timeout=10)
    outcome["answers"]["after-faults"] = {(recovered.json().get("claim_id"),
                                           recovered.json().get("receipt_token"))}
    server.stop()
    failures = verify(url, outcome)
    if recovered.status_code != 201:
        failures.append(f"after the faults the API answered {recovered.status_code}")
    if record["kills"] < args.kills:
        failures.append(f"only {record['kills']} faults injected (load ended early)")
    if schema is not None:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    report(name, {
        "backend": args.backend, "fault": args.fault, "workers": workers,
        "seconds": round(elapsed, 1), "faults_injected": record["kills"],
        "connections_terminated": record["connections_terminated"],
        "claims_acknowledged": len(outcome["answers"]), "claims_stored": outcome["stored"],
        "claims_lost": sum(1 for a in outcome["answers"].values()
                           if not a or next(iter(a))[0] is None),
        "requests": outcome["attempts"], "network_errors": outcome["network_errors"],
        "network_error_kinds": dict(outcome["error_kinds"]),
        "statuses": dict(sorted(outcome["statuses"].items())),
        "acknowledged_per_second": round(len(outcome["answers"]) / elapsed),
    }, failures)


if __name__ == "__main__":
    main()
