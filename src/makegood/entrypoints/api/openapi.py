"""The OpenAPI document as the API behaves, so that generated clients work.

FastAPI documents every 422 as its own validation body (``detail`` an array) and knows nothing of
the statuses our error handlers produce. Here the generated document is corrected once, after
FastAPI builds it: every error status any route can answer refers to :class:`ErrorOut`, staff
routes declare the bearer scheme and their 401/403, claimant routes their receipt-token header,
and every route its 429 and 503 where they apply. ``allowed_methods`` gives a 405 the ``Allow``
header of every route on the path, not only the first one the router tried.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import Match

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_DESCRIPTIONS = {
    "400": "Bad request", "401": "Not signed in, or the session ended",
    "403": "The role or token does not allow this", "404": "Not found",
    "405": "Method not allowed", "409": "Conflicts with the stored state",
    "413": "The body is larger than the limit", "422": "Invalid input, with the fields",
    "429": "Too many requests; see Retry-After", "503": "Storage unavailable; see Retry-After",
}
_PUBLIC = {"/health", "/staff/login", "/incidents"}


def _error(status: str) -> dict[str, Any]:
    return {"description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": ERROR_REF}}}


def _statuses(path: str, method: str) -> list[str]:
    found = ["422", "503"] if path != "/health" else []
    if method in ("post", "put", "patch"):
        found.append("413")
    if path.startswith("/staff") and path != "/staff/login":
        found += ["401", "403", "404", "409"]
    elif path.startswith("/claims/"):
        found += ["403", "404", "409"]
    if path in ("/claims", "/staff/login") or path.endswith("/evidence"):
        found.append("429")
    return found


def build(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document for ``app``, with the error bodies and security schemes corrected."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    if "ErrorOut" not in schemas:  # every route's errors refer to it, used by a route or not
        from makegood.entrypoints.api.schemas import ErrorOut

        schemas["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["ErrorOut"].pop("$defs", {}))
    doc["components"]["securitySchemes"] = {
        "staffBearer": {"type": "http", "scheme": "bearer",
                        "description": "The token from POST /staff/login."},
        "receiptToken": {"type": "apiKey", "in": "header", "name": "X-Receipt-Token",
                         "description": "The receipt token given when the claim was filed."},
    }
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method):
                responses[status] = _error(status)
            if path.startswith("/staff") and path not in _PUBLIC:
                operation["security"] = [{"staffBearer": []}]
            elif path.startswith("/claims/"):
                operation["security"] = [{"receiptToken": []}]
                operation["parameters"] = [
                    p for p in operation.get("parameters", [])
                    if not (p.get("in") == "header" and p.get("name", "").lower()
                            == "x-receipt-token")]
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route answers on ``path`` (asked of the router itself, so routes from
    included routers count too)."""
    methods = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope: dict[str, Any] = {"type": "http", "path": path, "method": method, "root_path": "",
                                 "path_params": {}, "headers": [], "query_string": b""}
        if any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            methods.append(method)
    return methods
