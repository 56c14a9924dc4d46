"""The claims queue (filters, sorting, assignment) and a claim's page (the claimant's data with
the payout account masked, evidence, checks, the decision form, the audit trail)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from makegood.adapters.pdf_preview import NoPreview
from makegood.domain.claims import Action, Category, DenyReason, Status
from makegood.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from makegood.domain.records import ClaimFilter
from makegood.domain.staff import Permission, allowed
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.api.staff import attachment_headers
from makegood.entrypoints.web import deps, words
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form
from makegood.services import screening
from makegood.services.staff import StaffUser

router = APIRouter(route_class=WebRoute)
PAGE = 50
SORTS = {
    "oldest": (lambda r: (r["created_at"], r["id"]), False),
    "newest": (lambda r: (r["created_at"], r["id"]), True),
    "amount": (lambda r: (Decimal(r["amount"]), r["id"]), True),
    "status": (lambda r: (r["status"], r["created_at"]), False),
    "score": (lambda r: (r["id"],), False),  # lowest screening score first, in the database
}
SCREENING_CODES = {d["code"] for d in screening.deductions()}
MAX_SORTED = 1000


def _filters(request: Request, me_id: int) -> tuple[ClaimFilter, dict[str, str]]:
    q = request.query_params
    values = {k: q.get(k, "")[:100] for k in ("incident", "status", "category", "service",
                                              "verification", "assigned", "sort", "page",
                                              "damage", "code", "recommendation", "score_max")}
    status = values["status"] if values["status"] in {s.value for s in Status} else None
    category = values["category"] if values["category"] in {c.value for c in Category} else None
    verification = values["verification"] if values["verification"] in ("verified", "flagged") \
        else None
    code = values["code"] if values["code"] in SCREENING_CODES else None
    recommendation = values["recommendation"] \
        if values["recommendation"] in ("clear", "review", "reject") else None
    score_max = int(values["score_max"]) if values["score_max"].isdigit() \
        and int(values["score_max"]) <= 1000 else None
    return ClaimFilter(
        incident_id=values["incident"] or None, status=status, category=category,
        service=values["service"] or None, verification=verification,
        assigned_to=me_id if values["assigned"] == "me" else None,
        unassigned=values["assigned"] == "none",
        damage={"yes": True, "no": False}.get(values["damage"]), code=code,
        recommendation=recommendation, score_max=score_max,
        order="score" if values["sort"] == "score" else "created"), values


@router.get("/console/claims", include_in_schema=False)
def queue(request: Request) -> Response:
    me = deps.staff(request)
    ctx = deps.ctx_of(request)
    filters, values = _filters(request, me.id)
    sort = values["sort"] if values["sort"] in SORTS else "oldest"
    number = int(values["page"]) if values["page"].isdigit() and int(values["page"]) > 0 else 1
    if sort in ("oldest", "score"):  # both ordered by the database
        rows, total = deps.queue(ctx, me, filters, limit=PAGE, offset=(number - 1) * PAGE)
    else:
        rows, total = deps.queue(ctx, me, filters, limit=MAX_SORTED, offset=0)
        key, reverse = SORTS[sort]
        rows = sorted(rows, key=key, reverse=reverse)[(number - 1) * PAGE:number * PAGE]
    names = {u["id"]: u["username"] for u in _staff_names(ctx, me)}
    services = sorted({s for i in deps.incidents(ctx)
                       for s in deps.incident(ctx, i["id"]).incident.services})
    screening.attach(uow=ctx.uow(), rows=rows)  # each row's score, codes and recommendation
    return page(request, "console/queue.html", rows=rows, total=total, values=values,
                codes=sorted(SCREENING_CODES),
                sort=sort, number=number, pages=max((total + PAGE - 1) // PAGE, 1), names=names,
                services=services, incidents=deps.incidents(ctx),
                can_review=allowed(me.role, Permission.REVIEW))


def _staff_names(ctx: Context, me: StaffUser) -> list[dict[str, Any]]:
    try:
        return deps.users(ctx, me)
    except PermissionDenied:
        return [{"id": me.id, "username": me.username, "role": me.role.value}]


def _detail(request: Request, claim_id: str, *, errors: dict[str, str], values: dict[str, str],
            status: int = 200, done: str = "") -> Response:
    me = deps.staff(request)
    ctx = deps.ctx_of(request)
    view = deps.staff_view(ctx, me, claim_id)
    record = deps.incident(ctx, view["claim"]["incident_id"])
    users = _staff_names(ctx, me)
    reviewers = [u for u in users if u["role"] in ("reviewer", "supervisor", "admin")]
    names = {u["id"]: u["username"] for u in users}
    for e in view["evidence"]:
        if e["content_type"] == "application/pdf" and not e.get("flags"):
            try:
                e["preview"] = deps.pdf_preview(ctx, e)
            except NoPreview as exc:
                e["no_preview"] = exc.code
    return page(request, "console/claim.html", status=status, view=view, claim=view["claim"],
                record=record, errors=errors, values=values, done=done, reviewers=reviewers,
                names=names, reasons=list(DenyReason),
                can_review=allowed(me.role, Permission.REVIEW),
                can_supervise=allowed(me.role, Permission.SUPERVISE))


@router.get("/console/claims/{claim_id}", include_in_schema=False)
def claim(claim_id: str, request: Request) -> Response:
    return _detail(request, claim_id, errors={}, values={},
                   done=request.query_params.get("done", "")[:20])


@router.post("/console/claims/{claim_id}/assign", include_in_schema=False)
def assign(claim_id: str, request: Request) -> Response:
    me = deps.staff(request)
    username = str(form(request).get("username") or "").strip()
    deps.assign(deps.ctx_of(request), me, claim_id, username or None)
    back = str(form(request).get("back") or "")
    target = "/console/claims" + (f"?{back}" if back and "//" not in back else "") \
        if form(request).get("from") == "queue" else f"/console/claims/{claim_id}?done=assign"
    return RedirectResponse(target, status_code=303)


@router.post("/console/claims/{claim_id}/verify", include_in_schema=False)
def verify(claim_id: str, request: Request) -> Response:
    me = deps.staff(request)
    deps.reverify(deps.ctx_of(request), me, claim_id)
    return RedirectResponse(f"/console/claims/{claim_id}?done=verify", status_code=303)


@router.post("/console/claims/{claim_id}/decision", include_in_schema=False)
def decide(claim_id: str, request: Request) -> Response:
    me = deps.staff(request)
    _ = gettext(request)
    data = form(request)
    values = {k: str(data.get(k) or "")[:5000] for k in ("action", "amount", "reason_code",
                                                         "note", "cure_days")}
    errors: dict[str, str] = {}
    action = values["action"]
    if action not in {a.value for a in Action}:
        errors["action"] = _("Choose a decision.")
    amount: Decimal | None = None
    if values["amount"].strip():
        try:
            amount = Decimal(values["amount"].strip().replace(",", ""))
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15"):
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = _("Enter an amount in numbers, such as 30000.")
    reason = None
    if action == Action.DENY.value:
        if values["reason_code"] not in {r.value for r in DenyReason}:
            errors["reason_code"] = _("A denial needs a reason.")
        else:
            reason = DenyReason(values["reason_code"])
    cure_days = None
    if action == Action.REQUEST_INFO.value:
        text = values["cure_days"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 120:
            errors["cure_days"] = _("Give a deadline of 1 to 120 days.")
        else:
            cure_days = int(text)
        if not values["note"].strip():
            errors["note"] = _("Say what information is needed.")
    if action == Action.SEND_BACK.value and not values["note"].strip():
        errors["note"] = _("Say why the claim goes back to review.")
    if errors:
        return _detail(request, claim_id, errors=errors, values=values, status=422)
    try:
        deps.decide(deps.ctx_of(request), me, claim_id, action=Action(action), amount=amount,
                    reason=reason, note=values["note"], cure_days=cure_days)
    except InputError as exc:
        field = exc.field if exc.field in ("amount", "reason_code", "cure_days", "note") \
            else "form"
        message = {"amount": _("The policy gives no award for this claim; state an amount."),
                   }.get(field or "", _("Check this field: {problem}").format(problem=exc.problem))
        return _detail(request, claim_id, errors={field or "form": message}, values=values,
                       status=422)
    except Conflict as exc:
        message = _("The second approval confirms the reviewed amount; to change it, send the "
                    "claim back to review.") if "send_back" in str(exc) else \
            _("This decision is not possible in the claim's current state.")
        return _detail(request, claim_id, status=409, values=values, errors={"form": message})
    except PermissionDenied as exc:
        message = _("The second approval must come from another person.") \
            if "another person" in str(exc) else _("Your role does not allow this decision.")
        return _detail(request, claim_id, status=403, values=values, errors={"form": message})
    return RedirectResponse(f"/console/claims/{claim_id}?done=decision", status_code=303)


@router.get("/console/claims/{claim_id}/evidence/{evidence_id}", include_in_schema=False)
def evidence(claim_id: str, evidence_id: str, request: Request) -> Response:
    me = deps.staff(request)
    if not evidence_id.isdigit():
        raise NotFound(f"no evidence {evidence_id!r}")
    data, content_type, filename = deps.evidence_file(deps.ctx_of(request), me, claim_id,
                                                      int(evidence_id))
    return Response(data, media_type=content_type, headers=attachment_headers(filename[:100]))


@router.get("/console/claims/{claim_id}/evidence/{evidence_id}/preview.png",
            include_in_schema=False)
def evidence_preview(claim_id: str, evidence_id: str, request: Request) -> Response:
    """A PDF's first page as a PNG: an attachment like the file itself (an ``<img>`` shows it
    all the same), never sniffed, for staff who may read the claim."""
    me = deps.staff(request)
    if not evidence_id.isdigit():
        raise NotFound(f"no evidence {evidence_id!r}")
    ctx = deps.ctx_of(request)
    row = deps.evidence_row(ctx, me, claim_id, int(evidence_id))
    try:
        preview = deps.pdf_preview(ctx, row)
    except NoPreview as exc:
        raise InputError(f"no preview of this file ({exc.code}); download it instead",
                         field="evidence") from None
    name = f"{row['filename'][:90]}-page-1.png"
    return Response(preview.png, media_type="image/png", headers=attachment_headers(name))


def status_words(status: str) -> str:
    return words.STATUSES.get(status, status)
