"""What every web page gets: security headers, a session id cookie, CSRF tokens on forms,
HTML error pages instead of JSON, and the language of the request.

:class:`WebRoute` wraps each page handler. Before it runs: the session id (a random value in an
HttpOnly, SameSite=Lax cookie, Secure over https), the language, and on POST the parsed form,
whose ``csrf_token`` must equal an HMAC of the session id (a form posted from another site, or
after the cookie was lost, is refused with 403 and nothing is changed). After it runs: the
Content-Security-Policy (no inline scripts or styles), ``nosniff``, no framing, no referrer
(resume and tracking links carry tokens), and no caching of pages that show personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import RedirectResponse

from makegood.domain.errors import MakegoodError
from makegood.entrypoints.web import i18n

SID_COOKIE = "mg_sid"
STAFF_COOKIE = "mg_staff"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
MAX_FORM_FILES = 10
MAX_FORM_FIELDS = 200
MAX_PART_BYTES = 1024 * 1024  # a text field; files are limited by the evidence limit


class LoginRequired(Exception):
    """A console page was asked for without a valid staff session."""


class CsrfFailed(Exception):
    """A form came without the token of this session."""


class BadForm(Exception):
    """A form too large or malformed to read (too many files or fields, a huge field)."""


def csrf_token(secret: bytes, sid: str) -> str:
    return hmac.new(secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               max_age: int | None = None, samesite: str = "lax", path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True,
                        samesite=samesite,  # type: ignore[arg-type]
                        secure=is_secure(request))


def form(request: Request) -> FormData:
    """The parsed form of a POST (read by :class:`WebRoute` before the handler)."""
    data: FormData = request.state.form
    return data


class WebRoute(APIRoute):
    """The route class of every web page (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            from makegood.entrypoints.web.render import error_page

            sid = request.cookies.get(SID_COOKIE, "")
            fresh = not (20 <= len(sid) <= 64 and sid.isascii())
            if fresh:
                sid = secrets.token_urlsafe(24)
            request.state.sid = sid
            request.state.csrf = csrf_token(request.app.state.web_secret, sid)
            request.state.lang = i18n.choose(request.cookies.get(i18n.LANG_COOKIE),
                                             request.headers.get("accept-language", ""))
            try:
                if request.method == "POST":
                    if request.url.path.startswith("/portal"):  # the API's limit on claimants
                        await request.app.state.ctx.limiter.take_async(
                            request.client.host if request.client else "unknown")
                    await _read_form(request, fresh)
                response = await handler(request)
            except LoginRequired:
                response = RedirectResponse("/console/login", status_code=303)
            except CsrfFailed:
                response = error_page(request, 403, "csrf", "")
            except BadForm:
                response = error_page(request, 413, "form", "")
            except MakegoodError as exc:
                response = error_page(request, _status(exc), type(exc).__name__, str(exc))
            except RequestValidationError:
                response = error_page(request, 404, "NotFound", "")
            except HTTPException as exc:
                response = error_page(request, exc.status_code, "http", str(exc.detail))
            except ClientDisconnect:
                response = Response(status_code=400)
            for key, value in HEADERS.items():
                response.headers.setdefault(key, value)
            response.headers.setdefault("Cache-Control", "no-store")
            if fresh:
                set_cookie(response, request, SID_COOKIE, sid)
            return response

        return page


async def _read_form(request: Request, fresh: bool) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        try:
            data = await request.form(max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS,
                                      max_part_size=MAX_PART_BYTES)
        except HTTPException:
            raise BadForm from None
    else:
        data = FormData()
    request.state.form = data
    token = data.get("csrf_token")
    if fresh or not isinstance(token, str) or not hmac.compare_digest(token, request.state.csrf):
        raise CsrfFailed


def _status(exc: MakegoodError) -> int:
    from makegood.domain.errors import (
        Conflict,
        InputError,
        NotFound,
        PermissionDenied,
        TooManyAttempts,
    )

    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, TooManyAttempts):
        return 429
    return 400
