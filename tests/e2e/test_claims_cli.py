"""The claims service from the command line: db upgrade, db load, users add, serve (SQLite)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.backends.claims_data import INCIDENT, POLICY, SUBSCRIPTIONS, claim_body

MAKEGOOD = str(Path(sys.executable).with_name("makegood"))


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAKEGOOD_PASSWORD": "a long enough password"}
    env.pop("MAKEGOOD_DATABASE_URL", None)
    return subprocess.run([MAKEGOOD, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_db_upgrade_creates_the_sqlite_file_in_the_working_directory(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    from makegood.adapters.db.engine import latest_revision

    assert f"revision {latest_revision()}" in result.stdout
    assert (tmp_path / "makegood.db").exists()


def test_users_add_refuses_an_unknown_role_in_one_line(tmp_path: Path) -> None:
    run(tmp_path, "db", "upgrade")
    result = run(tmp_path, "users", "add", "kim", "--role", "boss")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: field '--role': 'boss' is not one of: reviewer, supervisor, auditor, admin"]


def test_db_load_with_a_naive_intake_time_names_the_option(tmp_path: Path) -> None:
    run(tmp_path, "db", "upgrade")
    (tmp_path / "incident.toml").write_text(INCIDENT, encoding="utf-8")
    result = run(tmp_path, "db", "load", "--incident", "incident.toml",
                 "--intake-closes", "2022-11-06T24:00")
    assert result.returncode == 2
    assert "--intake-closes" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_claims_from_a_clean_directory(tmp_path: Path) -> None:
    (tmp_path / "incident.toml").write_text(INCIDENT, encoding="utf-8")
    (tmp_path / "policy.toml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "subs.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    assert run(tmp_path, "db", "upgrade").returncode == 0
    loaded = run(tmp_path, "db", "load", "--incident", "incident.toml", "--policy", "policy.toml",
                 "--accounts", "subs.csv")
    assert loaded.returncode == 0, loaded.stderr
    assert "4 accounts imported" in loaded.stdout
    assert run(tmp_path, "users", "add", "kim", "--role", "admin").returncode == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MAKEGOOD_DATABASE_URL"}
    server = subprocess.Popen([MAKEGOOD, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        r = httpx.post(f"{base}/claims", json=claim_body())
        assert r.status_code == 201, r.text
        assert r.json()["verification"] == "verified"
        login = httpx.post(f"{base}/staff/login",
                           json={"username": "kim", "password": "a long enough password"})
        assert login.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
