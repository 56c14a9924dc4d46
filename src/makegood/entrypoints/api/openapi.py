"""The OpenAPI document as the API behaves, so that generated clients work.

FastAPI documents every 422 as its own validation body (``detail`` an array) and knows nothing of
the statuses our error handlers produce. Here the generated document is corrected once, after
FastAPI builds it: every error status any route can answer refers to :class:`ErrorOut`, staff
routes declare the bearer scheme and their 401/403, claimant routes their receipt-token header,
and every route its 429 and 503 where they apply. ``allowed_methods`` gives a 405 the ``Allow``
header of every route on the path, not only the first one the router tried.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_DESCRIPTIONS = {
    "400": "The body cannot be parsed (invalid UTF-8 or JSON text, a broken multipart form)",
    "401": "Not signed in, or the session ended",
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
        found += ["400", "413"]
    if path == "/staff/login":
        found.append("403")
    if path.startswith("/staff") and path != "/staff/login":
        found += ["401", "403", "404", "409"]
    elif path.startswith("/claims/"):
        found += ["401", "404", "409"]
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
    """Every method the resource at ``path`` answers, as the OpenAPI document lists them. Where a
    route names the path literally (``/staff/claims/import``), routes that only reach it through a
    parameter (``/staff/claims/{claim_id}``) do not count."""
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    if path in paths:
        found = {m.upper() for m in paths[path]}
    else:
        found = set()
        for template, operations in paths.items():
            pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                found |= {m.upper() for m in operations}
    if "GET" in found:
        found.add("HEAD")
    return sorted(found)
