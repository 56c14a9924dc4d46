"""The payouts walkthrough of docs/payouts.md, as users run it: the demo's cash awards and claims
approved through the running API, then `makegood payouts ...` from prepare to the final
accounting (SQLite file in a clean directory)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from tests.backends.claims_data import claim_body
from typer.testing import CliRunner

from makegood.entrypoints.cli.main import app

MAKEGOOD = str(Path(sys.executable).with_name("makegood"))
PASSWORD = "a long enough password"
INCIDENT = "kakao-2022-10-15"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(cwd: Path, *args: str, ok: bool = True) -> Ran:
    """The command in a subprocess for the set-up (demo, db, users), in-process for the many
    payouts steps (the same Typer app, without paying the interpreter's start-up each time)."""
    env = {**os.environ, "MAKEGOOD_PASSWORD": PASSWORD,
           "MAKEGOOD_PAYOUT_NAME_REGISTER": str(cwd / "name-register.csv")}
    env.pop("MAKEGOOD_DATABASE_URL", None)
    if args[0] == "payouts":
        cwd_before = Path.cwd()
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(app, list(args), env=env)
        finally:
            os.chdir(cwd_before)
        ran = Ran(result.exit_code, result.stdout, result.stderr)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
    else:
        done = subprocess.run([MAKEGOOD, *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        ran = Ran(done.returncode, done.stdout, done.stderr)
    if ok:
        assert ran.returncode == 0, (args, ran.stdout, ran.stderr)
    return ran


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CLAIMS = [  # (account, amount, currency, how the payee is paid)
    ("A000000001", "45.00", "EUR", ["--method", "sepa", "--holder", "Anna Schmidt",
                                    "--iban", "DE89370400440532013000", "--bic", "COBADEFFXXX"]),
    ("A000000002", "120.00", "USD", ["--method", "nacha", "--holder", "Jane Doe",
                                     "--routing-number", "021000021",
                                     "--account-number", "000123456789"]),
]


def _approve_claims_through_the_api(cwd: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MAKEGOOD_DATABASE_URL"}
    server = subprocess.Popen([MAKEGOOD, "serve", "--port", str(port), "--no-access-log"],
                              cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token = httpx.post(f"{base}/staff/login", json={"username": "admin",
                                                        "password": PASSWORD}).json()["token"]
        for account, amount, currency, _ in CLAIMS:
            r = httpx.post(f"{base}/claims", json=claim_body(
                account_id=account, amount=amount, currency=currency,
                category="free_service_loss"))
            assert r.status_code == 201, r.text
            d = httpx.post(f"{base}/staff/claims/{r.json()['claim_id']}/decision",
                           headers={"Authorization": f"Bearer {token}"},
                           json={"action": "approve", "amount": amount, "note": "documented"})
            assert d.status_code == 200, d.text
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_the_payouts_walkthrough_from_awards_to_the_final_accounting(tmp_path: Path) -> None:
    cwd = tmp_path
    run(cwd, "demo", "--accounts", "400", "--out", "demo")
    run(cwd, "db", "upgrade")
    run(cwd, "db", "load", "--incident", "demo/scenario/incident.toml", "--policy",
        str(ROOT / "policies" / "kakao-2022-small-business.toml"), "--accounts", "demo/scenario",
        "--ledger", "demo/ledger.parquet")
    for user, role in (("admin", "admin"), ("kim", "supervisor"), ("lee", "supervisor")):
        run(cwd, "users", "add", user, "--role", role)
    _approve_claims_through_the_api(cwd)

    awards = run(cwd, "payouts", "awards", "--incident", INCIDENT, "--as", "admin")
    assert "added 2 approved claims" in awards.stdout
    run(cwd, "payouts", "demo-payees", "--incident", INCIDENT, "--as", "admin")
    run(cwd, "payouts", "payees", "import", "payees.csv", "--as", "admin")
    with (cwd / "name-register.csv").open("a", encoding="utf-8") as fh:  # the banks know them
        fh.write("DE89370400440532013000,Anna Schmidt\n021000021:000123456789,Jane Doe\n")
    for account, _, _, how in CLAIMS:
        run(cwd, "payouts", "payees", "set", account, "--as", "admin", *how)
    for amount, currency in (("3000000", "KRW"), ("100", "EUR"), ("500", "USD")):
        run(cwd, "payouts", "fund", "--incident", INCIDENT, "--amount", amount, "--currency",
            currency, "--as", "admin")

    batches = {}
    for method, currency in (("kr_bulk", "KRW"), ("sepa", "EUR"), ("nacha", "USD")):
        out = run(cwd, "payouts", "prepare", "--incident", INCIDENT, "--method", method,
                  "--currency", currency, "--as", "kim").stdout
        batch = out.split("batch ")[1].split(":")[0]
        batches[method] = batch
        run(cwd, "payouts", "review", batch, "--as", "kim")
        refused = run(cwd, "payouts", "release", batch, "--as", "kim", ok=False)
        assert refused.returncode == 5
        assert "four eyes" in refused.stderr
        run(cwd, "payouts", "release", batch, "--as", "lee")
        run(cwd, "payouts", "write", batch, "--as", "admin", "--out", "files")

    files = cwd / "files"
    sepa_file = files / f"{batches['sepa']}-sepa.xml"
    from makegood.adapters.payouts.sepa import validate

    validate(sepa_file.read_bytes())
    assert all(len(r) == 94 for r in (files / f"{batches['nacha']}-nacha.ach").read_text()
               .splitlines())
    kr_rows = list(csv.DictReader((files / f"{batches['kr_bulk']}-kr_bulk.csv")
                                  .open(encoding="utf-8-sig")))
    assert kr_rows
    first, second = kr_rows[0]["reference"], kr_rows[1]["reference"]

    # The bank: the SEPA transfer accepted; one Korean transfer rejected, one returned (AC04).
    kr = batches["kr_bulk"]
    run(cwd, "payouts", "simulate-bank", batches["sepa"], "--format", "pain002", "--as", "kim",
        "--out", "files/sepa-pain002.xml")
    run(cwd, "payouts", "simulate-bank", batches["sepa"], "--format", "camt054", "--as", "kim",
        "--out", "files/sepa-camt054.xml")
    run(cwd, "payouts", "simulate-bank", kr, "--format", "pain002", "--as", "kim",
        "--fail", f"{first}:AC01", "--out", "files/kr-pain002.xml")
    run(cwd, "payouts", "simulate-bank", kr, "--format", "camt054", "--as", "kim",
        "--fail", f"{second}:AC04", "--out", "files/kr-camt054.xml")
    run(cwd, "payouts", "simulate-bank", batches["nacha"], "--format", "csv", "--as", "kim",
        "--out", "files/ach-returns.csv")
    rec = run(cwd, "payouts", "reconcile", "files/sepa-pain002.xml", "files/sepa-camt054.xml",
              "files/kr-pain002.xml", "files/kr-camt054.xml", "files/ach-returns.csv",
              "--as", "kim").stdout
    assert "rejected 1" in rec
    assert "returned 1" in rec
    again = run(cwd, "payouts", "reconcile", "files/kr-camt054.xml", "--as", "kim", ok=False)
    assert again.returncode == 4

    # The reissue: held until the payees confirm new details, then once by the same method.
    held = run(cwd, "payouts", "prepare", "--incident", INCIDENT, "--method", "kr_bulk",
               "--currency", "KRW", "--as", "kim").stdout
    assert "left out: 2 (held until the payee confirms new details)" in held
    payees = {r["payee_id"]: r for r in csv.DictReader((cwd / "payees.csv").open())}
    for ref in (first, second):
        payee = next(r["bank_code"] for r in kr_rows if r["reference"] == ref)
        pid = next(p for p, r in payees.items() if r["bank_code"] == payee
                   and r["account_number"] == next(x["account_number"] for x in kr_rows
                                                   if x["reference"] == ref))
        with (cwd / "name-register.csv").open("a", encoding="utf-8") as fh:
            fh.write(f"090:3333{pid[-9:]},{payees[pid]['holder']}\n")
        run(cwd, "payouts", "payees", "set", pid, "--as", "admin", "--method", "kr_bulk",
            "--holder", payees[pid]["holder"], "--bank-code", "090",
            "--account-number", f"3333{pid[-9:]}")
    out = run(cwd, "payouts", "prepare", "--incident", INCIDENT, "--method", "kr_bulk",
              "--currency", "KRW", "--as", "kim").stdout
    reissue = out.split("batch ")[1].split(":")[0]
    assert "2 payments" in out
    run(cwd, "payouts", "review", reissue, "--as", "kim")
    run(cwd, "payouts", "release", reissue, "--as", "lee")
    run(cwd, "payouts", "write", reissue, "--as", "admin", "--out", "files")
    run(cwd, "payouts", "simulate-bank", reissue, "--format", "camt054", "--as", "kim",
        "--out", "files/reissue-camt054.xml")
    run(cwd, "payouts", "reconcile", "files/reissue-camt054.xml", "--as", "kim")

    report = run(cwd, "payouts", "report", "--incident", INCIDENT, "--as", "kim", "--out",
                 "files").stdout
    assert "accounting-kakao-2022-10-15.pdf" in report
    figures = json.loads((files / f"accounting-{INCIDENT}.json").read_text(encoding="utf-8"))
    assert figures["reissued"] == 2
    assert figures["returned"]["reasons"] == {"AC04": 1}
    assert figures["awards"]["paid_by_method"]["sepa"] == {"EUR": "45"}
    assert figures["awards"]["paid_by_method"]["nacha"] == {"USD": "120"}
    assert figures["claims"]["approved"] == 2
    db = sqlite3.connect(cwd / "makegood.db")
    try:
        cash = db.execute("SELECT SUM(CAST(amount AS INTEGER)) FROM payout_awards "
                          "WHERE unit = 'KRW' AND kind = 'cash'").fetchone()[0]
        paid = db.execute("SELECT -SUM(CAST(l.amount AS INTEGER)) FROM payout_lines l "
                          "WHERE l.account = 'fund' AND l.unit = 'KRW' "
                          "AND l.award_id IS NOT NULL").fetchone()[0]
        actions = {r[0] for r in db.execute("SELECT DISTINCT action FROM audit_log")}
        claim_awards_paid = db.execute(
            "SELECT COUNT(DISTINCT a.id) FROM payout_awards a JOIN payout_lines l "
            "ON l.award_id = a.id WHERE a.claim_id IS NOT NULL AND l.account = 'fund'").fetchone()[0]
        told = db.execute("SELECT COUNT(*) FROM notices WHERE kind = 'payout_sent'").fetchone()[0]
    finally:
        db.close()
    assert paid == cash  # every won awarded in cash was paid, once, after the reissue
    assert told == claim_awards_paid > 0  # each paid claimant is told, through the outbox
    assert figures["awards"]["paid_by_method"]["kr_bulk"] == {"KRW": str(cash)}
    assert {"payout.awards", "payee.set", "payout.top_up", "payout.prepare", "payout.review",
            "payout.release", "payout.decrypt", "payout.write", "payout.reconcile"} <= actions
    reader = PdfReader(str(files / f"accounting-{INCIDENT}.pdf"))
    text = "".join(p.extract_text() for p in reader.pages)
    assert 1 <= len(reader.pages) <= 4
    assert f"{cash:,}" in text
    assert "최종 정산 보고서" in text
