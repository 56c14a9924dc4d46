"""Exports and rosters for payment systems and counsel, and user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from makegood.domain.errors import Conflict, InputError, NotFound
from makegood.domain.staff import Permission, Role
from makegood.entrypoints.api.exports import MEDIA, Format, render
from makegood.entrypoints.web import deps
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form

router = APIRouter(route_class=WebRoute)


@router.get("/console/exports", include_in_schema=False)
def exports(request: Request) -> Response:
    me = deps.staff(request)
    me.require(Permission.READ)
    return page(request, "console/exports.html", incidents=deps.incidents(deps.ctx_of(request)),
                formats=[f.value for f in Format])


@router.get("/console/exports/{name}", include_in_schema=False)
def export_file(name: str, request: Request) -> Response:
    me = deps.staff(request)
    kind, _dot, suffix = name.partition(".")
    if kind not in ("decisions", "roster") or suffix not in {f.value for f in Format}:
        raise NotFound(f"no export {name!r}")
    incident = request.query_params.get("incident") or None
    rows, columns = deps.export_rows(deps.ctx_of(request), me, kind, incident)
    fmt = Format(suffix)
    return Response(render(rows, columns, fmt), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{kind}.{suffix}"'})


@router.get("/console/users", include_in_schema=False)
def users(request: Request) -> Response:
    me = deps.staff(request)
    me.require(Permission.ADMIN)
    ended = request.query_params.get("ended", "")
    return page(request, "console/users.html", users=deps.users(deps.ctx_of(request), me),
                roles=[r.value for r in Role], values={}, errors={},
                done=request.query_params.get("done", "")[:100],
                ended=int(ended) if ended.isdigit() else None)


@router.post("/console/users", include_in_schema=False)
def add_user(request: Request) -> Response:
    me = deps.staff(request)
    me.require(Permission.ADMIN)
    _ = gettext(request)
    ctx = deps.ctx_of(request)
    data = form(request)
    values = {k: str(data.get(k) or "")[:200] for k in ("username", "role")}
    password = str(data.get("password") or "")[:1000]
    errors: dict[str, str] = {}
    if values["role"] not in {r.value for r in Role}:
        errors["role"] = _("Choose a role.")
    if not errors:
        try:
            deps.add_user(ctx, me, username=values["username"], password=password,
                          role=Role(values["role"]))
        except InputError as exc:
            errors[exc.field or "username"] = {
                "username": _("Use 1 to 100 characters without spaces."),
                "password": _("Use a password of at least 10 characters."),
            }.get(exc.field or "", exc.problem)
        except Conflict:
            errors["username"] = _("This user name is taken.")
    if errors:
        return page(request, "console/users.html", status=422, users=deps.users(ctx, me),
                    roles=[r.value for r in Role], values=values, errors=errors, done="",
                    ended=None)
    return RedirectResponse("/console/users?done=" + values["username"], status_code=303)


@router.post("/console/users/{username}/sessions", include_in_schema=False)
def end_sessions(username: str, request: Request) -> Response:
    """End every session of a user (a lost laptop, someone who left)."""
    me = deps.staff(request)
    count = deps.revoke_sessions(deps.ctx_of(request), me, username)
    return RedirectResponse(f"/console/users?ended={count}", status_code=303)
