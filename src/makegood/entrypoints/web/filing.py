"""Filing a claim in steps: what happened (category and who files), the details with evidence,
payment and consent, a review, then the receipt. Every step is saved as a draft under a resume
token; the resume link (``/portal/drafts/<token>``) is the only way back to it. On "save and
continue later" the link is shown, and sent by email when the claimant gives an address (and
``MAKEGOOD_PUBLIC_URL`` is set); the receipt goes by email or SMS the same way."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from makegood.domain.claims import Category, ClaimantKind, check_intake
from makegood.domain.errors import InputError, MakegoodError
from makegood.domain.evidence import sniff_evidence
from makegood.domain.records import IncidentRecord
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web import deps, drafts, forms, words
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form
from makegood.services.claims import MAX_EVIDENCE_FILES, ClaimInput

router = APIRouter(route_class=WebRoute)
MAX_DRAFT_FILES = 10


def _intake_open(ctx: Context, record: IncidentRecord) -> bool:
    try:
        check_intake(ctx.clock(), opens=record.intake_opens, closes=record.intake_closes,
                     incident_id=record.incident.id)
    except InputError:
        return False
    return True


@router.get("/portal/incidents/{incident_id}/file", include_in_schema=False)
def start(incident_id: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    record = deps.incident(ctx, incident_id)
    return page(request, "portal/start.html", record=record, values={}, errors={},
                open=_intake_open(ctx, record), words=words)


@router.post("/portal/incidents/{incident_id}/file", include_in_schema=False)
def begin(incident_id: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    record = deps.incident(ctx, incident_id)
    data = form(request)
    values = {"claimant_kind": str(data.get("claimant_kind") or ""),
              "category": str(data.get("category") or "")}
    errors = {}
    if values["claimant_kind"] not in {k.value for k in ClaimantKind}:
        errors["claimant_kind"] = _("Choose who is filing.")
    if values["category"] not in {c.value for c in Category}:
        errors["category"] = _("Choose what happened.")
    if errors or not _intake_open(ctx, record):
        return page(request, "portal/start.html", status=422, record=record, values=values,
                    errors=errors, open=_intake_open(ctx, record), words=words)
    draft = drafts.save_draft(ctx, incident_id=incident_id, data={**values, "evidence": []})
    return RedirectResponse(f"/portal/drafts/{draft.token}", status_code=303)


def _details(request: Request, draft: drafts.Draft, record: IncidentRecord, *,
             errors: dict[str, str], status: int = 200, saved: bool = False,
             resume_email: str | None = None) -> Response:
    ctx = deps.ctx_of(request)
    return page(request, "portal/details.html", status=status, draft=draft, record=record,
                values=draft.data, errors=errors, saved=saved, words=words,
                email_links=ctx.settings.public_url is not None,
                resume_email=str(draft.data.get("email") or "") if resume_email is None
                else resume_email,
                resume=str(request.base_url).rstrip("/") + f"/portal/drafts/{draft.token}",
                max_bytes=deps.ctx_of(request).settings.evidence_max_bytes)


@router.get("/portal/drafts/{token}", include_in_schema=False)
def resume(token: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    draft = drafts.load_draft(ctx, token)
    return _details(request, draft, deps.incident(ctx, draft.incident_id), errors={})


def _files(request: Request, data: dict[str, Any], errors: dict[str, str]) -> None:
    """Store the uploaded evidence files in the draft; bad ones get a message, good ones stay."""
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    evidence: list[dict[str, Any]] = list(data.get("evidence") or [])
    limit = ctx.settings.evidence_max_bytes
    for upload in form(request).getlist("evidence"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        content = upload.file.read(limit + 1)
        if len(evidence) >= MAX_DRAFT_FILES:
            errors["evidence"] = _("At most {count} files can be attached.").format(
                count=MAX_DRAFT_FILES)
            break
        try:
            content_type = sniff_evidence(content, max_bytes=limit)
        except InputError:
            errors["evidence"] = _("{name}: only PDF, PNG, JPEG, GIF and WebP files up to "
                                   "{size} bytes are accepted.").format(
                name=upload.filename[:100], size=f"{limit:,}")
            continue
        evidence.append({"sha256": deps.store_file(ctx, content), "content_type": content_type,
                         "filename": upload.filename[:200], "size": len(content)})
    remove = form(request).get("remove_evidence")
    if isinstance(remove, str) and remove.isdigit() and int(remove) < len(evidence):
        del evidence[int(remove)]
    data["evidence"] = evidence


def _check(request: Request, record: IncidentRecord, data: dict[str, Any]
           ) -> tuple[ClaimInput | None, dict[str, str]]:
    currency = record.policy.currency if record.policy else "KRW"
    return forms.check(data, incident_id=record.incident.id, services=record.incident.services,
                       tz=record.incident.tz, currency=currency, _=gettext(request))


@router.post("/portal/drafts/{token}", include_in_schema=False)
def update(token: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    draft = drafts.load_draft(ctx, token)
    record = deps.incident(ctx, draft.incident_id)
    data = forms.fields_from(form(request), draft.data)
    errors: dict[str, str] = {}
    _files(request, data, errors)
    action = form(request).get("action")
    resume_email = str(form(request).get("resume_email") or "").strip()[:200]
    send = action == "save" and bool(resume_email) and ctx.settings.public_url is not None
    if send and not drafts.contact_of({}, "", email=resume_email):
        errors["resume_email"] = gettext(request)(
            "Enter an email address such as name@example.com.")
        send = False
    contact = drafts.contact_of(data, request.state.lang, email=resume_email if send else "")
    draft = drafts.save_draft(ctx, incident_id=draft.incident_id, data=data, token=token,
                              contact=contact, send_link=send, incident=record.incident)
    if action == "review" and not errors:
        _claim, errors = _check(request, record, data)
        if not errors:
            return RedirectResponse(f"/portal/drafts/{token}/review", status_code=303)
    if action == "save":
        return _details(request, draft, record, errors=errors, saved=True,
                        status=422 if errors else 200, resume_email=resume_email)
    return _details(request, draft, record, errors=errors, status=422 if errors else 200)


@router.get("/portal/drafts/{token}/review", include_in_schema=False)
def review(token: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    draft = drafts.load_draft(ctx, token)
    record = deps.incident(ctx, draft.incident_id)
    claim, errors = _check(request, record, draft.data)
    if claim is None:
        return _details(request, draft, record, errors=errors, status=422)
    return page(request, "portal/review.html", draft=draft, record=record, claim=claim,
                values=draft.data, words=words, errors={})


@router.post("/portal/drafts/{token}/submit", include_in_schema=False)
def submit(token: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    draft = drafts.load_draft(ctx, token)
    record = deps.incident(ctx, draft.incident_id)
    claim, errors = _check(request, record, draft.data)
    if claim is None:
        return _details(request, draft, record, errors=errors, status=422)
    try:
        receipt = deps.submit(ctx, claim, client_address=deps.client(request),
                              key=drafts.idempotency_key(token))
    except InputError as exc:
        field, message = forms.service_error(exc, _)
        return _details(request, draft, record, errors={field: message}, status=422)
    for item in draft.data.get("evidence", [])[:MAX_EVIDENCE_FILES]:
        try:
            deps.add_evidence(ctx, claim_id=receipt.claim_id, token=receipt.receipt_token,
                              filename=item["filename"], data=deps.read_file(ctx, item["sha256"]))
        except (MakegoodError, OSError):
            continue  # the claim stands; the tracking page lets the claimant attach it again
    drafts.delete_draft(ctx, token, incident_id=draft.incident_id)
    return RedirectResponse(f"/portal/receipt/{receipt.claim_id}/{receipt.receipt_token}",
                            status_code=303)


@router.get("/portal/receipt/{claim_id}/{token}", include_in_schema=False)
def receipt(claim_id: str, token: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    claim = deps.claim_by_token(ctx, claim_id, token)
    record = deps.incident(ctx, claim["incident_id"])
    track = str(request.base_url).rstrip("/") + f"/portal/track/{claim_id}/{token}"
    return page(request, "portal/receipt.html", claim=claim, token=token, record=record,
                track=track, words=words, sent=deps.receipt_delivery(ctx, claim_id))
