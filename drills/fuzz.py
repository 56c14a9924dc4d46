"""Drill 3, fuzzing: schema-driven requests over every endpoint of a running `makegood serve`,
from `/openapi.json` (Schemathesis, all its checks), as anonymous, claimant with the claim's own
token, claimant with another claim's token, reviewer, supervisor, auditor and admin; on SQLite
and on PostgreSQL. Then hand-made abuse: bodies over the limit, deep nesting, invalid UTF-8, NUL
bytes, RTL and zero-width characters, huge numbers, negative and NaN amounts, dates in year 0001
and 9999, repeated JSON keys.

Promises checked: zero 5xx; zero responses that break the documented schema (status, headers,
content type, body); every 4xx carries the documented error body.

Checks left out, and why: ``positive_data_acceptance`` (a body valid by the schema may still be
refused by a business rule: an incident that does not exist, intake closed), and the staff routes
``POST /staff/logout`` and ``POST /staff/password`` in the staff roles' runs (they end the very
session the run uses; the authorization matrix and the sign-in tests cover them), and
``ignored_auth`` in the claimant roles' runs (a wrong receipt token gets 404, not 401/403, by
design: the answer never tells whether a claim id exists; a missing token gets 401).

    python drills/fuzz.py                          # both backends, every role, >= 10,000 requests
    python drills/fuzz.py --backends sqlite --roles anonymous,claimant,admin --examples 3   # CI
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from _common import BIN, MAKEGOOD, PG_URL, ROOT, free_port, report, run, wait_for_port, workdir

sys.path.insert(0, str(ROOT))
from tests.backends.claims_data import (
    INCIDENT,
    LEDGER,
    POLICY,
    SUBSCRIPTIONS,
    claim_body,
)

PASSWORD = "a long enough password"
STAFF = ("reviewer", "supervisor", "auditor", "admin")
ROLES = ("anonymous", "claimant", "other", *STAFF)
ERROR_KEYS = {"code", "message", "detail", "errors"}


def database(backend: str, work: Path) -> tuple[str, str | None]:
    """A URL of an empty database, and the PostgreSQL schema to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{work / 'claims.db'}", None
    schema = f"fuzz_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return str(sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
               .render_as_string(hide_password=False)), schema


def drop(schema: str | None) -> None:
    if schema is None:
        return
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def load(env: dict[str, str], work: Path) -> None:
    for name, text in (("incident.toml", INCIDENT), ("policy.toml", POLICY),
                       ("subscriptions.csv", SUBSCRIPTIONS), ("ledger.csv", LEDGER)):
        (work / name).write_text(text, encoding="utf-8")
    run([MAKEGOOD, "db", "upgrade"], env=env, cwd=work)
    run([MAKEGOOD, "db", "load", "--incident", work / "incident.toml", "--policy",
         work / "policy.toml", "--accounts", work / "subscriptions.csv", "--ledger",
         work / "ledger.csv", "--intake-opens", "2022-10-19T00:00:00+09:00",
         "--intake-closes", "2099-01-01T00:00:00+09:00"], env=env, cwd=work)
    for role in STAFF:
        run([MAKEGOOD, "users", "add", role, "--role", role], env=env, cwd=work)


def credentials(base: str) -> dict[str, dict[str, str]]:
    """Headers per role, and the claim the claimant roles point at."""
    out: dict[str, dict[str, str]] = {"anonymous": {}}
    with httpx.Client(base_url=base, timeout=30) as client:
        own = client.post("/claims", json=claim_body()).json()
        other = client.post("/claims", json=claim_body(account_id="acct-paid", service="music",
                                                        category="paid_service")).json()
        out["claimant"] = {"X-Receipt-Token": own["receipt_token"], "claim": own["claim_id"]}
        out["other"] = {"X-Receipt-Token": other["receipt_token"], "claim": own["claim_id"]}
        for role in STAFF:
            token = client.post("/staff/login", json={"username": role, "password": PASSWORD})
            out[role] = {"Authorization": f"Bearer {token.json()['token']}",
                         "claim": own["claim_id"]}
    return out


def fuzz_role(base: str, role: str, headers: dict[str, str], examples: int, work: Path,
              seed: int) -> dict[str, Any]:
    claim = headers.pop("claim", None)
    config = work / f"schemathesis-{role}.toml"
    lines = ["[auth]", "auto-signup = false  # the credentials are the role's; no sign-up exists", ""]
    if claim:
        lines += ["[parameters]", f'"path.claim_id" = "{claim}"']
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = [str(BIN / "st"), "--config-file", str(config), "run", f"{base}/openapi.json",
            "--checks", "all", "--exclude-checks",
            "positive_data_acceptance" + (",ignored_auth" if role in ("claimant", "other") else ""),
            "--max-examples", str(examples), "--phases", "examples,fuzzing", "--workers", "2",
            "--seed", str(seed), "--no-color", "--request-timeout", "30"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    if role in STAFF:
        args += ["--exclude-path", "/staff/logout", "--exclude-path", "/staff/password"]
    result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=1800)
    text = result.stdout + result.stderr
    (work / f"schemathesis-{role}.log").write_text(text, encoding="utf-8")
    generated = re.search(r"(\d+) generated", text)
    failures = re.findall(r"^\s*[-❌]\s*(ST\d+ [^\n:]+?)(?::\s*\d+)?$", text, re.MULTILINE)
    # Errors inside the tool itself (a Hypothesis or Schemathesis exception while generating),
    # not answers of the API: counted and reported, and the run's requests still count.
    tool_errors = len(re.findall(r"^(?:Runtime Error|\s*\w+Error: )", text, re.MULTILINE))
    return {"role": role, "requests": int(generated.group(1)) if generated else 0,
            "exit": result.returncode, "failures": sorted(set(failures)),
            "tool_errors": tool_errors}


def abuse(base: str, headers: dict[str, str]) -> tuple[int, list[str]]:
    """Hand-made bad requests; each must get a 4xx with the error body (or a 2xx where the
    input is in fact acceptable), never a 5xx."""
    body = claim_body()
    raw = json.dumps(body)
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("POST", "/claims", b"{" + b'"a":' * 1 + b'"' + b"x" * (2 << 20) + b'"}', {}),
        ("POST", "/claims", b"[" * 100_000 + b"]" * 100_000, {}),
        ("POST", "/claims", b'{"name": "\xff\xfe\xfd"}', {}),
        ("POST", "/claims", raw.replace("김민수", "김\\u0000민수").encode(), {}),
        ("POST", "/claims", raw.replace("김민수", "\u202e\u200b\u200d").encode(), {}),
        ("POST", "/claims", raw.replace('"amount": "0"', '"amount": 1e999999').encode(), {}),
        ("POST", "/claims", raw.replace('"amount": "0"', '"amount": -1').encode(), {}),
        ("POST", "/claims", raw.replace('"amount": "0"', '"amount": NaN').encode(), {}),
        ("POST", "/claims", raw.replace('"amount": "0"', '"amount": "NaN"').encode(), {}),
        ("POST", "/claims", raw.replace("2022-10-15T16:00:00+09:00",
                                        "0001-01-01T00:00:00+09:00").encode(), {}),
        ("POST", "/claims", raw.replace("2022-10-15T20:00:00+09:00",
                                        "9999-12-31T23:59:59-09:00").encode(), {}),
        ("POST", "/claims", (raw[:-1] + ', "amount": "9"}').encode(), {}),
        ("POST", "/staff/login", b'{"username": "admin", "username": "x", "password": "p"}', {}),
        ("POST", "/staff/login", b"\x00\x00\x00", {}),
        ("GET", "/staff/claims?offset=9223372036854775808&amount_min=1e400", b"", headers),
        ("GET", "/staff/claims?limit=-1&amount_max=NaN", b"", headers),
        ("PUT", "/staff/policies", b'{"document": "' + b"[" * 50_000 + b'"}', headers),
        ("GET", "/claims/%00", b"", {}),
        ("GET", "/claims/" + "\u202e" * 50, b"", {}),
    ]
    failures: list[str] = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for method, path, content, extra in cases:
            r = client.request(method, path, content=content,
                               headers={"Content-Type": "application/json", **extra})
            label = f"{method} {path[:40]} {content[:30]!r}"
            if r.status_code >= 500:
                failures.append(f"{label}: {r.status_code}")
            elif r.status_code >= 400:
                try:
                    keys = set(r.json())
                except ValueError:
                    keys = set()
                if not keys >= ERROR_KEYS:
                    failures.append(f"{label}: {r.status_code} without the error body")
    return len(cases), failures


def drill(backend: str, roles: list[str], examples: int, seed: int) -> dict[str, Any]:
    work = workdir(f"fuzz-{backend}")
    url, schema = database(backend, work)
    env = {"MAKEGOOD_DATABASE_URL": url, "MAKEGOOD_PASSWORD": PASSWORD,
           "MAKEGOOD_RATE_LIMIT_PER_MINUTE": "0", "MAKEGOOD_EVIDENCE_DIR": str(work / "evidence"),
           "MAKEGOOD_SECRET_KEY_FILE": str(work / "secret.key")}
    server = None
    try:
        load(env, work)
        port = free_port()
        server = subprocess.Popen([MAKEGOOD, "serve", "--port", str(port), "--no-access-log"],
                                  env={**os.environ, **env}, cwd=work, stdout=subprocess.DEVNULL,
                                  stderr=open(work / "server.log", "w"),  # noqa: SIM115
                                  start_new_session=True)
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        creds = credentials(base)
        results = [fuzz_role(base, role, dict(creds[role]), examples, work, seed)
                   for role in roles]
        admin = {k: v for k, v in creds["admin"].items() if k != "claim"}
        sent, abuse_failures = abuse(base, admin)
        log = (work / "server.log").read_text(encoding="utf-8", errors="replace")
        return {"backend": backend, "runs": results, "abuse_requests": sent,
                "abuse_failures": abuse_failures,
                "server_tracebacks": log.count("Traceback")}
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        drop(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--examples", type=int, default=40, help="per operation and role")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    started = time.monotonic()
    outcomes = [drill(b, args.roles.split(","), args.examples, args.seed)
                for b in args.backends.split(",")]
    failures: list[str] = []
    total = 0
    for outcome in outcomes:
        total += outcome["abuse_requests"]
        failures += [f"{outcome['backend']} abuse: {f}" for f in outcome["abuse_failures"]]
        if outcome["server_tracebacks"]:
            failures.append(f"{outcome['backend']}: {outcome['server_tracebacks']} tracebacks "
                            "in the server log")
        for result in outcome["runs"]:
            total += result["requests"]
            if result["failures"] or (result["exit"] != 0 and not result["tool_errors"]):
                failures.append(f"{outcome['backend']} as {result['role']}: exit "
                                f"{result['exit']}, {result['failures'] or 'see the log'}")
    tool_errors = sum(r["tool_errors"] for o in outcomes for r in o["runs"])
    report("fuzz", {"requests": total, "tool_errors": tool_errors,
                    "seconds": round(time.monotonic() - started),
                    "by_backend_and_role": {o["backend"]: {r["role"]: r["requests"]
                                                           for r in o["runs"]}
                                            for o in outcomes}}, failures)


if __name__ == "__main__":
    main()
