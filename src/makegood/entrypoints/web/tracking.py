"""Tracking a claim with its receipt token: status, checks in plain words, decisions with
reasons, the answer to a request for information, more evidence, and the appeal."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from makegood.domain.errors import Conflict, InputError, NotFound
from makegood.entrypoints.web import deps, words
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form

router = APIRouter(route_class=WebRoute)


@router.get("/portal/track", include_in_schema=False)
def track_form(request: Request) -> Response:
    return page(request, "portal/track_form.html", values={}, errors={})


@router.post("/portal/track", include_in_schema=False)
def find(request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    data = form(request)
    claim_id = str(data.get("claim_id") or "").strip()[:64]
    token = str(data.get("token") or "").strip()[:64]
    missing = {name: _("This field is required.") for name, value in
               (("claim_id", claim_id), ("token", token)) if not value}
    if missing:
        return page(request, "portal/track_form.html", status=422,
                    values={"claim_id": claim_id}, errors=missing)
    try:
        deps.claim_by_token(ctx, claim_id, token)
    except NotFound:
        return page(request, "portal/track_form.html", status=404,
                    values={"claim_id": claim_id},
                    errors={"form": _("No claim has this number and receipt code.")})
    return RedirectResponse(f"/portal/track/{claim_id}/{token}", status_code=303)


def _show(request: Request, claim_id: str, token: str, *, errors: dict[str, str],
          status: int = 200, done: str = "", failed: str = "") -> Response:
    ctx = deps.ctx_of(request)
    claim = deps.claim_by_token(ctx, claim_id, token)
    record = deps.incident(ctx, claim["incident_id"])
    return page(request, "portal/track.html", status=status, claim=claim, token=token,
                record=record, words=words, errors=errors, done=done,
                failed=failed)


@router.get("/portal/track/{claim_id}/{token}", include_in_schema=False)
def track(claim_id: str, token: str, request: Request) -> Response:
    return _show(request, claim_id, token, errors={}, done=request.query_params.get("done", ""))


@router.post("/portal/track/{claim_id}/{token}/{what}", include_in_schema=False)
def act(claim_id: str, token: str, what: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    data = form(request)
    text = str(data.get("text") or "").strip()[:5000]
    try:
        if what == "answer":
            if not text:
                return _show(request, claim_id, token, status=422,
                             errors={"text": _("Write your answer.")}, failed="answer")
            deps.answer(ctx, claim_id, token, text)
        elif what == "appeal":
            if not text:
                return _show(request, claim_id, token, status=422,
                             errors={"text": _("Say why you disagree with the decision.")},
                             failed="appeal")
            deps.appeal(ctx, claim_id, token, text)
        elif what == "evidence":
            upload = data.get("evidence")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return _show(request, claim_id, token, status=422,
                             errors={"evidence": _("Choose a file.")})
            content = upload.file.read(ctx.settings.evidence_max_bytes + 1)
            try:
                deps.add_evidence(ctx, claim_id=claim_id, token=token,
                                  filename=upload.filename, data=content)
            except InputError:
                return _show(request, claim_id, token, status=422, errors={"evidence": _(
                    "Only PDF, PNG, JPEG, GIF and WebP files up to {size} bytes are accepted."
                ).format(size=f"{ctx.settings.evidence_max_bytes:,}")})
        else:
            raise NotFound(f"no action {what!r}")
    except Conflict:
        return _show(request, claim_id, token, status=409,
                     errors={"form": _("This is not possible in the claim's current state.")})
    return RedirectResponse(f"/portal/track/{claim_id}/{token}?done={what}", status_code=303)
