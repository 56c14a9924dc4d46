"""`makegood serve --demo`'s preparation on a fresh directory, and `db load --contacts`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from makegood.adapters.notify.config import load
from makegood.domain.errors import InputError
from makegood.entrypoints.cli.web_demo import demo_digits, examples, prepare, read_contacts

ENV = ("MAKEGOOD_DATABASE_URL", "MAKEGOOD_EVIDENCE_DIR", "MAKEGOOD_SECRET_KEY_FILE",
       "MAKEGOOD_RUNS_DIR", "MAKEGOOD_NOTIFY_CONFIG", "MAKEGOOD_NOTIFY_AS_OF")


def test_serve_demo_runs_the_demo_loads_it_and_answers_check_my_compensation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from makegood.entrypoints.api.app import create_app
    from makegood.entrypoints.cli import compensate

    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "out" / "demo"
    compensate.demo(accounts=300, seed=2022, out=root)  # what `make demo` leaves, smaller
    env = prepare(root)
    again = prepare(root)  # a second start changes nothing and keeps the password
    assert again["password"] == env["password"]
    # The server's worker delivers the demo's notices through file channels beside the demo,
    # judging the blast radius as on 17 October 2022 at noon.
    assert Path(env["MAKEGOOD_NOTIFY_CONFIG"]) == (root / "notify.toml").resolve()
    assert load(Path(env["MAKEGOOD_NOTIFY_CONFIG"])).base_dir == root.resolve()
    assert env["MAKEGOOD_NOTIFY_AS_OF"] == "2022-10-17T12:00:00+09:00"
    account, _kind, digits = examples(root / "ledger.parquet")[0]
    assert digits == demo_digits(account)
    with TestClient(create_app()) as client:
        page = client.get("/portal/check")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        r = client.post("/portal/check", data={
            "csrf_token": token.group(1), "account_id": account, "phone_last4": digits,
            "incident_id": "kakao-2022-10-15"})
        assert r.status_code == 200
        assert "class=\"awards\"" in r.text
        login = client.get("/console/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login.text)
        assert token
        r = client.post("/console/login", data={"csrf_token": token.group(1),
                                                "username": "demo-admin",
                                                "password": env["password"]},
                        follow_redirects=False)
        assert r.status_code == 303


def test_contacts_file_gives_the_last_four_digits(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("account_id,phone\nA1,010-1234-5678\nA2,+82 10 9876 5432\n", encoding="utf-8")
    assert read_contacts(path) == [("A1", "5678"), ("A2", "5432")]


def test_a_contacts_file_with_a_short_phone_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("account_id,phone\nA1,010-1234-5678\nA2,12\n", encoding="utf-8")
    with pytest.raises(InputError) as found:
        read_contacts(path)
    assert found.value.line == 3
    assert found.value.field == "phone"
