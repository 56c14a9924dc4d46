"""`makegood notify ...`: campaigns, the delivery worker and the delivery report.

The database is the claims database (MAKEGOOD_DATABASE_URL, a SQLite file by default); the
notify configuration is a TOML file (``--config``; the shipped 2022 example by default).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.render import console

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(no_args_is_help=True, help="Notices: campaigns, delivery, reports.")
campaign_app = typer.Typer(no_args_is_help=True, help="Enqueue the notices of a campaign.")
app.add_typer(campaign_app, name="campaign")

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Notify configuration TOML (default: the shipped 2022 example).")]
AsOfOption = Annotated[str | None, typer.Option(
    "--as-of", help="Judge the blast radius as if it were this instant (ISO 8601 with offset), "
                    "running on from there: for drills and replays of a past incident.")]


def _engine() -> Engine:
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.engine import make_engine, upgrade

    engine = make_engine(Settings.from_env().database_url)
    upgrade(engine)
    return engine


def _links() -> dict[str, Any]:
    """What a worker needs to open sealed links: the service's cipher and its public URL."""
    from makegood import bootstrap

    config = bootstrap.settings()
    if config.public_url is None:
        typer.echo("notices: MAKEGOOD_PUBLIC_URL is not set, so notices carry no tracking or "
                   "resume link (they tell the claimant to use the tracking page instead)",
                   err=True)
    return {"cipher": bootstrap.cipher(config), "public_url": config.public_url}


def _now() -> datetime:
    return datetime.now(UTC)


def _as_of_clock(as_of: str | None) -> Any:
    if as_of is None:
        return None
    from makegood.domain.windows import parse_timestamp

    start = parse_timestamp(as_of, field="--as-of")
    wall = _now()
    return lambda: start + (_now() - wall)


def _actor() -> str:
    """Who starts a campaign from the command line, for the audit trail: the login name."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "cli"


@campaign_app.command("awards")
@handles_errors
def campaign_awards(
    incident: Annotated[Path, typer.Option(help="The incident TOML file.")],
    ledger: Annotated[Path, typer.Option(help="The run's ledger (Parquet or CSV).")],
    contacts: Annotated[Path, typer.Option(
        help="Contacts table: CSV, Parquet or a directory of Parquet parts (docs/notices.md).")],
    run_id: Annotated[str | None, typer.Option(
        "--run-id", help="The run (default: from LEDGER.summary.json).")] = None,
) -> None:
    """Notify every affected account of its awards for an incident under a run."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.domain.incident_file import read_incident
    from makegood.services.notice_campaigns import award_campaign, ledger_run_id

    the_incident = read_incident(incident)
    if run_id is None:
        run_id = ledger_run_id(ledger)
    engine = _engine()
    try:
        now = _now()
        with UnitOfWork(engine) as uow:
            if uow.incidents.get(the_incident.id) is None:
                uow.incidents.put(incident=the_incident,
                                  document=incident.read_text(encoding="utf-8"), policy_id=None,
                                  ledger_path=None, intake_opens=None, intake_closes=None,
                                  now=now)
                uow.commit()
        with console.status("enqueuing notices") as status:
            result = award_campaign(
                engine=engine, incident=the_incident, ledger=ledger, run_id=run_id,
                contacts=contacts, now=now, actor=_actor(),
                progress=lambda done, new: status.update(
                    f"{done:,} accounts read, {new:,} notices enqueued"))
    finally:
        engine.dispose()
    console.print(f"campaign {result.campaign_id}: {result.accounts:,} accounts with awards, "
                  f"{result.enqueued:,} notices enqueued (new), {result.without_contact:,} "
                  f"without any contact point ({result.seconds:.1f} s)")


@campaign_app.command("reminders")
@handles_errors
def campaign_reminders(
    incident_id: Annotated[str, typer.Option("--incident-id", help="The incident's id.")],
    within_days: Annotated[int, typer.Option(min=1, help="Deadlines within this many days.")] = 7,
) -> None:
    """Remind every claimant asked for information whose deadline is near."""
    from makegood.services.notice_campaigns import reminder_campaign

    engine = _engine()
    try:
        result = reminder_campaign(engine=engine, incident_id=incident_id, now=_now(),
                                   horizon=timedelta(days=within_days), actor=_actor())
    finally:
        engine.dispose()
    console.print(f"campaign {result.campaign_id}: {result.accounts:,} claims waiting for "
                  f"information, {result.enqueued:,} reminders enqueued (new)")


@campaign_app.command("drafts")
@handles_errors
def campaign_drafts(
    incident_id: Annotated[str, typer.Option("--incident-id", help="The incident's id.")],
) -> None:
    """Remind everyone who saved a claim on the portal and has not submitted it."""
    from makegood import bootstrap
    from makegood.services.notice_campaigns import draft_reminder_campaign

    config = bootstrap.settings()
    engine = _engine()
    try:
        result = draft_reminder_campaign(engine=engine, cipher=bootstrap.cipher(config),
                                         incident_id=incident_id, now=_now(), actor=_actor())
    finally:
        engine.dispose()
    console.print(f"campaign {result.campaign_id}: {result.accounts:,} saved claims not "
                  f"submitted with a contact, {result.enqueued:,} reminders enqueued (new)")
    if config.public_url is None:
        console.print("MAKEGOOD_PUBLIC_URL is not set: the reminders will carry no resume link")


@app.command("run")
@handles_errors
def run(
    config: ConfigOption = None,
    out: Annotated[Path | None, typer.Option(
        help="Directory for the file channels' JSON Lines (default: beside the config).")] = None,
    until_idle: Annotated[bool, typer.Option(
        "--until-idle/--forever", help="Stop when nothing is left to send.")] = True,
    as_of: AsOfOption = None,
) -> None:
    """Deliver the outbox: claim due notices, send them down their fallback chains."""
    import dataclasses

    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.notify.config import load
    from makegood.services.notices import Worker, close_senders, senders_for

    cfg = load(config)
    if out is not None:
        cfg = dataclasses.replace(cfg, base_dir=out)
    engine = _engine()
    senders = senders_for(cfg)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=cfg, senders=senders, clock=_now,
                    incident_clock=_as_of_clock(as_of), **_links())
    stop = threading.Event()
    try:
        stats = worker.run(stop=stop, until_idle=until_idle)
    except KeyboardInterrupt:
        stop.set()
        stats = worker.stats
    finally:
        worker.close()
        close_senders(senders)
        engine.dispose()
    console.print(f"worker {worker.name}: {stats.claimed:,} notices claimed, {stats.sent:,} "
                  f"sends, {stats.delivered:,} delivered, {stats.skipped:,} steps skipped")


@app.command("report")
@handles_errors
def report(
    campaign: Annotated[str | None, typer.Option(help="A campaign id.")] = None,
    incident_id: Annotated[str | None, typer.Option("--incident-id", help="An incident.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The delivery report: by status, by delivering channel, fallbacks, skipped steps."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services.notice_report import report as delivery_report

    engine = _engine()
    try:
        data = delivery_report(UnitOfWork(engine), campaign_id=campaign, incident_id=incident_id)
    finally:
        engine.dispose()
    campaigns = data.pop("campaigns")
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    print_report(data, campaigns)


def print_report(data: dict[str, Any], campaigns: list[dict[str, Any]]) -> None:
    for c in campaigns:
        console.print(f"campaign {c['id']} ({c['kind']}, incident {c['incident_id']}, run "
                      f"{c['run_id'] or '-'}): {c['accounts']:,} accounts, "
                      f"{c['enqueued']:,} notices, {c['without_contact']:,} without contact, "
                      f"{c['status']}")
    status = Table(title=f"Notices: {data['notices']:,}")
    status.add_column("status")
    status.add_column("notices", justify="right")
    for name, count in sorted(data["by_status"].items()):
        status.add_row(name, f"{count:,}")
    console.print(status)
    delivered = Table(title=f"Delivered, by channel (fallbacks taken: "
                            f"{data['fallbacks_taken']:,})")
    for col in ("channel", "step in chain", "notices"):
        delivered.add_column(col, justify="right" if col == "notices" else "left")
    for row in data["delivered"]:
        delivered.add_row(row["channel"], str(row["step"] + 1), f"{row['notices']:,}")
    console.print(delivered)
    attempts = Table(title="Attempts, by channel and status")
    for col in ("channel", "provider", "status", "attempts"):
        attempts.add_column(col, justify="right" if col == "attempts" else "left")
    for row in data["attempts"]:
        attempts.add_row(row["channel"], row["provider"], row["status"], f"{row['attempts']:,}")
    console.print(attempts)
    skipped = Table(title="Steps skipped (blast radius, open circuit)")
    for col in ("channel", "reason", "times"):
        skipped.add_column(col, justify="right" if col == "times" else "left")
    for row in data["skipped"]:
        skipped.add_row(row["channel"], row["reason"], f"{row['attempts']:,}")
    console.print(skipped)


def start_background_worker(engine: Engine, config_path: str | Path, *, as_of: str | None = None,
                            stop: threading.Event | None = None,
                            idle_sleep: float = 2.0) -> threading.Thread:
    """A delivery worker on a daemon thread (``makegood serve`` with MAKEGOOD_NOTIFY_CONFIG;
    MAKEGOOD_NOTIFY_AS_OF judges the blast radius from a past instant, as ``--as-of``).
    When the server stops, the thread stops with it; its leases run out and another worker
    takes its notices back."""
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.adapters.notify.config import load
    from makegood.services.notices import Worker, close_senders, senders_for

    cfg = load(Path(config_path))
    senders = senders_for(cfg)
    worker = Worker(uow=lambda: UnitOfWork(engine), config=cfg, senders=senders, clock=_now,
                    incident_clock=_as_of_clock(as_of), **_links())

    def work() -> None:
        try:
            worker.run(stop=stop, idle_sleep=idle_sleep)
        finally:
            worker.close()
            close_senders(senders)

    thread = threading.Thread(target=work, name="makegood-notify", daemon=True)
    thread.start()
    typer.echo(f"notices: worker {worker.name} delivering ({cfg.file}"
               + (f", blast radius as of {as_of}" if as_of else "") + ")", err=True)
    return thread

