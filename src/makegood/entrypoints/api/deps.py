"""What every route needs: the unit of work, the clock, the caller's address and staff identity."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy.engine import Engine

from makegood.adapters.db.config import Settings
from makegood.adapters.db.crypto import Cipher
from makegood.adapters.db.evidence import EvidenceStore
from makegood.adapters.db.repository import UnitOfWork
from makegood.domain.errors import PermissionDenied
from makegood.entrypoints.api.errors import NotSignedIn, RateLimited
from makegood.services import staff as staff_service
from makegood.services.claims_intake import IntakeStore
from makegood.services.screening import BackgroundScreener


class RateLimiter:
    """A token bucket per client address: ``per_minute`` requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute, 1))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                raise RateLimited(int((1 - tokens) / self.rate) + 1)
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}


@dataclass
class Context:
    engine: Engine
    settings: Settings
    cipher: Cipher
    evidence: EvidenceStore
    limiter: RateLimiter
    clock: Callable[[], datetime]
    intake: IntakeStore | None = None  # the async submission store (PostgreSQL)
    screener: BackgroundScreener | None = None  # screens each new claim after it is filed

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine)


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
