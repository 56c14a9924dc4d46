"""The operator console (``/console``): sign-in, the dashboard, the incident, the claims queue
and claim detail, compensation runs, notice campaigns, exports and rosters, and user administration.

Every page needs a staff session (the ``mg_staff`` cookie holds the claims service's sign-in
token, HttpOnly and SameSite=Strict); every action checks the role in the claims service.
"""

from __future__ import annotations

from fastapi import APIRouter

from makegood.entrypoints.web.console import admin, auth, claims, dashboard, notices, runs

routers: list[APIRouter] = [auth.router, dashboard.router, claims.router, runs.router,
                            notices.router, admin.router]
