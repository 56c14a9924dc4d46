"""Database fixtures: every storage and API test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``MAKEGOOD_TEST_POSTGRES_URL`` (default: the local server with trust
auth). Each test gets a fresh schema (a fresh file on SQLite), so tests run in parallel under
xdist. When ``CI`` is set and PostgreSQL cannot be reached the tests fail instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from makegood.adapters.db.engine import make_engine, upgrade

from .claims_data import INCIDENT, LEDGER, POLICY, SUBSCRIPTIONS, claim_body

KST = ZoneInfo("Asia/Seoul")
PG_URL = os.environ.get("MAKEGOOD_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_unreachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool,
                                  connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return str(exc).splitlines()[0]
    return None


_pg_problem: list[str | None] = []


def _require_postgres() -> None:
    if not _pg_problem:
        _pg_problem.append(_postgres_unreachable())
    problem = _pg_problem[0]
    if problem is None:
        return
    message = f"PostgreSQL at {PG_URL} is unreachable: {problem}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (a fresh SQLite file, a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
        yield url
        return
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url, pool_size=4)
    upgrade(engine)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------------------------------------
# The 2022 reference case as data: incident, policy, accounts, ledger; and the API around them.

ADMIN_PASSWORD = "correct horse battery"


class Clock:
    """The API's clock, set by the test (a claim's time decides intake and cure deadlines)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now = self.now + timedelta(**kwargs)


@dataclass
class Api:
    client: TestClient
    clock: Clock
    engine: Engine
    tokens: dict[str, str]

    def as_(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def add_staff(self, username: str, role: str) -> None:
        r = self.client.post("/staff/users", headers=self.as_("admin"),
                             json={"username": username, "password": ADMIN_PASSWORD, "role": role})
        assert r.status_code == 201, r.text
        self.login(username)

    def login(self, username: str) -> None:
        r = self.client.post("/staff/login", json={"username": username,
                                                   "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        self.tokens[username] = r.json()["token"]

    def submit(self, **changes: Any) -> Any:
        headers = changes.pop("headers", {})
        body = claim_body(**changes)
        return self.client.post("/claims", json=body, headers=headers)


@pytest.fixture
def api(db_engine: Engine, tmp_path: Path) -> Iterator[Api]:
    """The API on a migrated database, with the 2022 incident, policy, accounts and ledger loaded
    and an admin signed in; the clock stands at 20 Oct 2022 10:00 KST, inside the intake."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.tables import load_accounts, resolve
    from makegood.config import Settings
    from makegood.domain.staff import Role
    from makegood.entrypoints.api.app import create_app
    from makegood.services import staff

    (tmp_path / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    (tmp_path / "ledger.csv").write_text(LEDGER, encoding="utf-8")
    clock = Clock(datetime(2022, 10, 20, 1, 0, tzinfo=UTC))
    settings = Settings(database_url="unused", evidence_dir=tmp_path / "evidence",
                        secret_key_file=tmp_path / "secret.key", rate_limit_per_minute=1000,
                        evidence_max_bytes=64 * 1024, second_approval_above=Decimal(100000))
    now = clock()
    staff.add_user(uow=UnitOfWork(db_engine), username="admin", password=ADMIN_PASSWORD,
                   role=Role.ADMIN, actor=staff.SYSTEM, now=now)
    staff.put_policy(uow=UnitOfWork(db_engine), document=POLICY, actor=staff.SYSTEM, now=now)
    staff.put_incident(uow=UnitOfWork(db_engine), document=INCIDENT, policy_id="kakao-2022-claims",
                       ledger_path=str(tmp_path / "ledger.csv"),
                       intake_opens=datetime(2022, 10, 19, tzinfo=KST),
                       intake_closes=datetime(2022, 11, 7, tzinfo=KST),
                       actor=staff.SYSTEM, now=now)
    staff.import_accounts(uow=UnitOfWork(db_engine),
                          accounts=load_accounts(resolve(tmp_path / "subscriptions.csv")),
                          actor=staff.SYSTEM, now=now)
    app = create_app(settings, engine=db_engine, clock=clock)
    with TestClient(app) as client:
        r = client.post("/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 200, r.text
        yield Api(client, clock, db_engine, {"admin": r.json()["token"]})
