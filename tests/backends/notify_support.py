"""Shared set-up for the notice tests: the 2022 incident in the database, ledgers, contacts,
and a notify configuration pointing at the loopback servers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine

from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.ledger import LedgerRow, write_rows
from makegood.adapters.notify.config import NotifyConfig, load
from makegood.adapters.scenario import kakao_2022_incident
from makegood.domain.incident import Incident
from makegood.domain.incident_file import dump_incident

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def put_2022_incident(engine: Engine) -> Incident:
    incident = kakao_2022_incident()
    with UnitOfWork(engine) as uow:
        uow.incidents.put(incident=incident, document=dump_incident(incident), policy_id=None,
                          ledger_path=None, intake_opens=None, intake_closes=None, now=NOW)
        uow.commit()
    return incident


def write_ledger(path: Path, accounts: list[str]) -> Path:
    rows = []
    for account in accounts:
        rows.append(LedgerRow(account, f"S-{account}-1", "individual", "music", "kakao-2022-paid",
                              "music-web", 37800, "extension", Decimal(3), "day", None,
                              "fixed"))
        rows.append(LedgerRow(account, f"S-{account}-2", "individual", "messenger",
                              "kakao-2022-free-goodwill", "goodwill", 36660, "item", Decimal(1),
                              "emoticon-pack-3", None, "goodwill"))
    write_rows(rows, path)
    return path


def write_contacts(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Rows of (account_id, email, phone, language)."""
    lines = ["account_id,email,phone,push_id,webhook_url,language"]
    lines += [f"{a},{e},{p},,,{lang}" for a, e, p, lang in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def notify_config(tmp: Path, *, smtp_port: int, http_url: str, chain: str = '"email", "sms"',
                  max_tries: int = 3, lease: float = 30, batch: int = 50,
                  breaker_threshold: int = 50, extra: str = "", extra_worker: str = ""
                  ) -> NotifyConfig:
    path = tmp / "notify.toml"
    path.write_text(f"""
[blast_radius.channels]
push = ["messenger"]
[blast_radius.email_domains]
"kakao.com" = ["kakao_mail"]
"daum.net" = ["daum_mail"]
"hanmail.net" = ["daum_mail"]
[routing]
default = [{chain}]
[retry]
base_seconds = 0.02
cap_seconds = 0.1
floor_seconds = 0.0
max_tries = {max_tries}
step_timeout_seconds = 60
[worker]
batch = {batch}
lease_seconds = {lease}
threads = 4
{extra_worker or "blocked_wait_seconds = 0"}
[channels.email]
adapter = "smtp"
host = "127.0.0.1"
port = {smtp_port}
timeout_seconds = 2
breaker_threshold = {breaker_threshold}
breaker_cool_down_seconds = 60
[channels.sms]
adapter = "http"
url = "{http_url}/sms"
timeout_seconds = 2
breaker_threshold = {breaker_threshold}
{extra}
""", encoding="utf-8")
    return load(path)
