"""Staff sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from makegood.domain.errors import PermissionDenied, TooManyAttempts
from makegood.entrypoints.web import deps
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import STAFF_COOKIE, WebRoute, form, set_cookie

router = APIRouter(route_class=WebRoute)


@router.get("/console/login", include_in_schema=False)
def login_form(request: Request) -> Response:
    return page(request, "console/login.html", values={}, errors={})


@router.post("/console/login", include_in_schema=False)
def login(request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    data = form(request)
    username = str(data.get("username") or "").strip()[:100]
    password = str(data.get("password") or "")[:1000]
    errors = {}
    if not username:
        errors["username"] = _("Enter your user name.")
    if not password:
        errors["password"] = _("Enter your password.")
    if not errors:
        try:
            token = deps.login(ctx, username, password, client_address=deps.client(request))
        except PermissionDenied:
            errors["form"] = _("Wrong user name or password.")
        except TooManyAttempts as exc:
            errors["form"] = _("Too many failed sign-ins. Try again in {seconds} seconds.").format(
                seconds=exc.retry_after)
            return page(request, "console/login.html", status=429,
                        values={"username": username}, errors=errors)
        else:
            response = RedirectResponse("/console", status_code=303)
            set_cookie(response, request, STAFF_COOKIE, token, samesite="strict",
                       max_age=ctx.settings.session_hours * 3600)
            return response
    return page(request, "console/login.html", status=422, values={"username": username},
                errors=errors)


@router.post("/console/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    deps.logout(request)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response
