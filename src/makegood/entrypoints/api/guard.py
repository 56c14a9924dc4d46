"""The request body guard: every body is limited while it streams in, and JSON bodies are checked
for what a JSON parser would silently accept.

Without it, only ``POST /claims`` had a limit: a 200 MiB JSON body to an answer route was parsed
whole, and a 50 MB upload was received in full before the size check and the rate limit. Here a
declared ``Content-Length`` above the limit is refused before a byte is read, and a body sent in
chunks is refused as soon as it passes the limit (the rest is never read). Multipart bodies (file
uploads) get the evidence limit plus room for the form; everything else gets :data:`MAX_BODY`.

JSON bodies must not repeat a key in one object (``{"amount": 1, "amount": 9000000}`` is refused,
not read as the last value) and must not nest deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makegood.entrypoints.api import errors

MAX_BODY = 1 << 20  # a claim or an answer is a few kilobytes
FORM_ROOM = 1 << 20  # the fields around an uploaded file
MAX_DEPTH = 32


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def _depth(raw: bytes) -> int:
    """How deep brackets nest outside strings (a scan, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def json_problem(raw: bytes) -> tuple[str, str] | None:
    """``(field, problem)`` when a JSON body repeats a key or nests too deep; ``None`` otherwise
    (and for text that is not JSON at all, which the route's own parser reports)."""
    if _depth(raw) > MAX_DEPTH:
        return "body", f"the JSON nests deeper than {MAX_DEPTH} levels"
    try:
        json.loads(raw, object_pairs_hook=_refuse_duplicates)
    except DuplicateKey as exc:
        return str(exc), f"the key {str(exc)!r} appears twice in one JSON object"
    except (ValueError, RecursionError):
        return None
    return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/")
                                           and kind.endswith(b"+json"))


class BodyGuard:
    """ASGI middleware: limits and checks request bodies before ``app`` sees them."""

    def __init__(self, app: ASGIApp, *, upload_limit: Callable[[], int]) -> None:
        self.app = app
        self.upload_limit = upload_limit

    def limit_for(self, content_type: bytes | None) -> int:
        if content_type and content_type.lower().startswith(b"multipart/"):
            return self.upload_limit() + FORM_ROOM
        return MAX_BODY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        lang = errors.language_of((_header(scope, b"accept-language") or b"").decode("latin-1"))
        limit = self.limit_for(content_type)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _reply(send, 413, errors.too_large_content(limit, lang))
            return
        body = await read_limited(receive, limit)
        if body is None:
            await _reply(send, 413, errors.too_large_content(limit, lang))
            return
        if body and is_json(content_type):
            problem = json_problem(body)
            if problem is not None:
                field, text = problem
                await _reply(send, 422, errors.problem_content(field, text, lang))
                return
        await self.app(scope, _replay(body, receive), send)


async def read_limited(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` as soon as it passes ``limit`` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the disconnect, when the client goes away

    return replay


async def _reply(send: Send, status: int, content: dict[str, Any]) -> None:
    data = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": data})
