"""Staff routes: sign-in, users, incidents and policies, the queue, assignment, decisions,
verification on demand, bulk import, evidence and the audit trail. Every route checks the role."""

from __future__ import annotations

import csv
import io
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile

from makegood.adapters.tables import load_accounts, resolve
from makegood.domain.claims import Category, Status
from makegood.domain.errors import InputError, NotFound
from makegood.domain.records import ClaimFilter
from makegood.domain.staff import Permission
from makegood.entrypoints.api import schemas, views
from makegood.entrypoints.api.deps import Context, client_address, context, current_staff
from makegood.services import claims_import, screening
from makegood.services import staff as service
from makegood.services.staff import StaffUser

router = APIRouter(prefix="/staff", tags=["staff"])


def attachment_headers(filename: str) -> dict[str, str]:
    """Evidence is always a download: never rendered by the browser, never sniffed, and its name
    (claimant text) only ever a quoted, encoded parameter."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                       for c in filename)[:100] or "evidence"
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                                   f"filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store"}
Ctx = Annotated[Context, Depends(context)]
Me = Annotated[StaffUser, Depends(current_staff)]
MAX_UPLOAD = 50 * 1024 * 1024
MAX_FILTER_AMOUNT = Decimal(10) ** 15  # above any claim: a larger filter is a typo or a probe
MAX_OFFSET = 1_000_000_000  # SQLite's integers end at 2**63 - 1; no queue is this long


@router.post("/login", response_model=schemas.LoginOut)
def login(body: schemas.LoginIn, ctx: Ctx, request: Request) -> dict[str, Any]:
    token = service.login(uow=ctx.uow(), username=body.username, password=body.password,
                          now=ctx.clock(), hours=ctx.settings.session_hours,
                          client=client_address(request))
    user = service.get_user(uow=ctx.uow(), username=body.username)
    return {"token": token, "username": user.username, "role": user.role.value}


@router.post("/logout", status_code=204, response_class=Response)
def logout(ctx: Ctx, me: Me, request: Request) -> Response:
    """End this session: the token stops working at once."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    service.logout(uow=ctx.uow(), token=token, actor=me, now=ctx.clock())
    return Response(status_code=204)


@router.post("/password", status_code=204, response_class=Response)
def change_password(body: schemas.PasswordIn, ctx: Ctx, me: Me) -> Response:
    """Change one's own password; every session of the user ends (sign in again)."""
    service.change_password(uow=ctx.uow(), actor=me, current=body.current_password,
                            new=body.new_password, now=ctx.clock())
    return Response(status_code=204)


@router.delete("/users/{username}/sessions", response_model=schemas.RevokedOut)
def revoke_sessions(username: str, ctx: Ctx, me: Me) -> dict[str, int]:
    """An admin ends every session of a user."""
    return {"revoked": service.revoke_sessions(uow=ctx.uow(), actor=me, username=username,
                                               now=ctx.clock())}


@router.post("/users", status_code=201, response_model=schemas.UserOut)
def add_user(body: schemas.UserIn, ctx: Ctx, me: Me) -> dict[str, Any]:
    user = service.add_user(uow=ctx.uow(), username=body.username, password=body.password,
                            role=body.role, actor=me, now=ctx.clock())
    return {"id": user.id, "username": user.username, "role": user.role.value}


@router.get("/users", response_model=list[schemas.UserOut])
def list_users(ctx: Ctx, me: Me) -> list[dict[str, Any]]:
    return [{"id": u.id, "username": u.username, "role": u.role.value}
            for u in service.list_users(uow=ctx.uow(), actor=me)]


@router.put("/policies")
def put_policy(body: schemas.PolicyIn, ctx: Ctx, me: Me) -> dict[str, str]:
    return {"id": service.put_policy(uow=ctx.uow(), document=body.document, actor=me,
                                     now=ctx.clock())}


@router.put("/incidents")
def put_incident(body: schemas.IncidentIn, ctx: Ctx, me: Me) -> dict[str, str]:
    return {"id": service.put_incident(
        uow=ctx.uow(), document=body.document, policy_id=body.policy_id,
        ledger_path=body.ledger_path, intake_opens=body.intake_opens,
        intake_closes=body.intake_closes, actor=me, now=ctx.clock())}


@router.patch("/incidents/{incident_id}/intake")
def set_intake(incident_id: str, body: schemas.IntakeIn, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Set or extend the intake window (the 2022 deadline was extended once)."""
    service.set_intake(uow=ctx.uow(), incident_id=incident_id, opens=body.opens,
                       closes=body.closes, actor=me, now=ctx.clock())
    with ctx.uow() as uow:
        record = uow.incidents.get_or_raise(incident_id)
    return {"id": incident_id, "intake_opens": record.intake_opens,
            "intake_closes": record.intake_closes}


@router.post("/accounts/import")
def import_accounts(ctx: Ctx, me: Me, subscriptions: Annotated[UploadFile, File()],
                    sales: Annotated[UploadFile | None, File()] = None) -> dict[str, int]:
    """Import accounts from a subscriptions table (CSV) and optionally a sales table."""
    me.require(Permission.ADMIN)
    with tempfile.TemporaryDirectory() as tmp:
        subs_path = Path(tmp) / "subscriptions.csv"
        subs_path.write_bytes(subscriptions.file.read(MAX_UPLOAD))
        sales_path = None
        if sales is not None:
            sales_path = Path(tmp) / "sales.csv"
            sales_path.write_bytes(sales.file.read(MAX_UPLOAD))
        accounts = load_accounts(resolve(subs_path, sales_path))
    count = service.import_accounts(uow=ctx.uow(), accounts=accounts, actor=me, now=ctx.clock())
    return {"accounts": count}


@router.get("/claims", response_model=schemas.QueueOut)
def queue(
    ctx: Ctx,
    me: Me,
    incident: str | None = None,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    category: Category | None = None,
    status: Status | None = None,
    verification: Annotated[str | None, Query(pattern="^(verified|flagged)$")] = None,
    amount_min: Annotated[Decimal | None, Query(ge=0, le=MAX_FILTER_AMOUNT, allow_inf_nan=False)
                          ] = None,
    amount_max: Annotated[Decimal | None, Query(ge=0, le=MAX_FILTER_AMOUNT, allow_inf_nan=False)
                          ] = None,
    assigned: Annotated[str | None, Query(description="me, none, or a user name")] = None,
    damage: Annotated[str | None, Query(pattern="^(yes|no)$",
                                        description="triage: a damage claim or not")] = None,
    triage_category: Annotated[Category | None, Query(
        description="triage: the category the text classifier predicts")] = None,
    score_min: Annotated[int | None, Query(ge=0, le=1000)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=1000)] = None,
    code: Annotated[str | None, Query(pattern="^[A-Z_]{3,40}$",
                                      description="a screening deduction code")] = None,
    recommendation: Annotated[str | None, Query(pattern="^(clear|review|reject)$")] = None,
    sort: Annotated[str, Query(pattern="^(created|score)$",
                               description="created: oldest first; score: lowest first")]
    = "created",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """The review queue, oldest (or lowest screening score) first, with filters."""
    assigned_to: int | None = None
    if assigned not in (None, "none"):
        assigned_to = me.id if assigned == "me" else \
            service.get_user(uow=ctx.uow(), username=str(assigned)).id
    filters = ClaimFilter(incident_id=incident, service=service_name,
                          category=category.value if category else None,
                          status=status.value if status else None, verification=verification,
                          amount_min=amount_min, amount_max=amount_max, assigned_to=assigned_to,
                          unassigned=assigned == "none",
                          damage=None if damage is None else damage == "yes",
                          triage_category=triage_category.value if triage_category else None,
                          score_min=score_min, score_max=score_max, code=code,
                          recommendation=recommendation, order=sort)
    rows, total = service.queue(uow=ctx.uow(), actor=me, filters=filters, limit=limit,
                                offset=offset)
    claims = [views.staff_claim(c) for c in rows]
    screening.attach(uow=ctx.uow(), rows=claims)
    return {"total": total, "limit": limit, "offset": offset, "claims": claims}


@router.get("/screening/codes", response_model=list[schemas.DeductionOut])
def screening_codes(me: Me) -> list[dict[str, Any]]:
    """Every deduction code with its weight and its meaning in English and Korean."""
    me.require(Permission.READ)
    return screening.deductions()


@router.get("/claims/{claim_id}/duplicates")
def duplicates(claim_id: str, ctx: Ctx, me: Me) -> dict[str, Any]:
    """The claim's duplicate group side by side, each member's shared features marked."""
    return screening.duplicate_group(uow=ctx.uow(), actor=me, claim_id=claim_id)


@router.post("/claims/{claim_id}/duplicates", status_code=201)
def decide_duplicate(claim_id: str, body: schemas.DuplicateDecisionIn, ctx: Ctx, me: Me
                     ) -> dict[str, Any]:
    """Record "duplicate" or "not duplicate" for this claim and another (audit trail); every
    later screening respects it."""
    screening.decide_duplicate(uow=ctx.uow(), actor=me, claim_id=claim_id,
                               other_id=body.other_claim_id, duplicate=body.duplicate,
                               note=body.note, now=ctx.clock())
    return {"claim_id": claim_id, "other_claim_id": body.other_claim_id,
            "duplicate": body.duplicate}


@router.get("/claims/{claim_id}", response_model=schemas.StaffClaimDetail)
def read_claim(claim_id: str, ctx: Ctx, me: Me) -> dict[str, Any]:
    return views.claim_file(service.staff_view(uow=ctx.uow(), actor=me, claim_id=claim_id))


@router.post("/claims/{claim_id}/assign", response_model=schemas.StaffClaimOut)
def assign(claim_id: str, body: schemas.AssignIn, ctx: Ctx, me: Me) -> dict[str, Any]:
    return views.staff_claim(service.assign(uow=ctx.uow(), actor=me, claim_id=claim_id,
                                            username=body.username, now=ctx.clock()))


@router.post("/claims/{claim_id}/verify", response_model=schemas.StaffClaimOut)
def verify(claim_id: str, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Run verification again and record the result."""
    return views.staff_claim(service.reverify(uow=ctx.uow(), actor=me, claim_id=claim_id,
                                              now=ctx.clock()))


@router.post("/claims/{claim_id}/decision", response_model=schemas.StaffClaimOut)
def decide(claim_id: str, body: schemas.DecisionIn, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Approve (the policy's award or an amount), deny (a reason code) or request information."""
    return views.staff_claim(service.decide(
        uow=ctx.uow(), actor=me, claim_id=claim_id, action=body.action, amount=body.amount,
        reason_code=body.reason_code, note=body.note, cure_days=body.cure_days,
        second_approval_above=ctx.settings.second_approval_above, now=ctx.clock()))


@router.get("/claims/{claim_id}/evidence/{evidence_id}")
def evidence_file(claim_id: str, evidence_id: int, ctx: Ctx, me: Me) -> Response:
    me.require(Permission.READ)
    with ctx.uow() as uow:
        found = [e for e in uow.evidence.of_claim(claim_id) if e.id == evidence_id]
    if not found:
        raise NotFound(f"no evidence {evidence_id} on claim {claim_id!r}")
    return Response(ctx.evidence.get(found[0].sha256), media_type=found[0].content_type,
                    headers=attachment_headers(found[0].filename))


@router.post("/claims/import", response_model=schemas.ImportReport)
def import_claims(ctx: Ctx, me: Me, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    """Bulk import from CSV, one claim per row, with a per-row report."""
    me.require(Permission.SUPERVISE)
    raw = file.file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise InputError(f"the file is larger than {MAX_UPLOAD:,} bytes; split it", field="file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text", file=file.filename, field="file") from None
    return claims_import.import_csv(uow=ctx.uow(), actor=me, text=text, cipher=ctx.cipher,
                                    now=ctx.clock(), filename=file.filename or "claims.csv")


@router.get("/claims/import/template", response_class=Response)
def import_template(me: Me) -> Response:
    me.require(Permission.READ)
    out = io.StringIO()
    csv.writer(out).writerow(claims_import.COLUMNS)
    return Response(out.getvalue(), media_type="text/csv")


@router.get("/audit/{entity}/{entity_id}", response_model=list[schemas.AuditOut])
def audit(entity: str, entity_id: str, ctx: Ctx, me: Me) -> list[dict[str, Any]]:
    return [views.audit(a) for a in service.audit_trail(uow=ctx.uow(), actor=me, entity=entity,
                                                         entity_id=entity_id)]
