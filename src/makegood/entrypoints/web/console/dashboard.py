"""The dashboard (claims over time and by kind, verification, approvals, the automatic
compensation's liability, intake against the deadline) and the incident page."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from makegood.domain.records import IncidentRecord
from makegood.entrypoints.web import deps, svg, words
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute

router = APIRouter(route_class=WebRoute)


def chosen_incident(request: Request) -> IncidentRecord | None:
    ctx = deps.ctx_of(request)
    found = deps.incidents(ctx)
    wanted = request.query_params.get("incident")
    ids = [i["id"] for i in found]
    if not ids:
        return None
    return deps.incident(ctx, wanted if wanted is not None and wanted in ids else ids[0])


def _series(times: list[datetime], tz: Any, *, hours: bool, start: datetime | None,
            end: datetime | None) -> list[tuple[str, int]]:
    """Counts per local hour or day from the first to the last instant (zeros included)."""
    if not times and not (start and end):
        return []
    local = [t.astimezone(tz) for t in times]
    unit = timedelta(hours=1) if hours else timedelta(days=1)

    def floor(t: datetime) -> datetime:
        return t.replace(minute=0, second=0, microsecond=0) if hours else \
            t.replace(hour=0, minute=0, second=0, microsecond=0)

    first = floor(min(local)) if local else floor(start.astimezone(tz))  # type: ignore[union-attr]
    last = floor(max(local)) if local else first
    if not hours and start and end:
        first = min(first, floor(start.astimezone(tz)))
        last = max(last, floor((end - timedelta(seconds=1)).astimezone(tz)))
    counts = Counter(floor(t) for t in local)
    out: list[tuple[str, int]] = []
    cursor = first
    while cursor <= last and len(out) < 24 * 62:
        out.append((cursor.strftime("%m-%d %H:00" if hours else "%m-%d"), counts.get(cursor, 0)))
        cursor = (cursor + unit).astimezone(tz)
        cursor = floor(cursor)
    return out


@router.get("/console", include_in_schema=False)
def dashboard(request: Request) -> Response:
    me = deps.staff(request)
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    record = chosen_incident(request)
    if record is None:
        return page(request, "console/dashboard.html", record=None, incidents=[], charts=[],
                    figures={}, tables={})
    tz = record.incident.tz
    facts = deps.claim_facts(ctx, me, record.incident.id)
    total = len(facts)
    by_category = Counter(f["category"] for f in facts)
    by_service = Counter(f["service"] for f in facts)
    by_kind = Counter(f["claimant_kind"] for f in facts)
    by_status = Counter(f["status"] for f in facts)
    by_check = Counter(f["verification_result"] for f in facts)
    approved = sum((Decimal(f["approved_amount"]) for f in facts
                    if f["status"] == "approved" and f["approved_amount"] is not None), Decimal(0))
    times = [f["created_at"] for f in facts]
    per_hour = _series(times[-5000:], tz, hours=True, start=None, end=None)[-72:]
    per_day = _series(times, tz, hours=False, start=record.intake_opens, end=record.intake_closes)
    summary = deps.ledger_summary(record.ledger_path)
    liability = [(f"{r['service']}: {r['kind']} ({r['unit']})", Decimal(r["total"]))
                 for r in (summary or {}).get("by_service", [])]
    now = ctx.clock()
    deadline: dict[str, Any] = {}
    if record.intake_opens and record.intake_closes:
        span = record.intake_closes - record.intake_opens
        gone = min(max(now - record.intake_opens, timedelta(0)), span)
        deadline = {"days": span.days, "elapsed": gone.days,
                    "left": max((record.intake_closes - now).days, 0),
                    "closed": now >= record.intake_closes}
    charts = [
        ("per-hour", _("Claims per hour (last 72 hours with claims)"),
         svg.columns(_("Claims per hour"), per_hour)),
        ("per-day", _("Claims per day over the intake window"),
         svg.columns(_("Claims per day"), per_day)),
        ("category", _("Claims by category"), svg.bars(_("Claims by category"), [
            (_(words.CATEGORIES.get(k, k))[:28], v) for k, v in by_category.most_common()])),
        ("service", _("Claims by service"), svg.bars(_("Claims by service"),
                                                       by_service.most_common())),
        ("segment", _("Claims by segment"), svg.bars(_("Claims by segment"), [
            (_(words.KINDS.get(k, k)), v) for k, v in by_kind.most_common()])),
        ("verification", _("Verification outcomes"), svg.bars(_("Verification outcomes"), [
            (k, v) for k, v in by_check.most_common()])),
        ("status", _("Claims by status"), svg.bars(_("Claims by status"), [
            (_(words.STATUSES.get(k, k))[:28], v) for k, v in by_status.most_common()])),
        ("liability", _("Automatic compensation by service and award kind"),
         svg.bars(_("Automatic compensation by service and award kind"), liability)),
    ]
    figures = {
        "total": total,
        "not_claims": (Decimal(by_category.get("other", 0) * 100) / total).quantize(Decimal("0.1"))
        if total else Decimal(0),
        "approved": by_status.get("approved", 0), "approved_amount": approved,
        "liability": (summary or {}).get("liability", {}),
        "under_review": (summary or {}).get("under_review", {}),
        "accounts_awarded": (summary or {}).get("accounts_awarded"),
        "deadline": deadline,
    }
    tables = {"category": by_category, "service": by_service, "segment": by_kind,
              "status": by_status, "verification": by_check, "liability": liability,
              "per_day": per_day}
    return page(request, "console/dashboard.html", record=record, charts=charts,
                figures=figures, tables=tables, incidents=deps.incidents(ctx))


@router.get("/console/incidents/{incident_id}", include_in_schema=False)
def incident_page(incident_id: str, request: Request) -> Response:
    deps.staff(request)
    ctx = deps.ctx_of(request)
    record = deps.incident(ctx, incident_id)
    incident = record.incident
    impacts = sorted(incident.impacts, key=lambda i: (i.service, i.feature or "", i.window.start))
    return page(request, "console/incident.html", record=record, incident=incident,
                impacts=impacts, policies=deps.policies_for(ctx, record))
