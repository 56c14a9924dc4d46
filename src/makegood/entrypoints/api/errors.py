"""Mapping errors to HTTP: the domain's exception tree and request validation become 4xx bodies
with field-level messages in Korean or English (by ``Accept-Language``); nothing becomes a 500.

::

    InputError (IntakeClosed included) -> 422     NotFound         -> 404
    a value the database refuses       -> 422     (RefusedValue on the intake path)
    Conflict                           -> 409     PermissionDenied -> 403 (401 when not signed in)
    RequestValidationError             -> 422     rate limit       -> 429
    database unavailable               -> 503     (Unavailable on the intake path)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError as DatabaseDataError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from makegood.adapters.db.intake_pg import RefusedValue, Unavailable
from makegood.domain.claims import IntakeClosed
from makegood.domain.errors import (
    Conflict,
    InputError,
    MakegoodError,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)

log = logging.getLogger("makegood.api")


class NotSignedIn(PermissionDenied):
    """No staff token, or an expired one."""


def language(request: Request) -> str:
    """``ko`` when Korean is preferred over English in ``Accept-Language``, else ``en``."""
    return language_of(request.headers.get("accept-language", ""))


def language_of(header: str) -> str:
    """``ko`` when Korean is preferred over English in an ``Accept-Language`` value, else ``en``."""
    if not header:
        return "en"
    best, best_q = "en", -1.0
    for part in header.split(","):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        lang = tag.strip().lower()[:2]
        if lang in ("ko", "en") and q > best_q:
            best, best_q = lang, q
    return best


# Messages of request validation, by pydantic error type.
_VALIDATION: dict[str, tuple[str, str]] = {
    "missing": ("is required", "필수 항목입니다"),
    "string_too_short": ("is too short (at least {min_length} characters)",
                         "너무 짧습니다 (최소 {min_length}자)"),
    "string_too_long": ("is too long (at most {max_length} characters)",
                        "너무 깁니다 (최대 {max_length}자)"),
    "too_short": ("has too few items (at least {min_length})", "항목이 너무 적습니다 (최소 {min_length}개)"),
    "too_long": ("has too many items (at most {max_length})", "항목이 너무 많습니다 (최대 {max_length}개)"),
    "enum": ("must be one of: {expected}", "다음 중 하나여야 합니다: {expected}"),
    "literal_error": ("must be one of: {expected}", "다음 중 하나여야 합니다: {expected}"),
    "timezone_aware": ("needs a time zone offset such as +09:00 or Z",
                       "시간대(예: +09:00 또는 Z)가 있어야 합니다"),
    "datetime_parsing": ("is not a date and time (ISO 8601 with an offset)",
                         "날짜와 시각(ISO 8601, 시간대 포함) 형식이 아닙니다"),
    "datetime_from_date_parsing": ("is not a date and time (ISO 8601 with an offset)",
                                   "날짜와 시각(ISO 8601, 시간대 포함) 형식이 아닙니다"),
    "datetime_type": ("is not a date and time", "날짜와 시각이 아닙니다"),
    "date_parsing": ("is not a date (YYYY-MM-DD)", "날짜(YYYY-MM-DD) 형식이 아닙니다"),
    "date_from_datetime_parsing": ("is not a date (YYYY-MM-DD)", "날짜(YYYY-MM-DD) 형식이 아닙니다"),
    "decimal_parsing": ("is not a number", "숫자가 아닙니다"),
    "decimal_type": ("is not a number", "숫자가 아닙니다"),
    "decimal_max_digits": ("has too many digits", "자릿수가 너무 많습니다"),
    "decimal_max_places": ("has too many decimal places", "소수 자릿수가 너무 많습니다"),
    "greater_than_equal": ("must be at least {ge}", "{ge} 이상이어야 합니다"),
    "less_than_equal": ("must be at most {le}", "{le} 이하여야 합니다"),
    "int_parsing": ("is not a whole number", "정수가 아닙니다"),
    "int_type": ("is not a whole number", "정수가 아닙니다"),
    "bool_parsing": ("is not true or false", "true 또는 false 여야 합니다"),
    "bool_type": ("is not true or false", "true 또는 false 여야 합니다"),
    "string_type": ("must be text", "문자열이어야 합니다"),
    "extra_forbidden": ("is not a known field", "알 수 없는 항목입니다"),
    "json_invalid": ("the body is not valid JSON", "요청 본문이 올바른 JSON이 아닙니다"),
    "model_attributes_type": ("must be an object", "객체여야 합니다"),
    "dict_type": ("must be an object", "객체여야 합니다"),
    "list_type": ("must be a list", "목록이어야 합니다"),
}

# Korean for the domain's field-level problems, by field (the English problem is kept in detail).
_KO_FIELD: dict[str, str] = {
    "email": "올바른 이메일 주소가 아닙니다",
    "phone": "올바른 전화번호가 아닙니다",
    "consent": "청구를 접수하려면 개인정보 처리에 동의해야 합니다",
    "end": "청구 기간의 종료 시각은 시작 시각보다 늦어야 합니다",
    "currency": "ISO 4217 통화 코드(예: KRW)가 아닙니다",
    "payout_account": "올바른 계좌번호가 아닙니다",
    "sales": "소상공인의 매출 손실 청구에는 주간 매출이 필요합니다",
    "service": "이 장애의 영향을 받은 서비스가 아닙니다",
    "incident_id": "해당 장애가 없습니다",
    "file": "PDF 또는 이미지 파일(최대 크기 이내)만 받을 수 있습니다",
    "amount": "금액이 올바르지 않습니다",
    "reason_code": "거절에는 사유 코드가 필요합니다",
    "cure_days": "보완 기한(1~120일)을 지정해야 합니다",
    "note": "필요한 정보를 적어야 합니다",
    "username": "사용자 이름이 올바르지 않습니다",
    "password": "비밀번호가 너무 짧습니다",
}

_KO_KIND: dict[str, str] = {
    "invalid_input": "입력값이 올바르지 않습니다",
    "intake_closed": "이 장애의 피해 접수 기간이 아닙니다",
    "not_found": "요청한 항목을 찾을 수 없습니다",
    "conflict": "현재 상태에서는 처리할 수 없는 요청입니다",
    "forbidden": "이 작업을 할 권한이 없습니다",
    "not_signed_in": "로그인이 필요합니다",
    "rate_limited": "요청이 너무 많습니다. 잠시 후 다시 시도하세요",
    "unavailable": "서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도하세요",
    "http": "요청을 처리할 수 없습니다",
    "internal": "요청을 처리하지 못했습니다. 아무것도 저장되지 않았습니다",
}

_EN_KIND: dict[str, str] = {
    "invalid_input": "the request has invalid fields",
    "intake_closed": "claims for this incident are not being accepted now",
    "not_found": "not found",
    "conflict": "the request conflicts with the claim's current state",
    "forbidden": "your role does not allow this",
    "not_signed_in": "sign in first",
    "rate_limited": "too many requests; retry later",
    "unavailable": "the service is briefly unavailable; retry later",
    "http": "the request cannot be handled",
    "internal": "the request failed; nothing was stored",
}


def _field_name(loc: Sequence[int | str]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _body(code: str, lang: str, detail: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    catalog = _KO_KIND if lang == "ko" else _EN_KIND
    return {"code": code, "message": catalog[code], "detail": detail, "errors": errors}


def validation_errors(errors: Sequence[Any], lang: str) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        kind = err.get("type", "")
        ctx = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
               for k, v in (err.get("ctx") or {}).items()}
        if kind in _VALIDATION:
            template = _VALIDATION[kind][1 if lang == "ko" else 0]
            try:
                message = template.format(**ctx)
            except (KeyError, IndexError):
                message = template
        else:
            message = ("값이 올바르지 않습니다: " if lang == "ko" else "") + str(err.get("msg", kind))
        out.append({"field": _field_name(err.get("loc", ())), "message": message})
    return out


def input_error(exc: InputError, lang: str) -> dict[str, Any]:
    if lang == "ko":
        message = _KO_FIELD.get(exc.field or "", "값이 올바르지 않습니다")
        if isinstance(exc, IntakeClosed):
            message = _KO_KIND["intake_closed"]
        if exc.problem == "is empty":
            message = "비어 있습니다"
        message = f"{message} ({exc.problem})"
    else:
        message = exc.problem
    code = "intake_closed" if isinstance(exc, IntakeClosed) else "invalid_input"
    return _body(code, lang, exc.message, [{"field": exc.field, "message": message}])


def validation_content(errors: Sequence[Any], lang: str) -> dict[str, Any]:
    found = validation_errors(errors, lang)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in found)
    return _body("invalid_input", lang, detail, found)


Answer = tuple[int, dict[str, Any], dict[str, str]]


def domain_answer(exc: MakegoodError, lang: str) -> Answer:
    """Status, body and headers for an error of the domain's tree."""
    headers: dict[str, str] = {}
    if isinstance(exc, InputError):
        return 422, input_error(exc, lang), headers
    if isinstance(exc, NotFound):
        status, code = 404, "not_found"
    elif isinstance(exc, Conflict):
        status, code = 409, "conflict"
    elif isinstance(exc, NotSignedIn):
        status, code = 401, "not_signed_in"
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, PermissionDenied):
        status, code = 403, "forbidden"
    elif isinstance(exc, TooManyAttempts):
        status, code = 429, "rate_limited"
        headers["Retry-After"] = str(exc.retry_after)
    else:
        status, code = 400, "http"
    return status, _body(code, lang, str(exc), []), headers


def refused_value_answer(problem: str, lang: str) -> Answer:
    """A value the database refuses (a NUL character in text, a number out of range)."""
    message = ("데이터베이스에 저장할 수 없는 값이 있습니다" if lang == "ko"
               else "a value cannot be stored (a NUL character, or a number out of range)")
    return 422, _body("invalid_input", lang, problem.splitlines()[0] if problem else problem,
                      [{"field": None, "message": message}]), {}


def unavailable_answer(problem: str, lang: str) -> Answer:
    log.error("database unavailable: %s", problem.splitlines()[0] if problem else problem)
    return 503, _body("unavailable", lang, "database unavailable", []), {"Retry-After": "5"}


def too_large_content(limit: int, lang: str) -> dict[str, Any]:
    message = (f"요청 본문이 너무 큽니다 (최대 {limit:,}바이트)" if lang == "ko"
               else f"the body is larger than the limit of {limit:,} bytes")
    return _body("http", lang, message, [{"field": None, "message": message}])


def problem_content(field: str | None, problem: str, lang: str) -> dict[str, Any]:
    """A 422 body for a problem found before the route's own validation (e.g. a repeated key)."""
    message = f"값이 올바르지 않습니다 ({problem})" if lang == "ko" else problem
    return _body("invalid_input", lang, problem, [{"field": field, "message": message}])


def internal_content(lang: str) -> dict[str, Any]:
    return _body("internal", lang, "internal error", [])


def _respond(answer: Answer) -> JSONResponse:
    status, body, headers = answer
    return JSONResponse(body, status_code=status, headers=headers or None)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_content(exc.errors(), language(request)), status_code=422)

    @app.exception_handler(MakegoodError)
    async def on_domain(request: Request, exc: MakegoodError) -> JSONResponse:
        return _respond(domain_answer(exc, language(request)))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = language(request)
        code = {404: "not_found", 401: "not_signed_in", 403: "forbidden"}.get(exc.status_code, "http")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every route on the path, not only the first one tried
            from makegood.entrypoints.api.openapi import allowed_methods

            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        return JSONResponse(_body(code, lang, str(exc.detail), []), status_code=exc.status_code,
                            headers=headers or None)

    @app.exception_handler(DatabaseDataError)
    async def on_database_data(request: Request, exc: DatabaseDataError) -> JSONResponse:
        return _respond(refused_value_answer(str(exc.orig), language(request)))

    @app.exception_handler(OperationalError)
    async def on_database(request: Request, exc: OperationalError) -> JSONResponse:
        return _respond(unavailable_answer(str(exc), language(request)))

    # The intake path on PostgreSQL talks to its driver directly (adapters/db/intake_pg.py).
    @app.exception_handler(RefusedValue)
    async def on_intake_value(request: Request, exc: RefusedValue) -> JSONResponse:
        return _respond(refused_value_answer(str(exc), language(request)))

    @app.exception_handler(Unavailable)
    async def on_intake_unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return _respond(unavailable_answer(str(exc), language(request)))
