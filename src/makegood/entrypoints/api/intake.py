"""The claim submission path (``POST /claims``), lean enough for a mass outage's first days.

The app (``app.py``'s ``ClaimsAPI``) hands ``POST /claims`` to :class:`ClaimIntake` before
FastAPI's middleware stack, router and dependency machinery (which cost more CPU than the
submission's own work). A JSON body is answered there: validated with the same Pydantic model
the route documents (``schemas.ClaimIn``, straight from the bytes), rate-limited, submitted,
and the receipt written. Errors get the same bodies as everywhere else (``errors.py``). Other content types
go on to the FastAPI route, which runs the same :func:`submit_receipt`; the route also keeps
``/claims`` in the OpenAPI document.

On PostgreSQL the use case runs on the event loop over the async intake store (two round trips,
one transaction; ``adapters/db/intake_pg.py``); on SQLite it runs in a worker thread over the
unit of work.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.exc import DataError as DatabaseDataError
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makegood.adapters.db.intake_pg import RefusedValue, Unavailable
from makegood.domain.accounts import WeeklySales
from makegood.domain.errors import MakegoodError
from makegood.domain.verification import SalesReport
from makegood.entrypoints.api import errors, schemas
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.api.guard import is_json, json_problem
from makegood.services import claims as service
from makegood.services import claims_intake

log = logging.getLogger("makegood.api")

MAX_BODY = 1 << 20  # a claim is a few kilobytes; its description at most 5,000 characters
MAX_KEY = 200

Reply = tuple[int, dict[str, Any] | str, dict[str, str]]  # status, body (JSON text or data), headers


def to_input(body: schemas.ClaimIn) -> service.ClaimInput:
    sales = None
    if body.sales is not None:
        sales = SalesReport(body.sales.outage_week, tuple(
            WeeklySales(w.week_start, w.amount) for w in body.sales.baseline))
    return service.ClaimInput(
        incident_id=body.incident_id, claimant_kind=body.claimant_kind, name=body.name,
        email=body.email, phone=body.phone, account_id=body.account_id, service=body.service,
        feature=body.feature, category=body.category, start=body.start, end=body.end,
        description=body.description, amount=body.amount, currency=body.currency,
        consent=body.consent, payout_account=body.payout_account, sales=sales)


async def submit_receipt(ctx: Context, body: schemas.ClaimIn, *, client: str,
                         idempotency_key: str | None) -> service.Receipt:
    """Rate-limit, then submit (or replay) the claim on whichever store the context has."""
    await ctx.limiter.take_async(client)
    claim = to_input(body)
    if ctx.intake is not None:
        return await claims_intake.submit(store=ctx.intake, claim=claim, cipher=ctx.cipher,
                                          now=ctx.clock(), client=client,
                                          idempotency_key=idempotency_key)
    return await run_in_threadpool(
        lambda: service.submit(uow=ctx.uow(), claim=claim, cipher=ctx.cipher, now=ctx.clock(),
                               client=client, idempotency_key=idempotency_key))


class ClaimIntake:
    """Answers ``POST /claims`` (JSON) directly; other requests go on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/claims":
            await self.app(scope, receive, send)
            return
        content_type = key = device = None
        accept = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"idempotency-key":
                key = value
            elif name == b"x-device-id":  # the app's install id: a screening signal only
                device = value
            elif name == b"accept-language":
                accept = value
        if not is_json(content_type):
            await self.app(scope, receive, send)
            return
        raw = await _read_body(receive)
        lang = errors.language_of(accept.decode("latin-1"))
        if raw is None:
            await _send(send, 413, errors.too_large_content(MAX_BODY, lang), {})
            return
        answer: Reply
        try:
            answer = await self._submit(scope, raw, key, lang, device)
        except Exception:
            # A bug: logged, and answered as FastAPI's own error handling would, with the
            # catalogue's message (the submission's one statement rolled back: nothing stored).
            log.exception("claim submission failed")
            answer = 500, errors.internal_content(lang), {}
        await _send(send, *answer)

    async def _submit(self, scope: Scope, raw: bytes, key: bytes | None, lang: str,
                      device: bytes | None = None) -> Reply:
        idempotency_key = key.decode("latin-1") if key else None
        if idempotency_key is not None and len(idempotency_key) > MAX_KEY:
            return 422, errors.validation_content([{
                "type": "string_too_long", "loc": ("header", "Idempotency-Key"),
                "ctx": {"max_length": MAX_KEY}}], lang), {}
        try:
            body = schemas.ClaimIn.model_validate_json(raw)
        except ValidationError as exc:
            return 422, errors.validation_content(exc.errors(include_url=False), lang), {}
        problem = json_problem(raw)  # after the parse: valid JSON that repeats a key or nests deep
        if problem is not None:
            return 422, errors.problem_content(*problem, lang), {}
        ctx: Context = scope["app"].state.ctx
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            receipt = await submit_receipt(ctx, body, client=client,
                                           idempotency_key=idempotency_key)
        except MakegoodError as exc:
            return errors.domain_answer(exc, lang)
        except DatabaseDataError as exc:
            return errors.refused_value_answer(str(exc.orig), lang)
        except OperationalError as exc:
            return errors.unavailable_answer(str(exc), lang)
        except RefusedValue as exc:
            return errors.refused_value_answer(str(exc), lang)
        except Unavailable as exc:
            return errors.unavailable_answer(str(exc), lang)
        headers = {"Idempotent-Replayed": "true"} if receipt.replayed else {}
        if ctx.screener is not None and not receipt.replayed:
            ctx.screener.enqueue(receipt.claim_id,  # after the commit, off the request's path
                                 device=device.decode("latin-1")[:100] if device else None)
        return 201, receipt.to_json(), headers


async def _read_body(receive: Receive) -> bytes | None:
    """The request body, or ``None`` when it is larger than :data:`MAX_BODY`."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return bytes(body) if len(body) <= MAX_BODY else None
    parts = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _send(send: Send, status: int, content: dict[str, Any] | str,
                headers: dict[str, str]) -> None:
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    data = content.encode("utf-8")
    raw = [(b"content-type", b"application/json"),
           (b"content-length", str(len(data)).encode("latin-1"))]
    raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    start: Message = {"type": "http.response.start", "status": status, "headers": raw}
    await send(start)
    await send({"type": "http.response.body", "body": data})
