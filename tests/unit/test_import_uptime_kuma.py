"""Uptime Kuma: a real SQLite database with Uptime Kuma's own table schema, built here."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from makegood.adapters.importers import uptime_kuma
from makegood.domain.errors import IncidentError
from makegood.domain.incident import Severity

# The SQLite schema of Uptime Kuma 1.23 (db/kuma.sql plus its patches), the tables we read.
SCHEMA = """
CREATE TABLE monitor (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(150),
    active BOOLEAN DEFAULT 1 NOT NULL,
    user_id INTEGER REFERENCES user(id) ON DELETE SET NULL ON UPDATE CASCADE,
    interval INTEGER DEFAULT 20 NOT NULL,
    url TEXT,
    type VARCHAR(20),
    weight INTEGER DEFAULT 2000,
    hostname VARCHAR(255),
    port INTEGER,
    created_date DATETIME DEFAULT (DATETIME('now')) NOT NULL,
    keyword VARCHAR(255),
    maxretries INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE heartbeat (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    important BOOLEAN NOT NULL DEFAULT 0,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    status SMALLINT NOT NULL,
    msg TEXT,
    time DATETIME NOT NULL,
    ping INTEGER,
    duration INTEGER NOT NULL DEFAULT 0,
    down_count INTEGER NOT NULL DEFAULT 0,
    end_time DATETIME DEFAULT NULL,
    retries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX monitor_time_index ON heartbeat (monitor_id, time);
CREATE INDEX monitor_important_time_index ON heartbeat (monitor_id, important, time);
"""

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3


def build(path: Path, monitors: dict[int, str], beats: list[tuple[int, int, str, bool]]) -> Path:
    """``beats``: (monitor id, status, UTC time as Uptime Kuma writes it, important)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO monitor (id, name, type) VALUES (?, ?, 'http')",
                         list(monitors.items()))
        conn.executemany(
            "INSERT INTO heartbeat (monitor_id, status, time, important, msg, ping) "
            "VALUES (?, ?, ?, ?, '', 80)",
            [(m, s, t, int(i)) for m, s, t, i in beats])
        conn.commit()
    finally:
        conn.close()
    return path


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2022, 10, day, hour, minute, second, tzinfo=UTC)


def test_outage_runs_from_the_important_down_beat_to_the_next_up(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "카카오톡"}, [
        (1, UP, "2022-10-15 06:29:00.000", True),
        (1, DOWN, "2022-10-15 06:30:00.000", True),
        (1, DOWN, "2022-10-15 06:31:00.000", False),
        (1, PENDING, "2022-10-15 06:32:00.000", False),
        (1, DOWN, "2022-10-15 06:33:00.000", False),
        (1, UP, "2022-10-15 16:31:00.000", True),
        (1, UP, "2022-10-15 16:32:00.000", False),
    ])
    (window,) = uptime_kuma.read(db)
    assert (window.name, window.ident) == ("카카오톡", "1")
    assert (window.start, window.end) == (utc(15, 6, 30), utc(15, 16, 31))
    assert window.severity is None  # up/down only: the map decides, outage by default


def test_flapping_gives_one_window_per_down_run(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [
        (1, DOWN, "2022-10-15 06:30:00.000", True),
        (1, UP, "2022-10-15 06:31:00.000", True),
        (1, DOWN, "2022-10-15 06:32:00.000", True),
        (1, UP, "2022-10-15 06:35:00.000", True),
    ])
    assert [(w.start, w.end) for w in uptime_kuma.read(db)] == [
        (utc(15, 6, 30), utc(15, 6, 31)), (utc(15, 6, 32), utc(15, 6, 35))]


def test_beats_stored_out_of_order_are_replayed_in_time_order(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [
        (1, UP, "2022-10-15 08:00:00.000", True),
        (1, DOWN, "2022-10-15 06:30:00.000", True),
    ])
    (window,) = uptime_kuma.read(db)
    assert (window.start, window.end) == (utc(15, 6, 30), utc(15, 8))


def test_maintenance_ends_an_outage_and_is_its_own_window(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [
        (1, DOWN, "2022-10-15 06:30:00", True),  # older versions wrote no milliseconds
        (1, MAINTENANCE, "2022-10-15 07:00:00.000", True),
        (1, UP, "2022-10-15 09:00:00.000", True),
    ])
    windows = uptime_kuma.read(db)
    assert [(w.severity, w.start, w.end) for w in windows] == [
        (None, utc(15, 6, 30), utc(15, 7)),
        (Severity.MAINTENANCE, utc(15, 7), utc(15, 9)),
    ]


def test_an_outage_without_a_closing_beat_is_open(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail", 2: "pay"}, [
        (1, DOWN, "2022-10-15 06:30:00.000", True),
        (1, DOWN, "2022-10-15 06:31:00.000", False),
        (2, UP, "2022-10-15 06:30:00.000", True),
    ])
    (window,) = uptime_kuma.read(db)
    assert (window.name, window.start, window.end) == ("mail", utc(15, 6, 30), None)


def test_monitors_are_read_separately(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail", 2: "pay"}, [
        (1, DOWN, "2022-10-15 06:30:00.000", True),
        (2, DOWN, "2022-10-15 06:40:00.000", True),
        (1, UP, "2022-10-15 07:00:00.000", True),
        (2, UP, "2022-10-15 08:00:00.000", True),
    ])
    assert sorted((w.name, w.start, w.end) for w in uptime_kuma.read(db)) == [
        ("mail", utc(15, 6, 30), utc(15, 7)), ("pay", utc(15, 6, 40), utc(15, 8))]


def test_an_unknown_status_names_the_row(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [(1, 7, "2022-10-15 06:30:00.000", True)])
    with pytest.raises(IncidentError, match="unknown heartbeat status 7") as caught:
        uptime_kuma.read(db)
    assert (caught.value.row, caught.value.field) == (1, "status")


def test_an_unreadable_time_names_the_row(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [(1, DOWN, "15/10/2022 06:30", True)])
    with pytest.raises(IncidentError, match="heartbeat time") as caught:
        uptime_kuma.read(db)
    assert (caught.value.row, caught.value.field) == (1, "time")


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path):
    path = tmp_path / "kuma.db"
    path.write_text("service,feature\n", encoding="utf-8")
    with pytest.raises(IncidentError, match="not an Uptime Kuma SQLite database"):
        uptime_kuma.read(path)


def test_a_database_without_heartbeats_is_refused(tmp_path: Path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(IncidentError, match="no table 'heartbeat'"):
        uptime_kuma.read(path)


def test_a_missing_file_is_refused_without_creating_it(tmp_path: Path):
    path = tmp_path / "missing.db"
    with pytest.raises(IncidentError, match="no such file"):
        uptime_kuma.read(path)
    assert not path.exists()


def _wal_db(path: Path) -> Path:
    """A database in WAL mode, as Uptime Kuma keeps it, closed cleanly (no -wal file left)."""
    build(path, {1: "mail"}, [(1, DOWN, "2022-10-15 06:30:00.000", True),
                              (1, UP, "2022-10-15 08:00:00.000", True)])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    conn.execute("INSERT INTO heartbeat (monitor_id, status, time, important) "
                 "VALUES (1, 1, '2022-10-15 08:01:00.000', 0)")
    conn.commit()
    conn.close()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    return path


def test_a_wal_mode_database_is_read_without_writing_beside_it(tmp_path: Path):
    db = _wal_db(tmp_path / "kuma.db")
    before = db.read_bytes()
    (window,) = uptime_kuma.read(db)
    assert (window.start, window.end) == (utc(15, 6, 30), utc(15, 8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kuma.db"]  # no -wal, no -shm
    assert db.read_bytes() == before


def test_a_database_being_written_is_read_through_its_wal(tmp_path: Path):
    db = _wal_db(tmp_path / "kuma.db")
    writer = sqlite3.connect(db)  # Uptime Kuma still running: its latest beats are in the -wal file
    try:
        writer.execute("INSERT INTO heartbeat (monitor_id, status, time, important) "
                       "VALUES (1, 0, '2022-10-15 09:00:00.000', 1)")
        writer.commit()
        assert (tmp_path / "kuma.db-wal").exists()
        windows = uptime_kuma.read(db)
    finally:
        writer.close()
    assert [(w.start, w.end) for w in windows] == [(utc(15, 6, 30), utc(15, 8)), (utc(15, 9), None)]


def test_a_heartbeat_time_with_an_offset_is_read_and_warned_about(tmp_path: Path):
    db = build(tmp_path / "kuma.db", {1: "mail"}, [
        (1, DOWN, "2022-10-15T15:30:00+09:00", True),
        (1, UP, "2022-10-15T17:00:00+09:00", True),
        (1, DOWN, "2022-10-15 09:00:00.000", True),
    ])
    windows, notes = uptime_kuma.read_beats(db)
    assert [(w.start, w.end) for w in windows] == [(utc(15, 6, 30), utc(15, 8)), (utc(15, 9), None)]
    (note,) = notes
    assert "'2022-10-15T15:30:00+09:00' (row 1 and 1 more) carries an offset" in note
    assert str(db) in note
