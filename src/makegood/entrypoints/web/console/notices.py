"""Notice campaigns from the console: the campaigns of an incident with their progress, one
campaign's delivery report (by status, by channel, fallbacks taken, steps skipped) beside the
blast-radius rule of the notify configuration, and a form that starts a campaign.

Supervisors and admins start campaigns (:attr:`Permission.SUPERVISE`: telling every affected
customer is an operation on the whole incident, as a bulk import is); every staff member reads
them. A campaign's id follows from its inputs (incident and run, or incident and day), so a
campaign started twice is shown, not enqueued twice. Enqueuing runs in a thread of the server,
as a compensation run does (:mod:`.runs`); its progress is in this process's memory and in the
campaign's heartbeat (so another worker, or the command line, shows it too); the delivery worker
(``makegood notify run``, or ``makegood serve`` with MAKEGOOD_NOTIFY_CONFIG) sends the notices.
Contacts are named by a path under the data directory, as a run's accounts are.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from makegood.domain.errors import InputError, MakegoodError, NotFound
from makegood.domain.records import IncidentRecord
from makegood.domain.staff import Permission
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web import deps, notice_deps, svg
from makegood.entrypoints.web.console.dashboard import chosen_incident
from makegood.entrypoints.web.console.runs import data_dir, data_path
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form
from makegood.entrypoints.web.words import N_
from makegood.services.notice_report import STATUSES

router = APIRouter(route_class=WebRoute)
_progress: dict[str, tuple[int, int]] = {}  # campaign id: (accounts read, notices enqueued)
_failed: dict[str, str] = {}
_lock = threading.Lock()
MAX_DAYS = 60
DEMO_CONTACTS = "out/demo/scenario/contacts"  # what `makegood serve --demo` leaves
FIELDS = ("kind", "incident", "source", "contacts", "within_days")


@dataclass(frozen=True, slots=True)
class Chosen:
    """What the form chose, checked."""

    record: IncidentRecord
    source: dict[str, Any] | None
    contacts: Path | None
    days: int
    actor: str  # the staff member who starts it (the audit trail's actor)


@dataclass(frozen=True, slots=True)
class Kind:
    """A campaign the console can start: its words, the fields it needs beyond the incident,
    its id (to find one already started) and how it starts. Adding a kind is one entry."""

    key: str
    label: str
    hint: str
    fields: tuple[str, ...]
    campaign_id: Callable[[Context, Chosen], str]
    start: Callable[[Context, Chosen, Callable[[int, int], None]], Any]


def _award_id(ctx: Context, c: Chosen) -> str:
    from makegood.services.notice_campaigns import award_campaign_id

    assert c.source is not None  # the form requires it
    return award_campaign_id(c.record.incident.id, str(c.source["run_id"]))


def _awards(ctx: Context, c: Chosen, progress: Callable[[int, int], None]) -> Any:
    assert c.source is not None  # the form requires it
    assert c.contacts is not None  # and this
    return notice_deps.award_campaign(ctx, record=c.record, ledger=str(c.source["ledger"]),
                                      run_id=str(c.source["run_id"]), contacts=c.contacts,
                                      progress=progress, actor=c.actor)


def _reminder_id(ctx: Context, c: Chosen) -> str:
    from makegood.services.notice_campaigns import reminder_campaign_id

    return reminder_campaign_id(c.record.incident.id, ctx.clock())


def _reminders(ctx: Context, c: Chosen, progress: Callable[[int, int], None]) -> Any:
    return notice_deps.reminder_campaign(ctx, incident_id=c.record.incident.id, days=c.days,
                                         actor=c.actor)


def _draft_id(ctx: Context, c: Chosen) -> str:
    from makegood.services.notice_campaigns import draft_campaign_id

    return draft_campaign_id(c.record.incident.id, ctx.clock())


def _drafts(ctx: Context, c: Chosen, progress: Callable[[int, int], None]) -> Any:
    return notice_deps.draft_reminder_campaign(ctx, incident_id=c.record.incident.id,
                                               actor=c.actor)


KINDS: tuple[Kind, ...] = (
    Kind("awards", N_("Award notices"),
         N_("Tell every account with awards in a run's ledger what it gets."),
         ("source", "contacts"), _award_id, _awards),
    Kind("reminders", N_("Deadline reminders"),
         N_("Remind claimants asked for information whose deadline is near."),
         ("within_days",), _reminder_id, _reminders),
    Kind("drafts", N_("Unfinished claim forms"),
         N_("Remind everyone who saved a claim form on the portal and has not submitted it."),
         (), _draft_id, _drafts),
)
KIND_BY_KEY = {k.key: k for k in KINDS}
KIND_LABELS = {k.key: k.label for k in KINDS}


def _default_contacts(ctx: Context) -> str:
    """The demo's contacts table, when there is one under the data directory."""
    return DEMO_CONTACTS if (data_dir(ctx) / DEMO_CONTACTS).exists() else ""


def _list_page(request: Request, *, errors: dict[str, str], values: dict[str, str],
               status: int = 200) -> Response:
    ctx = deps.ctx_of(request)
    found = deps.incidents(ctx)
    record = deps.incident(ctx, values["incident"]) \
        if values.get("incident") in {i["id"] for i in found} else chosen_incident(request)
    wanted = values.get("incident") or (record.incident.id if record else "")
    sources = notice_deps.ledger_sources(ctx)
    values = {"kind": KINDS[0].key, "within_days": "7", "contacts": _default_contacts(ctx),
              "incident": wanted,
              "source": next((s["key"] for s in sources if s["incident_id"] == wanted), ""),
              **{k: v for k, v in values.items() if v}}
    return page(request, "console/notices.html", status=status, record=record,
                incidents=found, kinds=KINDS, errors=errors, values=values, sources=sources,
                data_dir=str(data_dir(ctx)), status_label=STATUS_WORDS, statuses=STATUSES,
                kind_label=KIND_LABELS,
                campaigns=notice_deps.campaigns(ctx, record.incident.id if record else None))


@router.get("/console/notices", include_in_schema=False)
def campaigns(request: Request) -> Response:
    deps.staff(request)
    return _list_page(request, errors={}, values={})


def _check(request: Request) -> tuple[dict[str, str], dict[str, str], Chosen | None]:
    _ = gettext(request)
    ctx = deps.ctx_of(request)
    data = form(request)
    values = {k: str(data.get(k) or "").strip()[:500] for k in FIELDS}
    errors: dict[str, str] = {}
    kind = KIND_BY_KEY.get(values["kind"])
    if kind is None:
        errors["kind"] = _("Choose the kind of campaign.")
    if values["incident"] not in {i["id"] for i in deps.incidents(ctx)}:
        errors["incident"] = _("Choose the incident.")
        return values, errors, None
    needs = kind.fields if kind else ()
    source = next((s for s in notice_deps.ledger_sources(ctx) if s["key"] == values["source"]
                   and s["incident_id"] == values["incident"]), None)
    if "source" in needs and source is None:
        errors["source"] = _("Choose a ledger of this incident.")
    contacts = None
    if "contacts" in needs:
        try:
            contacts = data_path(ctx, values["contacts"], field="contacts")
        except InputError:
            errors["contacts"] = _("Give a contacts file or folder under the data directory.")
    days = 0
    if "within_days" in needs:
        try:
            days = int(values["within_days"])
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            errors["within_days"] = _("Give a whole number of days from 1 to {n}.").format(
                n=MAX_DAYS)
    if errors:
        return values, errors, None
    return values, errors, Chosen(deps.incident(ctx, values["incident"]), source, contacts, days,
                                  deps.staff(request).username)


def _work(ctx: Context, kind: Kind, chosen: Chosen, campaign_id: str) -> None:
    def progress(done: int, new: int) -> None:
        with _lock:
            _progress[campaign_id] = (done, new)

    try:
        kind.start(ctx, chosen, progress)
    except MakegoodError as exc:
        with _lock:
            _failed[campaign_id] = str(exc)
    except Exception:  # the page must say the campaign stopped, whatever broke
        with _lock:
            _failed[campaign_id] = traceback.format_exc(limit=3).splitlines()[-1]
    finally:
        with _lock:
            _progress.pop(campaign_id, None)


@router.post("/console/notices", include_in_schema=False)
def start(request: Request) -> Response:
    me = deps.staff(request)
    me.require(Permission.SUPERVISE)
    ctx = deps.ctx_of(request)
    values, errors, chosen = _check(request)
    if chosen is None:
        return _list_page(request, errors=errors, values=values, status=422)
    kind = KIND_BY_KEY[values["kind"]]
    campaign_id = kind.campaign_id(ctx, chosen)
    known = {c["id"]: c for c in notice_deps.campaigns(ctx, chosen.record.incident.id)}
    from makegood.services.notice_campaigns import live_progress

    with _lock:
        # Being enqueued by this process, or by another (a server worker, the command line).
        busy = campaign_id in _progress or (
            campaign_id in known and live_progress(known[campaign_id]) is not None)
        # Enqueued already, or being enqueued: show it. One left "running" by a server that
        # stopped, or one that failed, starts again and resumes where it stopped.
        if busy or known.get(campaign_id, {}).get("status") == "enqueued":
            return RedirectResponse(f"/console/notices/{campaign_id}?again=1", status_code=303)
        _progress[campaign_id] = (0, 0)
        _failed.pop(campaign_id, None)
    threading.Thread(target=_work, args=(ctx, kind, chosen, campaign_id), daemon=True,
                     name=f"notices-{campaign_id}").start()
    return RedirectResponse(f"/console/notices/{campaign_id}", status_code=303)


def _charts(request: Request, data: dict[str, Any]) -> list[tuple[str, str, str]]:
    _ = gettext(request)
    campaign = data["campaigns"][0] if data["campaigns"] else {"by_status": {}}
    return [
        ("status", _("Notices by status"), svg.bars(_("Notices by status"), [
            (_(STATUS_WORDS.get(k, k)), v) for k, v in campaign["by_status"].items() if v])),
        ("channel", _("Delivered, by channel"), svg.bars(_("Delivered, by channel"), [
            (f"{r['channel']} ({r['step'] + 1})", r["notices"]) for r in data["delivered"]])),
    ]


STATUS_WORDS = {
    "created": N_("Waiting"), "sending": N_("Sending"), "delivered": N_("Delivered"),
    "temporary_failure": N_("Temporary failure, to retry"),
    "permanent_failure": N_("Permanent failure"), "technical_failure": N_("Technical failure"),
    "skipped": N_("Skipped"),
    "cancelled": N_("Withdrawn before sending"),
}


@router.get("/console/notices/{campaign_id}", include_in_schema=False)
def show(campaign_id: str, request: Request) -> Response:
    deps.staff(request)
    ctx = deps.ctx_of(request)
    with _lock:
        progress = _progress.get(campaign_id)
        failed = _failed.get(campaign_id)
    try:
        data = notice_deps.report(ctx, campaign_id)
    except NotFound:
        if progress is None and failed is None:
            raise
        data = {"campaigns": [], "delivered": [], "attempts": [], "skipped": [],
                "fallbacks_taken": 0, "notices": 0, "starts": []}
    campaign = data["campaigns"][0] if data["campaigns"] else None
    if progress is None and campaign is not None:
        from makegood.services.notice_campaigns import live_progress

        live = live_progress(campaign)  # another process (or a later start) is enqueuing it
        if live is not None:
            progress, failed = live, None
    record = deps.incident(ctx, campaign["incident_id"]) if campaign else None
    try:
        rules, rules_error = notice_deps.blast_radius(ctx, record), None
    except InputError as exc:
        rules, rules_error = [], str(exc)
    template = "console/notice_status.html" if request.headers.get("hx-request") else \
        "console/notice.html"
    return page(request, template, campaign_id=campaign_id, campaign=campaign, data=data,
                progress=progress, failed=failed, record=record, rules=rules,
                rules_error=rules_error, charts=_charts(request, data), status_words=STATUS_WORDS,
                again=request.query_params.get("again") == "1", kind_label=KIND_LABELS,
                as_of=ctx.settings.notify_as_of, starts=data.get("starts", []))
