"""The web pages on a migrated SQLite database with the 2022 test incident, policy, accounts,
ledger, account contacts and staff users (admin, a reviewer and two supervisors)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from makegood.adapters.db.engine import make_engine, upgrade
from tests.backends.claims_data import INCIDENT, LEDGER, POLICY, SUBSCRIPTIONS

KST = ZoneInfo("Asia/Seoul")
PASSWORD = "correct horse battery"
STAFF = {"admin": "admin", "rev": "reviewer", "sup1": "supervisor", "sup2": "supervisor",
         "aud": "auditor"}
CONTACTS = [("acct-paid", "5678"), ("acct-free", "1234"), ("acct-shop", "4321")]
LEDGER_WITH_POLICY = LEDGER.replace("account_id,subscription_id,service,",
                                    "account_id,subscription_id,service,policy_id,") \
    .replace("acct-paid,s-1,music,", "acct-paid,s-1,music,kakao-2022-claims,")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def load_case(engine: Engine, root: Path, clock: Clock) -> None:
    """The 2022 test case, as ``makegood db load`` and ``makegood users add`` would store it."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.db.web_store import Contacts
    from makegood.adapters.tables import load_accounts, resolve
    from makegood.domain.staff import Role
    from makegood.services import staff

    (root / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    (root / "ledger.csv").write_text(LEDGER_WITH_POLICY, encoding="utf-8")
    now = clock()
    for name, role in STAFF.items():
        staff.add_user(uow=UnitOfWork(engine), username=name, password=PASSWORD, role=Role(role),
                       actor=staff.SYSTEM, now=now)
    staff.put_policy(uow=UnitOfWork(engine), document=POLICY, actor=staff.SYSTEM, now=now)
    staff.put_incident(uow=UnitOfWork(engine), document=INCIDENT, policy_id="kakao-2022-claims",
                       ledger_path=str(root / "ledger.csv"),
                       intake_opens=datetime(2022, 10, 19, tzinfo=KST),
                       intake_closes=datetime(2022, 11, 7, tzinfo=KST),
                       actor=staff.SYSTEM, now=now)
    staff.import_accounts(uow=UnitOfWork(engine),
                          accounts=load_accounts(resolve(root / "subscriptions.csv")),
                          actor=staff.SYSTEM, now=now)
    with UnitOfWork(engine) as uow:
        Contacts(uow.conn).put_many(CONTACTS)
        uow.commit()


def settings_for(root: Path, *, per_minute: int = 10_000) -> object:
    from makegood.config import Settings

    return Settings(database_url="unused", evidence_dir=root / "evidence",
                    secret_key_file=root / "secret.key", rate_limit_per_minute=per_minute,
                    evidence_max_bytes=64 * 1024, second_approval_above=Decimal(100000),
                    data_dir=root, runs_dir=root / "runs")


@dataclass
class Web:
    client: TestClient
    clock: Clock
    engine: Engine
    root: Path

    def csrf(self, path: str) -> str:
        """The CSRF token of the form on the page at ``path`` (and the session cookie)."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert found, f"no form on {path}"
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, page: str | None = None,
             files: dict[str, tuple[str, bytes, str]] | list[tuple[str, tuple[str, bytes, str]]]
             | None = None, follow: bool = False) -> object:
        token = self.csrf(page or path)
        return self.client.post(path, data={**data, "csrf_token": token}, files=files,
                                follow_redirects=follow)

    def login(self, username: str) -> None:
        r = self.post("/console/login", {"username": username, "password": PASSWORD})
        assert r.status_code == 303, r.text  # type: ignore[attr-defined]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    from makegood.entrypoints.api.app import create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}", pool_size=4)
    upgrade(engine)
    clock = Clock(datetime(2022, 10, 20, 1, 0, tzinfo=UTC))
    load_case(engine, tmp_path, clock)
    app = create_app(settings_for(tmp_path), engine=engine, clock=clock)  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield Web(client, clock, engine, tmp_path)
    engine.dispose()
