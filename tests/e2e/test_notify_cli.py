"""Notices from the command line on the demo scenario: campaign, worker, report, with the 2022
blast radius visible; bad input and unknown campaigns give their exit codes; ``serve`` delivers
on a background thread when configured."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from makegood.adapters.scenario import generate

MAKEGOOD = str(Path(sys.executable).with_name("makegood"))


def run(cwd: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("MAKEGOOD_DATABASE_URL", None)
    return subprocess.run([MAKEGOOD, *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 400-account 2022 scenario with contacts, and its ledger (made once)."""
    root = tmp_path_factory.mktemp("demo")
    for _ in generate(root / "scenario", accounts=400, seed=7):
        pass
    shipped = Path(__file__).parents[2] / "policies"
    result = run(root, "compensate", "--incident", "scenario/incident.toml",
                 "--policy", str(shipped / "kakao-2022-paid.toml"),
                 "--policy", str(shipped / "kakao-2022-free-goodwill.toml"),
                 "--accounts", "scenario", "--out", "ledger.parquet")
    assert result.returncode == 0, result.stderr
    return root


def _copy(demo: Path, tmp_path: Path) -> None:
    for name in ("scenario", "ledger.parquet", "ledger.parquet.summary.json"):
        (tmp_path / name).symlink_to(demo / name)


def test_demo_campaign_runs_and_its_report_shows_the_blast_radius(demo: Path, tmp_path: Path
                                                                   ) -> None:
    _copy(demo, tmp_path)
    args = ("notify", "campaign", "awards", "--incident", "scenario/incident.toml",
            "--ledger", "ledger.parquet", "--contacts", "scenario/contacts")
    first = run(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    again = run(tmp_path, *args)
    assert " 0 notices enqueued (new)" in " ".join(again.stdout.split())
    import getpass

    import sqlalchemy as sa

    db = sa.create_engine(f"sqlite:///{tmp_path / 'makegood.db'}")
    with db.connect() as conn:  # who started and who resumed it, in the audit trail
        started = conn.execute(sa.text("SELECT actor, action FROM audit_log WHERE entity = "
                                       "'notice_campaign' ORDER BY id")).all()
    db.dispose()
    assert [tuple(r) for r in started] == [(f"cli:{getpass.getuser()}", "notices.campaign_started"),
                                           (f"cli:{getpass.getuser()}", "notices.campaign_resumed")]
    worker = run(tmp_path, "notify", "run", "--out", "sent",
                 "--as-of", "2022-10-17T12:00:00+09:00")
    assert worker.returncode == 0, worker.stderr
    report = json.loads(run(tmp_path, "notify", "report", "--json").stdout)
    reasons = {s["reason"] for s in report["skipped"]}
    assert "blast radius: biz_channel down" in reasons
    assert reasons & {"blast radius: daum_mail down", "blast radius: kakao_mail down"}
    assert report["by_status"]["delivered"] > 0
    mail = [json.loads(line) for line in (tmp_path / "sent" / "notices-email.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    assert not [m for m in mail if m["to"].endswith(("@daum.net", "@hanmail.net", "@kakao.com"))]
    text = run(tmp_path, "notify", "report").stdout
    assert "blast radius: biz_channel down" in text


def test_draft_reminders_from_the_command_line_once_each_with_the_resume_link(
        demo: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from makegood.adapters.db.crypto import Cipher, token_hash
    from makegood.adapters.db.engine import make_engine
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.db.schema import incidents
    from makegood.adapters.db.web_store import Drafts

    _copy(demo, tmp_path)
    env = {"MAKEGOOD_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
           "MAKEGOOD_PUBLIC_URL": "https://claims.example.com/"}
    loaded = run(tmp_path, "notify", "campaign", "awards", "--incident", "scenario/incident.toml",
                 "--ledger", "ledger.parquet", "--contacts", "scenario/contacts", env=env)
    assert loaded.returncode == 0, loaded.stderr  # the incident is in the database now
    cipher = Cipher.configured(None, tmp_path / "secret.key")
    engine = make_engine(f"sqlite:///{tmp_path / 'makegood.db'}")
    now = datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        incident_id = uow.conn.execute(sa.select(incidents.c.id)).scalar_one()
        Drafts(uow.conn).put(token_hash=token_hash("resume-tok-123"), incident_id=incident_id,
                             data=cipher.encrypt("{}"), now=now,
                             expires_at=now + timedelta(days=30),
                             contact=cipher.encrypt('{"email": "draft@example.com", '
                                                    '"language": "en"}'),
                             sealed=cipher.encrypt("resume-tok-123"))
        uow.commit()
    engine.dispose()
    args = ("notify", "campaign", "drafts", "--incident-id", incident_id)
    first = run(tmp_path, *args, env=env)
    assert first.returncode == 0, first.stderr
    assert "1 reminders enqueued (new)" in " ".join(first.stdout.split())
    again = run(tmp_path, *args, env=env)
    assert "0 reminders enqueued (new)" in " ".join(again.stdout.split())
    assert run(tmp_path, "notify", "run", "--out", "sent", env=env).returncode == 0
    mail = [json.loads(line) for line in (tmp_path / "sent" / "notices-email.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    [reminder] = [m for m in mail if m["to"] == "draft@example.com"]
    assert "https://claims.example.com/portal/drafts/resume-tok-123" in reminder["text"]
    assert reminder["short"].endswith("https://claims.example.com/portal/drafts/resume-tok-123")
    missing = run(tmp_path, "notify", "campaign", "drafts", "--incident-id", "nope", env=env)
    assert missing.returncode != 0
    assert "nope" in missing.stdout + missing.stderr


def test_contacts_file_that_is_missing_exits_2_naming_it(demo: Path, tmp_path: Path) -> None:
    _copy(demo, tmp_path)
    result = run(tmp_path, "notify", "campaign", "awards", "--incident",
                 "scenario/incident.toml", "--ledger", "ledger.parquet",
                 "--contacts", "nowhere.csv")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: nowhere.csv: the contacts file does not exist"


def test_report_of_an_unknown_campaign_exits_3(tmp_path: Path) -> None:
    result = run(tmp_path, "notify", "report", "--campaign", "nope")
    assert result.returncode == 3
    assert "no notice campaign 'nope'" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_delivers_the_outbox_when_a_notify_config_is_set(demo: Path, tmp_path: Path
                                                                ) -> None:
    _copy(demo, tmp_path)
    assert run(tmp_path, "notify", "campaign", "awards", "--incident", "scenario/incident.toml",
               "--ledger", "ledger.parquet", "--contacts", "scenario/contacts").returncode == 0
    config = tmp_path / "notify.toml"
    config.write_text('[routing]\ndefault = ["email", "sms"]\n'
                      '[channels.email]\nadapter = "file"\npath = "mail.jsonl"\n'
                      '[channels.sms]\nadapter = "file"\npath = "sms.jsonl"\n', encoding="utf-8")
    env = {**os.environ, "MAKEGOOD_NOTIFY_CONFIG": str(config)}
    env.pop("MAKEGOOD_DATABASE_URL", None)
    server = subprocess.Popen([MAKEGOOD, "serve", "--port", str(_free_port())], cwd=tmp_path,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            report = json.loads(run(tmp_path, "notify", "report", "--json").stdout)
            if not set(report["by_status"]) - {"delivered", "permanent_failure"}:
                break
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(10)
    # without blast radius (today) everyone with an e-mail or a phone is reached; the few with
    # only a push id or a webhook have no channel in this chain
    assert report["by_status"]["delivered"] > 0.9 * report["notices"]
    assert set(report["by_status"]) <= {"delivered", "permanent_failure"}
    assert (tmp_path / "mail.jsonl").exists()
