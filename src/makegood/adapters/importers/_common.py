"""What every importer needs: reading a source file, parsing its timestamps, and saying where
in the source a problem is (file, line or row, field) when the input is not the stated format.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from makegood.domain.errors import IncidentError, InputError
from makegood.domain.windows import parse_timestamp

_FRACTION = re.compile(r"(\.\d{6})\d+")
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise IncidentError("no such file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IncidentError(f"cannot read: {exc}", file=str(path)) from None


def load_json(path: Path, *, what: str) -> Any:
    """Parse a JSON file; numbers with a fraction become ``Decimal`` (never float)."""
    text = read_text(path)
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise IncidentError(f"not {what} (malformed JSON: {exc.msg}, column {exc.colno})",
                            file=str(path), line=exc.lineno) from None


def instant(value: Any, *, file: str, field: str) -> datetime:
    """An RFC 3339 timestamp with an offset; Go's nanoseconds are cut to microseconds."""
    if not isinstance(value, str):
        raise IncidentError(f"{value!r} is not a timestamp", file=file, field=field)
    try:
        return parse_timestamp(_FRACTION.sub(r"\1", value), field=field)
    except InputError:
        # quote the value as written in the file (not with its nanoseconds cut)
        problem = ("has no time zone; write it with an offset such as +09:00 or Z"
                   if _NAIVE.match(value.strip()) else "is not an RFC 3339 timestamp")
        raise IncidentError(f"timestamp {value!r} {problem}", file=file, field=field) from None


def unix_instant(value: Any, *, file: str, field: str) -> datetime:
    """Seconds since the epoch (a JSON number, read as Decimal) as an aware UTC instant."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise IncidentError(f"{value!r} is not a Unix timestamp", file=file, field=field)
    try:
        seconds = Decimal(value)
    except ArithmeticError:
        raise IncidentError(f"{value!r} is not a Unix timestamp", file=file, field=field) from None
    if not seconds.is_finite():
        raise IncidentError(f"{value!r} is not a Unix timestamp", file=file, field=field)
    micros = int((seconds * 1_000_000).to_integral_value())
    return EPOCH + timedelta(microseconds=micros)


def mapping(value: Any, *, file: str, field: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise IncidentError(f"expected {what} (a JSON object), found {_kind(value)}",
                            file=file, field=field)
    return value


def array(value: Any, *, file: str, field: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise IncidentError(f"expected {what} (a JSON array), found {_kind(value)}",
                            file=file, field=field)
    return value


def text(value: Any, *, file: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IncidentError(f"expected a non-empty text, found {_kind(value)}", file=file, field=field)
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def incident_names(data: Any) -> list[str]:
    """The ``name`` of each incident in a status-page JSON document (any of its envelopes)."""
    if isinstance(data, dict) and isinstance(data.get("incidents"), list):
        items = data["incidents"]
    elif isinstance(data, dict) and isinstance(data.get("incident"), dict):
        items = [data["incident"]]
    elif isinstance(data, dict):
        items = [data]
    else:
        items = data if isinstance(data, list) else []
    return [i["name"].strip() for i in items
            if isinstance(i, dict) and isinstance(i.get("name"), str) and i["name"].strip()]
