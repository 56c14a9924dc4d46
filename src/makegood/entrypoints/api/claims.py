"""Claimant routes: submit a claim, and with the receipt token read it, add evidence, answer a
request for information and appeal a denial."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse

from makegood.domain.errors import InputError
from makegood.entrypoints.api import intake, schemas
from makegood.entrypoints.api.deps import Context, client_address, context
from makegood.entrypoints.api.errors import NotSignedIn
from makegood.services import claims as service

router = APIRouter(tags=["claims"])



def receipt_token(
    token: Annotated[str | None, Header(alias="X-Receipt-Token", description="the receipt token")
                     ] = None,
) -> str:
    """The claimant's receipt token; without one the answer is 401. A wrong token, or another
    claim's, gets 404 from the service: the answer never tells whether a claim id exists."""
    if token is None or not token.strip():
        raise NotSignedIn("send the claim's receipt token as X-Receipt-Token")
    return token.strip()


Token = Annotated[str, Depends(receipt_token)]


@router.post("/claims", status_code=status.HTTP_201_CREATED, response_model=schemas.ReceiptOut,
             responses={409: {"model": schemas.ErrorOut}, 422: {"model": schemas.ErrorOut},
                        429: {"model": schemas.ErrorOut}})
async def submit_claim(
    body: schemas.ClaimIn,
    request: Request,
    ctx: Annotated[Context, Depends(context)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response:
    """File a claim. A retry with the same ``Idempotency-Key`` returns the first answer.

    A JSON body is answered by :class:`~makegood.entrypoints.api.intake.ClaimIntake` before it
    reaches this route (the same steps without the routing); other content types come here."""
    receipt = await intake.submit_receipt(ctx, body, client=client_address(request),
                                          idempotency_key=idempotency_key or None)
    headers = {"Idempotent-Replayed": "true"} if receipt.replayed else None
    return JSONResponse(receipt.content(), status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("/claims/{claim_id}", response_model=schemas.ClaimOut,
            responses={404: {"model": schemas.ErrorOut}})
def read_claim(claim_id: str, ctx: Annotated[Context, Depends(context)], token: Token
               ) -> dict[str, Any]:
    """The claim's status, checks and decisions; only with its receipt token."""
    return service.get_by_token(uow=ctx.uow(), claim_id=claim_id, token=token)


@router.post("/claims/{claim_id}/evidence", status_code=status.HTTP_201_CREATED,
             response_model=schemas.EvidenceOut,
             responses={404: {"model": schemas.ErrorOut}, 422: {"model": schemas.ErrorOut}})
def add_evidence(claim_id: str, request: Request, ctx: Annotated[Context, Depends(context)],
                 file: Annotated[UploadFile, File()], token: Token) -> dict[str, Any]:
    """Attach a PDF or an image (size limit: ``MAKEGOOD_EVIDENCE_MAX_BYTES``)."""
    ctx.limiter.take(client_address(request))
    data = file.file.read(ctx.settings.evidence_max_bytes + 1)
    if len(data) > ctx.settings.evidence_max_bytes:
        raise InputError(f"the file is larger than the limit of "
                         f"{ctx.settings.evidence_max_bytes:,} bytes", field="file")
    return service.add_evidence(uow=ctx.uow(), store=ctx.evidence, claim_id=claim_id,
                                token=token, filename=file.filename or "evidence", data=data,
                                max_bytes=ctx.settings.evidence_max_bytes, now=ctx.clock())


@router.post("/claims/{claim_id}/answer", response_model=schemas.ClaimOut,
             responses={404: {"model": schemas.ErrorOut}, 409: {"model": schemas.ErrorOut}})
def answer(claim_id: str, body: schemas.AnswerIn, ctx: Annotated[Context, Depends(context)],
           token: Token) -> dict[str, Any]:
    """Answer a request for information before its cure deadline."""
    return service.answer(uow=ctx.uow(), claim_id=claim_id, token=token, text=body.text,
                          now=ctx.clock())


@router.post("/claims/{claim_id}/appeal", response_model=schemas.ClaimOut,
             responses={404: {"model": schemas.ErrorOut}, 409: {"model": schemas.ErrorOut}})
def appeal(claim_id: str, body: schemas.AppealIn, ctx: Annotated[Context, Depends(context)],
           token: Token) -> dict[str, Any]:
    """Appeal a denial, once."""
    return service.appeal(uow=ctx.uow(), claim_id=claim_id, token=token, reason=body.reason,
                          now=ctx.clock())


@router.get("/incidents")
def open_incidents(ctx: Annotated[Context, Depends(context)]) -> list[dict[str, Any]]:
    """Incidents and their intake windows (what a claim form offers)."""
    with ctx.uow() as uow:
        return [{"id": r.id, "title": r.title, "intake_opens": r.intake_opens,
                 "intake_closes": r.intake_closes} for r in uow.incidents.list_()]
