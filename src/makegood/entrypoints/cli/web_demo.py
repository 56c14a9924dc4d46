"""`makegood serve --demo` and `makegood db load --contacts`: the demo's incident, policies,
ledger, accounts and staff users in the embedded SQLite database, ready for the portal and the
console; and the second factor of "check my compensation" (the last four digits of the phone
number the operator holds) loaded from a CSV file.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from makegood.domain.errors import InputError

DEMO_DIR = Path("out/demo")
DEMO_USERS = (("demo-admin", "admin"), ("demo-reviewer", "reviewer"),
              ("demo-supervisor", "supervisor"))
# The demo's notices are judged as on 17 October 2022 at noon: the messenger is back, the
# operator's mail (kakao.com, daum.net, hanmail.net) and its business channel are still down.
DEMO_AS_OF = "2022-10-17T12:00:00+09:00"


def read_contacts(path: Path) -> list[tuple[str, str]]:
    """``account_id,phone`` rows (or ``phone_last4``): the last four digits of each phone."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            column = "phone_last4" if "phone_last4" in columns else "phone"
            if "account_id" not in columns or column not in columns:
                raise InputError("needs the columns account_id and phone (or phone_last4)",
                                 file=str(path), line=1)
            out = []
            for number, row in enumerate(reader, start=2):
                digits = "".join(c for c in (row.get(column) or "") if c.isdigit())
                account = (row.get("account_id") or "").strip()
                if not account:
                    raise InputError("is empty", file=str(path), line=number, field="account_id")
                if len(digits) < 4:
                    raise InputError("needs at least four digits", file=str(path), line=number,
                                     field=column)
                out.append((account, digits[-4:]))
            return out
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=str(path)) from None


def demo_digits(account_id: str, seed: int = 2022) -> str:
    """The demo's made-up phone digits of an account (the same for a seed every time)."""
    value = int.from_bytes(hashlib.sha256(f"{seed}:{account_id}".encode()).digest()[:4], "big")
    return f"{value % 10_000:04d}"


def _password(root: Path) -> str:
    path = root / "demo-staff-password.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")
    return secret


def prepare(root: Path = DEMO_DIR) -> dict[str, str]:
    """Run the demo if its ledger is missing, load it into the demo database, add the staff
    users; return the environment the server should run with."""
    from makegood import policies as shipped
    from makegood.adapters.db.engine import make_engine, upgrade
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.db.web_store import Contacts
    from makegood.adapters.tables import load_accounts, resolve
    from makegood.domain.errors import Conflict
    from makegood.domain.staff import Role
    from makegood.entrypoints.cli.compensate import demo
    from makegood.services import staff

    ledger = root / "ledger.parquet"
    if not ledger.is_file():
        typer.echo(f"no demo ledger at {ledger}: running the demo first", err=True)
        demo(accounts=100_000, seed=2022, out=root)
    env = {
        "MAKEGOOD_DATABASE_URL": os.environ.get("MAKEGOOD_DATABASE_URL")
        or f"sqlite:///{(root / 'makegood-demo.db').resolve()}",
        "MAKEGOOD_EVIDENCE_DIR": str((root / "evidence").resolve()),
        "MAKEGOOD_SECRET_KEY_FILE": str((root / "secret.key").resolve()),
        "MAKEGOOD_RUNS_DIR": str((root / "runs").resolve()),
    }
    env.update(_notify_env(root))
    os.environ.update(env)
    engine = make_engine(env["MAKEGOOD_DATABASE_URL"])
    now = datetime.now(UTC)
    system = staff.SYSTEM
    try:
        upgrade(engine)
        for policy_id in shipped.KAKAO_2022:
            staff.put_policy(uow=UnitOfWork(engine), actor=system, now=now,
                             document=shipped.path(policy_id).read_text(encoding="utf-8"))
        scenario = root / "scenario"
        # The 2022 intake closed long ago: the demo opens its own, from yesterday for 30 days.
        opens = (now - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        staff.put_incident(uow=UnitOfWork(engine), actor=system, now=now,
                           document=(scenario / "incident.toml").read_text(encoding="utf-8"),
                           policy_id="kakao-2022-small-business",
                           ledger_path=str(ledger.resolve()), intake_opens=opens,
                           intake_closes=opens + timedelta(days=31))
        with UnitOfWork(engine) as uow:
            loaded = Contacts(uow.conn).phone_last4(_first_account(ledger)) is not None
        if not loaded:
            typer.echo("importing the demo accounts (once)", err=True)
            accounts = load_accounts(resolve(scenario))
            staff.import_accounts(uow=UnitOfWork(engine), accounts=accounts, actor=system, now=now)
            with UnitOfWork(engine) as uow:
                Contacts(uow.conn).put_many([(a.id, demo_digits(a.id)) for a in accounts])
                uow.commit()
        password = _password(root)
        for username, role in DEMO_USERS:
            with contextlib.suppress(Conflict):  # added by an earlier start
                staff.add_user(uow=UnitOfWork(engine), username=username, password=password,
                               role=Role(role), actor=system, now=now)
    finally:
        engine.dispose()
    env["password"] = password
    return env


def _notify_env(root: Path) -> dict[str, str]:
    """The demo's notices: the shipped 2022 configuration copied beside the demo, so its file
    channels write ``notices-*.jsonl`` there; the server's worker delivers them as of
    :data:`DEMO_AS_OF`. Settings the operator gave win."""
    from makegood.adapters.notify.config import SHIPPED

    config = root / "notify.toml"
    if not config.is_file():
        config.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    return {"MAKEGOOD_NOTIFY_CONFIG": os.environ.get("MAKEGOOD_NOTIFY_CONFIG")
            or str(config.resolve()),
            "MAKEGOOD_NOTIFY_AS_OF": os.environ.get("MAKEGOOD_NOTIFY_AS_OF") or DEMO_AS_OF}


def _first_account(ledger: Path) -> str:
    import pyarrow.parquet as pq

    table = pq.read_table(ledger, columns=["account_id"]).slice(0, 1)
    return str(table.column(0)[0]) if table.num_rows else ""


def examples(ledger: Path, count: int = 3) -> list[tuple[str, str, str]]:
    """A few accounts with awards of different kinds, for the printed instructions."""
    import pyarrow.parquet as pq

    table = pq.read_table(ledger, columns=["account_id", "kind"])
    seen: dict[str, str] = {}
    for account, kind in zip(table.column(0).to_pylist(), table.column(1).to_pylist(),
                             strict=True):
        if kind not in seen and account not in seen.values():
            seen[kind] = account
        if len(seen) >= count:
            break
    return [(account, kind, demo_digits(account)) for kind, account in seen.items()]


def print_instructions(host: str, port: int, env: dict[str, str], root: Path = DEMO_DIR) -> None:
    base = f"http://{host}:{port}"
    typer.echo(f"\nportal:  {base}/portal\nconsole: {base}/console")
    typer.echo("staff users (password: " + env["password"] + "): "
               + ", ".join(f"{u} ({r})" for u, r in DEMO_USERS))
    typer.echo("check my compensation with, for example:")
    for account, kind, digits in examples(root / "ledger.parquet"):
        typer.echo(f"  account {account}, phone digits {digits} ({kind})")
    typer.echo(f"compensation runs read accounts under the working directory, such as "
               f"{root / 'scenario'}")
    typer.echo(f"notice campaigns (console, Notices) read contacts such as "
               f"{root / 'scenario' / 'contacts'}; delivered notices go to "
               f"{root}/notices-*.jsonl\n")
