"""The web: the claimant portal (``/portal``) and the operator console (``/console``),
server-rendered on the claims API's FastAPI app.

:func:`install` adds the pages to an app made by
:func:`makegood.entrypoints.api.app.create_app`; the API's own routes, and the lean path that
takes claim submissions, are untouched. See docs/web.md.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the portal and the console on ``app`` (whose ``state.ctx`` is the API context)."""
    from makegood.entrypoints.web import console, filing, portal, tracking

    ctx = app.state.ctx
    # The CSRF key, derived from the service's current key (a rotation takes effect on restart).
    app.state.web_secret = hashlib.sha256(b"makegood-web\0" + ctx.cipher.keys[0]).digest()
    for router in (portal.router, filing.router, tracking.router, *console.routers):
        app.include_router(router)
