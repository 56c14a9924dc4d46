"""Time windows: half-open ``[start, end)`` intervals of timezone-aware UTC instants.

The algebra every rule builds on: union (merging), intersection, clipping to a period, total
duration, the longest continuous stretch. Local days, months and working days are in
:mod:`makegood.domain.local_calendar`.
A naive timestamp is an input error, never silently assumed to be UTC or local.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from makegood.domain.errors import InputError

ZERO = timedelta(0)


def require_aware(value: datetime, *, field: str = "timestamp") -> datetime:
    """Return ``value`` in UTC; raise :class:`InputError` if it carries no time zone."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InputError(
            f"timestamp {value.isoformat()} has no time zone; write it with an offset "
            "such as +09:00 or Z",
            field=field,
        )
    return value.astimezone(UTC)


def parse_timestamp(text: str, *, field: str = "timestamp") -> datetime:
    """Parse an ISO 8601 timestamp with an offset (``Z`` allowed) into an aware UTC datetime."""
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{raw!r} is not an ISO 8601 timestamp", field=field) from None
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        # quoted as written, so the user finds it in the file
        raise InputError(f"timestamp {raw!r} has no time zone; write it with an offset "
                         "such as +09:00 or Z", field=field)
    return value.astimezone(UTC)


@dataclass(frozen=True, order=True, slots=True)
class Window:
    """A half-open interval ``[start, end)`` of UTC instants; ``start < end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = require_aware(self.start, field="start")
        end = require_aware(self.end, field="end")
        if end <= start:
            raise InputError(
                f"window ends ({end.isoformat()}) at or before it starts ({start.isoformat()})",
                field="end",
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def intersection(self, other: Window) -> Window | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if start < end else None

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def union(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Merge overlapping and touching windows; the result is sorted and disjoint."""
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.start <= merged[-1].end:
            if window.end > merged[-1].end:
                merged[-1] = Window(merged[-1].start, window.end)
        else:
            merged.append(window)
    return tuple(merged)


def intersect(a: Iterable[Window], b: Iterable[Window]) -> tuple[Window, ...]:
    """The instants covered by both ``a`` and ``b``, merged."""
    left, right = union(a), union(b)
    out: list[Window] = []
    i = j = 0
    while i < len(left) and j < len(right):
        piece = left[i].intersection(right[j])
        if piece is not None:
            out.append(piece)
        if left[i].end < right[j].end:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(a: Iterable[Window], b: Iterable[Window]) -> tuple[Window, ...]:
    """The instants of ``a`` not covered by ``b``, merged."""
    out: list[Window] = []
    cuts = union(b)
    for window in union(a):
        cursor = window.start
        for cut in cuts:
            if cut.end <= cursor or cut.start >= window.end:
                continue
            if cut.start > cursor:
                out.append(Window(cursor, cut.start))
            cursor = max(cursor, cut.end)
        if cursor < window.end:
            out.append(Window(cursor, window.end))
    return tuple(out)


def clip(windows: Iterable[Window], start: datetime | None, end: datetime | None) -> tuple[Window, ...]:
    """Clip windows to the period ``[start, end)``; ``None`` leaves that side open."""
    lo = require_aware(start) if start is not None else None
    hi = require_aware(end) if end is not None else None
    out: list[Window] = []
    for window in union(windows):
        s = max(window.start, lo) if lo is not None else window.start
        e = min(window.end, hi) if hi is not None else window.end
        if s < e:
            out.append(Window(s, e))
    return tuple(out)


def total(windows: Iterable[Window]) -> timedelta:
    """Total covered time, counting overlaps once."""
    return sum((w.duration for w in union(windows)), ZERO)


def longest(windows: Iterable[Window]) -> timedelta:
    """The longest continuous stretch after merging."""
    return max((w.duration for w in union(windows)), default=ZERO)


# Durations as people write them in policies and read them in explanations.

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1}


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Parse ``"2h"``, ``"89min"``, ``"1h30min"``, ``"3d"``, ``"72h"`` into a timedelta."""
    raw = str(text).strip()
    pos = 0
    seconds = Decimal(0)
    for match in _DURATION_PART.finditer(raw):
        if raw[pos : match.start()].strip():
            break
        seconds += Decimal(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or raw[pos:].strip():
        raise InputError(
            f"{raw!r} is not a duration; write e.g. '2h', '89min', '1h30min' or '3d'", field=field
        )
    return timedelta(seconds=int(seconds))


def format_duration(value: timedelta) -> str:
    """``10 h 30 min``, ``127 h 30 min``, ``45 s``: hours and minutes, as outages are reported."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0 min"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs:
        parts.append(f"{secs} s")
    return " ".join(parts)


def format_local(instant: datetime, tz: tzinfo, *, zone: bool = False) -> str:
    """``15 Oct 15:30`` in the given zone; with ``zone``, ``30 Mar 00:30 BST`` (the abbreviation
    in force at that instant, so each side of a clock change is labelled with its own)."""
    local = instant.astimezone(tz)
    text = local.strftime("%d %b %H:%M").lstrip("0")
    return f"{text} {local.tzname() or tz}" if zone else text


def format_windows(windows: Sequence[Window], tz: tzinfo, *,
                   local: Callable[..., str] = format_local, dash: str = " - ",
                   none: str = "no outage") -> str:
    """``15 Oct 15:30 - 16 Oct 02:00 KST`` (several windows joined by commas).

    One zone label at the end when every time shown has the same one; otherwise each time
    carries its own (``25 Mar 10:00 GMT - 30 Mar 00:30 BST``). Another language passes its own
    ``local(instant, tz, zone=...)``, ``dash`` and ``none``.
    """
    if not windows:
        return none
    names = {t.astimezone(tz).tzname() for w in windows for t in (w.start, w.end)}
    if len(names) > 1:
        return ", ".join(f"{local(w.start, tz, zone=True)}{dash}{local(w.end, tz, zone=True)}"
                         for w in windows)
    zone = names.pop() or str(tz)
    text = ", ".join(f"{local(w.start, tz, zone=False)}{dash}{local(w.end, tz, zone=False)}"
                     for w in windows)
    return f"{text} {zone}"
