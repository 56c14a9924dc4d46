"""Reading validated documents (policies, incidents) from parsed TOML tables.

A :class:`Table` hands out typed fields and remembers which keys were read, so that a key nobody
asked for (a typo, an unknown option) is an error naming the file, the rule and the field,
rather than silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from makegood.domain.errors import InputError
from makegood.domain.incident import nfc
from makegood.domain.money import to_decimal
from makegood.domain.windows import parse_duration, parse_timestamp, require_aware

T = TypeVar("T")
_MISSING = object()


def parse_toml(text: str, *, file: str, error: type[InputError]) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes ``error`` naming the file and line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(match.group(1)) if match else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise error(f"malformed TOML: {problem}", file=file, line=line) from None


class Table:
    """A view of one TOML table that reads typed fields and reports unknown keys."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        file: str,
        error: type[InputError],
        rule: str | None = None,
        prefix: str = "",
    ) -> None:
        self.data = data
        self.file = file
        self.error = error
        self.rule = rule
        self.prefix = prefix
        self._read: set[str] = set()

    def fail(self, problem: str, key: str | None = None) -> InputError:
        field = f"{self.prefix}{key}" if key else (self.prefix.rstrip(".") or None)
        return self.error(problem, file=self.file, rule=self.rule, field=field)

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: object) -> object:
        self._read.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.fail("is required", key)
        return default

    def convert(self, key: str, convert: Callable[[Any], T], default: object = _MISSING) -> T:
        value = self._get(key, default)
        if value is default and default is not _MISSING:
            return value  # type: ignore[return-value]
        try:
            return convert(value)
        except InputError as exc:
            raise self.fail(exc.problem, key) from None

    def text(self, key: str, default: object = _MISSING, *, choices: tuple[str, ...] = ()) -> Any:
        def conv(value: Any) -> str:
            if not isinstance(value, str):
                raise InputError(f"{value!r} must be text")
            text = nfc(value)
            if choices and text not in choices:
                raise InputError(f"{text!r} is not one of: {', '.join(choices)}")
            return text

        return self.convert(key, conv, default)

    def integer(self, key: str, default: object = _MISSING, *, minimum: int | None = None) -> Any:
        def conv(value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{value!r} must be a whole number")
            if minimum is not None and value < minimum:
                raise InputError(f"{value} must be at least {minimum}")
            return value

        return self.convert(key, conv, default)

    def flag(self, key: str, default: object = _MISSING) -> Any:
        def conv(value: Any) -> bool:
            if not isinstance(value, bool):
                raise InputError(f"{value!r} must be true or false")
            return value

        return self.convert(key, conv, default)

    def decimal(self, key: str, default: object = _MISSING, *, nonnegative: bool = True) -> Any:
        def conv(value: Any) -> Decimal:
            number = to_decimal(value)
            if nonnegative and number < 0:
                raise InputError(f"{number} must not be negative")
            return number

        return self.convert(key, conv, default)

    def duration(self, key: str, default: object = _MISSING) -> Any:
        def conv(value: Any) -> timedelta:
            if not isinstance(value, str):
                raise InputError(f"{value!r} must be a duration such as '2h' or '3d'")
            return parse_duration(value)

        return self.convert(key, conv, default)

    def timestamp(self, key: str, default: object = _MISSING) -> Any:
        def conv(value: Any) -> datetime:
            if isinstance(value, datetime):
                return require_aware(value)
            if isinstance(value, str):
                return parse_timestamp(value)
            raise InputError(f"{value!r} must be a timestamp with an offset")

        return self.convert(key, conv, default)

    def date(self, key: str, default: object = _MISSING) -> Any:
        def conv(value: Any) -> date:
            if isinstance(value, datetime):
                raise InputError(f"{value!r} must be a date, not a timestamp")
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    raise InputError(f"{value!r} is not a date (YYYY-MM-DD)") from None
            raise InputError(f"{value!r} must be a date (YYYY-MM-DD)")

        return self.convert(key, conv, default)

    def texts(self, key: str, default: object = _MISSING) -> Any:
        def conv(value: Any) -> tuple[str, ...]:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{value!r} must be a list of text")
            return tuple(nfc(v) for v in value)

        return self.convert(key, conv, default)

    def table(self, key: str, *, required: bool = False) -> Table | None:
        value = self._get(key, _MISSING if required else None)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail("must be a table", key)
        return Table(value, file=self.file, error=self.error, rule=self.rule,
                     prefix=f"{self.prefix}{key}.")

    def tables(self, key: str, *, required: bool = False) -> list[Table]:
        value = self._get(key, _MISSING if required else [])
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail("must be a list of tables", key)
        return [
            Table(v, file=self.file, error=self.error, rule=self.rule,
                  prefix=f"{self.prefix}{key}[{i}].")
            for i, v in enumerate(value)
        ]

    def finish(self) -> None:
        """Raise if the table holds a key nobody read (a typo or an unknown option)."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise self.fail(f"unknown option; known here: {', '.join(sorted(self._read))}",
                            unknown[0])
