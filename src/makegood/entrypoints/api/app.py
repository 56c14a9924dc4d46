"""The API's app factory: the app, its routes and lifespan over :func:`makegood.bootstrap.api_context`."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.types import Receive, Scope, Send

import makegood
from makegood import bootstrap
from makegood.bootstrap import utc_now
from makegood.config import Settings
from makegood.entrypoints.api import claims, errors, exports, openapi, staff
from makegood.entrypoints.api.guard import BodyGuard
from makegood.entrypoints.api.intake import ClaimIntake
from makegood.services.screening import BackgroundScreener

__all__ = ["ClaimsAPI", "create_app", "utc_now"]


class ClaimsAPI(FastAPI):
    """The FastAPI app, with ``POST /claims`` handed to :class:`ClaimIntake` before FastAPI's
    middleware stack and router (which cost more CPU than the submission's own work)."""

    def __init__(self, *, upload_limit: Callable[[], int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.intake = ClaimIntake(self._route)
        self.guarded = BodyGuard(self._route, upload_limit=upload_limit)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/claims" and scope["method"] == "POST":
            scope["app"] = self
            await self.intake(scope, receive, send)
        else:
            await self.guarded(scope, receive, send)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               clock: Callable[[], datetime] = utc_now, web: bool = True,
               screen_at_intake: bool | None = None) -> FastAPI:
    """The API for ``settings`` (from the environment by default), with the portal and console
    pages unless ``web`` is false; the database must be migrated (``makegood db upgrade``).
    ``screen_at_intake`` (default: the environment variable ``MAKEGOOD_SCREEN_AT_INTAKE``, which
    ``makegood serve`` sets) screens each new claim on a background thread after it is filed."""
    ctx = bootstrap.api_context(settings, db=engine, clock=clock)
    store = ctx.intake
    if screen_at_intake is None:
        screen_at_intake = os.environ.get("MAKEGOOD_SCREEN_AT_INTAKE", "") in ("1", "true", "yes")
    if screen_at_intake:
        ctx.screener = BackgroundScreener(uow=ctx.uow, cipher=ctx.cipher, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What start-up created (modules, models, the app) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise pause a busy worker for tens of
        # milliseconds (the intake benchmark's p99).
        gc.freeze()
        yield
        if store is not None:
            await store.close()
        if app.state.ctx.screener is not None:
            app.state.ctx.screener.close()

    app = ClaimsAPI(
        upload_limit=lambda: ctx.settings.evidence_max_bytes,
        title="makegood claims",
        version=getattr(makegood, "__version__", "0.1.0"),
        description="Claims after a mass service outage: intake, verification, review, exports.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app)
    app.include_router(claims.router)
    app.include_router(staff.router)
    app.include_router(exports.router)

    if web:
        from makegood.entrypoints import web as web_pages

        web_pages.install(app)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
