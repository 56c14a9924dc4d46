"""`makegood serve`, `makegood db ...`, `makegood users ...`: run and operate the claims service.

FastAPI, SQLAlchemy and uvicorn are imported inside the commands so the rest of the CLI starts
fast. Settings come from the environment (MAKEGOOD_DATABASE_URL, MAKEGOOD_EVIDENCE_DIR,
MAKEGOOD_SECRET_KEY, ...; see docs/operations.md), wired by :mod:`makegood.bootstrap`.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from makegood import bootstrap
from makegood.entrypoints.cli.errors import handles_errors

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

db_app = typer.Typer(no_args_is_help=True, help="The claims database: migrations and data.")
users_app = typer.Typer(no_args_is_help=True, help="Staff users of the claims service.")

ROLES = ("reviewer", "supervisor", "auditor", "admin")


def _engine() -> Engine:
    return bootstrap.database()


def _now() -> datetime:
    return bootstrap.utc_now()


@handles_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    upgrade: Annotated[bool, typer.Option(help="Run `db upgrade` first.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    demo: Annotated[bool, typer.Option(
        help="Load the demo (out/demo; run first if missing) and demo staff users.")] = False,
    screen: Annotated[bool | None, typer.Option(
        help="Screen each new claim after it is filed [default: on, or MAKEGOOD_SCREEN_AT_INTAKE]"
    )] = None,
) -> None:
    """Start the claims API with the portal (/portal) and the console (/console) (SQLite file by
    default; MAKEGOOD_DATABASE_URL for PostgreSQL)."""
    import uvicorn

    demo_env: dict[str, str] = {}
    if demo:
        from makegood.entrypoints.cli import web_demo

        demo_env = web_demo.prepare()
    settings = bootstrap.settings()
    if screen is None:
        screen = os.environ.get("MAKEGOOD_SCREEN_AT_INTAKE", "1") in ("1", "true", "yes")
    os.environ["MAKEGOOD_SCREEN_AT_INTAKE"] = "1" if screen else "0"  # read by each worker
    if upgrade:
        from makegood.adapters.db.engine import upgrade as run_upgrade

        engine = bootstrap.database(settings)
        run_upgrade(engine)
        engine.dispose()
    bootstrap.cipher(settings)  # creates the development key file once, before the workers
    if settings.notify_config is not None:  # deliver notices in this process too
        from makegood.entrypoints.cli.notify import start_background_worker

        start_background_worker(_engine(), settings.notify_config, as_of=settings.notify_as_of)
    typer.echo(f"makegood claims API on http://{host}:{port} (database: {_safe(settings.database_url)})",
               err=True)
    if demo:
        from makegood.entrypoints.cli import web_demo

        web_demo.print_instructions(host, port, demo_env)
    # X-Forwarded-For names the client only when a proxy we run put it there: trusted from the
    # addresses in MAKEGOOD_TRUSTED_PROXIES, from nobody by default (uvicorn trusts loopback, so
    # anyone on the machine could rotate it past the rate limit and into the audit trail).
    proxies = settings.trusted_proxies
    uvicorn.run("makegood.entrypoints.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, access_log=access_log, log_level="warning",
                proxy_headers=bool(proxies), forwarded_allow_ips=",".join(proxies) or "")


def _safe(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
@handles_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads") -> None:
    """Create or migrate the database to the latest schema."""
    from makegood.adapters.db.engine import current_revision, upgrade

    engine = _engine()
    try:
        upgrade(engine, revision)
        typer.echo(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("backup")
@handles_errors
def db_backup(out: Annotated[Path, typer.Argument(help="A new directory for the backup.")]) -> None:
    """Back up the database and the evidence files (a consistent snapshot, server running)."""
    from makegood.adapters.db.backup import backup

    settings = bootstrap.settings()
    engine = _engine()
    manifest = backup(engine, settings.database_url, settings.evidence_dir, out)
    engine.dispose()
    _print_check(manifest)
    typer.echo(f"backup written to {out}")


@db_app.command("restore")
@handles_errors
def db_restore(source: Annotated[Path, typer.Argument(help="A backup directory.")]) -> None:
    """Restore a backup into the empty database of MAKEGOOD_DATABASE_URL, then check it."""
    from makegood.adapters.db.backup import check, restore

    settings = bootstrap.settings()
    expected = restore(source, settings.database_url, settings.evidence_dir)
    engine = _engine()
    found = check(engine, settings.evidence_dir)
    engine.dispose()
    _print_check(found)
    differs = [k for k in ("tables", "audit_chain", "evidence_files") if found[k] != expected[k]]
    if differs or found["problems"]:
        typer.echo(f"error: the restored database differs from the backup in {differs}", err=True)
        raise typer.Exit(4)
    typer.echo("restored; row counts, audit chain and evidence hashes match the backup")


@db_app.command("check")
@handles_errors
def db_check() -> None:
    """Integrity: row counts, the audit chain, claims without audit entries, evidence hashes."""
    from makegood.adapters.db.backup import check

    engine = _engine()
    found = check(engine, bootstrap.settings().evidence_dir)
    engine.dispose()
    _print_check(found)
    if found["problems"]:
        raise typer.Exit(4)


def _print_check(found: dict[str, object]) -> None:
    for table, count in found["tables"].items():  # type: ignore[attr-defined]
        typer.echo(f"  {table}: {count:,} rows")
    typer.echo(f"  audit chain: {found['audit_chain']}")
    typer.echo(f"  evidence files checked: {found['evidence_files']:,}")
    for problem in found["problems"]:  # type: ignore[attr-defined]
        typer.echo(f"  PROBLEM: {problem}")


@db_app.command("load")
@handles_errors
def db_load(
    incident: Annotated[Path, typer.Option(help="The incident TOML file.")],
    policy: Annotated[Path | None, typer.Option(help="The policy TOML for its claims.")] = None,
    accounts: Annotated[Path | None, typer.Option(help="Subscriptions table (file, dir, glob).")] = None,
    sales: Annotated[Path | None, typer.Option(help="Sales table.")] = None,
    ledger: Annotated[Path | None, typer.Option(help="The automatic-compensation ledger.")] = None,
    intake_opens: Annotated[str | None, typer.Option(help="ISO 8601 with offset.")] = None,
    intake_closes: Annotated[str | None, typer.Option(help="ISO 8601 with offset.")] = None,
    contacts: Annotated[Path | None, typer.Option(
        help="CSV of account_id,phone: the second factor of 'check my compensation'.")] = None,
) -> None:
    """Store an incident (with its policy, accounts, ledger and intake window) for claims."""
    from makegood.adapters.tables import load_accounts, resolve
    from makegood.domain.errors import InputError
    from makegood.domain.policy import read_policy
    from makegood.domain.windows import parse_timestamp
    from makegood.services import staff

    engine = _engine()
    now = _now()
    try:
        policy_id = None
        if policy is not None:
            policy_id = read_policy(policy).id
            staff.put_policy(uow=bootstrap.unit_of_work(engine),
                             document=policy.read_text(encoding="utf-8"), actor=staff.SYSTEM,
                             now=now)
        try:
            document = incident.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", file=str(incident)) from None
        incident_id = staff.put_incident(
            uow=bootstrap.unit_of_work(engine), document=document, policy_id=policy_id,
            ledger_path=str(ledger.resolve()) if ledger else None,
            intake_opens=parse_timestamp(intake_opens, field="--intake-opens") if intake_opens
            else None,
            intake_closes=parse_timestamp(intake_closes, field="--intake-closes") if intake_closes
            else None, actor=staff.SYSTEM, now=now)
        count = 0
        if accounts is not None:
            count = staff.import_accounts(uow=bootstrap.unit_of_work(engine),
                                          accounts=load_accounts(resolve(accounts, sales)),
                                          actor=staff.SYSTEM, now=now)
        if contacts is not None:
            from makegood.adapters.db.web_store import Contacts
            from makegood.entrypoints.cli.web_demo import read_contacts

            rows = read_contacts(contacts)
            from makegood.adapters.db.repository import UnitOfWork as SqlUnitOfWork

            with SqlUnitOfWork(engine) as uow:
                Contacts(uow.conn).put_many(rows)
                uow.commit()
        typer.echo(f"incident {incident_id} stored"
                   + (f" with policy {policy_id}" if policy_id else "")
                   + (f"; {count:,} accounts imported" if accounts is not None else "")
                   + (f"; {len(rows):,} contacts" if contacts is not None else ""))
    finally:
        engine.dispose()


@users_app.command("add")
@handles_errors
def users_add(
    username: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option(help="reviewer, supervisor, auditor or admin.")] = "reviewer",
    password: Annotated[str | None, typer.Option(
        help="The password (default: MAKEGOOD_PASSWORD, else asked for).")] = None,
) -> None:
    """Add a staff user (argon2id password hash)."""
    from makegood.domain.errors import InputError
    from makegood.domain.staff import Role
    from makegood.services import staff

    if role not in ROLES:
        raise InputError(f"{role!r} is not one of: {', '.join(ROLES)}", field="--role")
    secret = password or os.environ.get("MAKEGOOD_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    engine = _engine()
    try:
        user = staff.add_user(uow=bootstrap.unit_of_work(engine), username=username,
                              password=secret, role=Role(role), actor=staff.SYSTEM, now=_now())
    finally:
        engine.dispose()
    typer.echo(f"added {user.username} ({user.role.value})")


def register(app: typer.Typer) -> None:
    """Attach the claims service's commands (serve, db, users) to the main app."""
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
    app.add_typer(users_app, name="users")
    from makegood.entrypoints.cli import keys

    app.add_typer(keys.app, name="keys")
