"""Uptime Kuma: outage windows from its SQLite database (``kuma.db``), table ``heartbeat``.

Documented schema (``db/knex_init_db.js`` and the SQLite ``kuma.sql`` of Uptime Kuma)::

    heartbeat(id, important BOOLEAN, monitor_id, status SMALLINT, msg, time DATETIME,
              ping, duration, down_count, ...)
    monitor(id, name, ...)

``status``: 0 DOWN, 1 UP, 2 PENDING, 3 MAINTENANCE. ``time`` is UTC written without an offset
(``2022-10-15 06:30:00.000``; Uptime Kuma writes ``dayjs.utc()``), so it is read as UTC here: the
format says so, unlike a naive timestamp in a file a person wrote. A time with an offset is read
as written, with a warning: Uptime Kuma never writes one, so the database was changed by hand or
by another tool.

Per monitor, beats are replayed in time order: an outage runs from the DOWN beat that follows a
non-DOWN state (Uptime Kuma marks it ``important``) to the next UP or MAINTENANCE beat; a
maintenance window runs from a MAINTENANCE beat to the next UP or DOWN beat. PENDING beats (a
failed check being retried) neither start nor end anything. An outage with no closing beat is
still open. Monitors are named by ``monitor.name``; the map file may also use the id (``"7"``).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from makegood.domain.errors import IncidentError, InputError
from makegood.domain.incident import Severity
from makegood.domain.timeline import SourceWindow
from makegood.domain.windows import parse_timestamp

KIND = "uptime_kuma"

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3
_KUMA_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def _time(value: object, *, file: str, row: int, offsets: list[tuple[int, str]]) -> datetime:
    raw = str(value).strip() if value is not None else ""
    if _KUMA_TIME.match(raw):
        return datetime.fromisoformat(raw.replace(" ", "T")).replace(tzinfo=UTC)
    try:
        parsed = parse_timestamp(raw, field="time")
    except InputError:
        raise IncidentError(f"{value!r} is not an Uptime Kuma heartbeat time "
                            "(YYYY-MM-DD HH:MM:SS.sss, UTC)", file=file, row=row, field="time") from None
    offsets.append((row, raw))
    return parsed


def read(path: Path) -> list[SourceWindow]:
    """The windows of :func:`read_beats`, without its notes."""
    return read_beats(path)[0]


def read_beats(path: Path) -> tuple[list[SourceWindow], list[str]]:
    """Source windows from an Uptime Kuma database, and notes on anything unusual in it.

    The database is opened read-only and, unless Uptime Kuma has it open (a ``-wal`` file lies
    beside it), as immutable: SQLite then creates no ``-wal`` or ``-shm`` file beside a database
    in WAL mode and changes no byte of it. With a ``-wal`` file present the database is being
    written (or was not closed cleanly): it is read through that log, which already exists.
    """
    file = str(path)
    if not path.is_file():
        raise IncidentError("no such file", file=file)
    live = path.with_name(path.name + "-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise IncidentError(f"cannot open as SQLite: {exc}", file=file) from None
    try:
        return _read(conn, file=file)
    except sqlite3.DatabaseError as exc:
        raise IncidentError(f"not an Uptime Kuma SQLite database ({exc})", file=file) from None
    finally:
        conn.close()


def _offset_note(offsets: list[tuple[int, str]], *, file: str) -> list[str]:
    if not offsets:
        return []
    row, raw = offsets[0]
    more = f" and {len(offsets) - 1} more" if len(offsets) > 1 else ""
    return [f"{file}: heartbeat time {raw!r} (row {row}{more}) carries an offset, which Uptime Kuma "
            "never writes (it stores UTC without one); read with the offset as written: check "
            "that the database came from Uptime Kuma unchanged"]


def _read(conn: sqlite3.Connection, *, file: str) -> tuple[list[SourceWindow], list[str]]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "heartbeat" not in tables:
        raise IncidentError("not an Uptime Kuma database: it has no table 'heartbeat'", file=file)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(heartbeat)")}
    missing = {"id", "monitor_id", "status", "time"} - columns
    if missing:
        raise IncidentError(f"table 'heartbeat' lacks column(s) {', '.join(sorted(missing))}",
                            file=file)
    names: dict[int, str] = {}
    if "monitor" in tables:
        for ident, name in conn.execute("SELECT id, name FROM monitor"):
            if name:
                names[int(ident)] = str(name)

    beats = conn.execute("SELECT id, monitor_id, status, time FROM heartbeat")
    timed: list[tuple[int, datetime, int, int]] = []
    offsets: list[tuple[int, str]] = []
    for row_id, monitor_id, status, stamp in beats:
        if status not in (DOWN, UP, PENDING, MAINTENANCE):
            raise IncidentError(f"unknown heartbeat status {status!r}; Uptime Kuma uses 0 down, "
                                "1 up, 2 pending, 3 maintenance", file=file, row=row_id, field="status")
        when = _time(stamp, file=file, row=row_id, offsets=offsets)
        timed.append((int(monitor_id), when, int(row_id), int(status)))
    timed.sort()

    windows: list[SourceWindow] = []
    open_since: dict[tuple[int, Severity], tuple[datetime, int]] = {}

    def close(monitor: int, severity: Severity, end: datetime | None) -> None:
        since = open_since.pop((monitor, severity), None)
        if since is None:
            return
        start, row = since
        if end is not None and end <= start:
            return  # two beats in the same instant
        windows.append(SourceWindow(
            source=KIND, name=names.get(monitor, f"monitor {monitor}"), ident=str(monitor),
            start=start, end=end, severity=None if severity is Severity.OUTAGE else severity,
            where=f"{file}, row {row}"))

    for monitor, when, row, status in timed:
        if status == DOWN:
            close(monitor, Severity.MAINTENANCE, when)
            open_since.setdefault((monitor, Severity.OUTAGE), (when, row))
        elif status == UP:
            close(monitor, Severity.OUTAGE, when)
            close(monitor, Severity.MAINTENANCE, when)
        elif status == MAINTENANCE:
            close(monitor, Severity.OUTAGE, when)
            open_since.setdefault((monitor, Severity.MAINTENANCE), (when, row))
    for monitor, severity in sorted(open_since, key=lambda k: (k[0], k[1].value)):
        close(monitor, severity, None)
    return windows, _offset_note(offsets, file=file)
