"""What every route needs: the unit of work, the clock, the caller's address and staff identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy.engine import Engine

from makegood import bootstrap
from makegood.adapters.ratelimit import RateLimiter
from makegood.config import Settings
from makegood.domain.errors import PermissionDenied
from makegood.entrypoints.api.errors import NotSignedIn
from makegood.services import staff as staff_service
from makegood.services.ports import Cipher, EvidenceStore, IntakeStore, UnitOfWork
from makegood.services.screening import BackgroundScreener


@dataclass
class Context:
    """What every route receives (built by :func:`makegood.bootstrap.api_context`)."""

    engine: Engine  # the database
    settings: Settings
    cipher: Cipher
    evidence: EvidenceStore
    limiter: RateLimiter
    clock: Callable[[], datetime]
    intake: IntakeStore | None = None  # the async submission store (PostgreSQL)
    screener: BackgroundScreener | None = None  # screens each new claim after it is filed

    def uow(self) -> UnitOfWork:
        return bootstrap.unit_of_work(self.engine)


async def context(request: Request) -> Context:
    # async: FastAPI runs a sync dependency in the thread pool, a hop that costs more than this.
    ctx: Context = request.app.state.ctx
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_staff(request: Request) -> staff_service.StaffUser:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotSignedIn("sign in first: send Authorization: Bearer <token>")
    ctx: Context = request.app.state.ctx
    try:
        return staff_service.authenticate(uow=ctx.uow(), token=token.strip(), now=ctx.clock())
    except PermissionDenied as exc:
        raise NotSignedIn(str(exc)) from None
