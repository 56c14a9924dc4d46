"""The notices pages' calls to the notice services: campaigns and their progress, a campaign's
report, the blast-radius map, the ledgers a campaign may read, and starting each kind of
campaign (as :mod:`makegood.entrypoints.web.deps` is for the other pages).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from makegood.domain.errors import InputError
from makegood.domain.records import IncidentRecord
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web.deps import incident, incidents, runs, sql
from makegood.services import notice_report

if TYPE_CHECKING:  # the campaigns import DuckDB: loaded when a campaign starts
    from makegood.services.notice_campaigns import CampaignResult, Progress


def campaigns(ctx: Context, incident_id: str | None) -> list[dict[str, Any]]:
    return notice_report.campaigns(sql(ctx), incident_id=incident_id)


def report(ctx: Context, campaign_id: str) -> dict[str, Any]:
    return notice_report.report(sql(ctx), campaign_id=campaign_id)


def blast_radius(ctx: Context, record: IncidentRecord | None) -> list[Any]:
    """The blast-radius map of the server's notify configuration (the shipped 2022 example
    when MAKEGOOD_NOTIFY_CONFIG is unset), each line with the incident's outages."""
    from makegood.adapters.notify.config import load

    config = load(ctx.settings.notify_config)
    return notice_report.blast_radius_rules(config.blast_radius,
                                            record.incident if record else None)


def ledger_sources(ctx: Context) -> list[dict[str, Any]]:
    """The ledgers an award campaign may read, with their run ids: each incident's own (loaded
    with it, its run id in the summary beside it) and each finished console run."""
    from makegood.services.notice_campaigns import ledger_run_id

    out: list[dict[str, Any]] = []
    for found in incidents(ctx):
        path = incident(ctx, found["id"]).ledger_path
        if path and Path(path).is_file():
            try:
                out.append({"key": f"incident:{found['id']}", "incident_id": found["id"],
                            "ledger": path, "run_id": ledger_run_id(Path(path)), "run": None})
            except InputError:
                continue  # a ledger without its summary has no run id to name
    for r in runs(ctx):
        if r["status"] == "done" and r["ledger_path"] and Path(r["ledger_path"]).is_file():
            out.append({"key": f"run:{r['id']}", "incident_id": r["params"].get("incident"),
                        "ledger": r["ledger_path"], "run": r["id"],
                        "run_id": str((r["summary"] or {}).get("run_id") or r["id"])})
    return out


def award_campaign(ctx: Context, *, record: IncidentRecord, ledger: str, run_id: str,
                   contacts: Path, progress: Progress, actor: str) -> CampaignResult:
    from makegood.services.notice_campaigns import award_campaign as start

    return start(engine=ctx.engine, incident=record.incident, ledger=Path(ledger),
                 run_id=run_id, contacts=contacts, now=ctx.clock(), progress=progress,
                 actor=actor)


def reminder_campaign(ctx: Context, *, incident_id: str, days: int, actor: str
                      ) -> CampaignResult:
    from makegood.services.notice_campaigns import reminder_campaign as start

    return start(engine=ctx.engine, incident_id=incident_id, now=ctx.clock(),
                 horizon=timedelta(days=days), actor=actor)


def draft_reminder_campaign(ctx: Context, *, incident_id: str, actor: str) -> CampaignResult:
    from makegood.services.notice_campaigns import draft_reminder_campaign as start

    return start(engine=ctx.engine, cipher=ctx.cipher, incident_id=incident_id, now=ctx.clock(),
                 actor=actor)
