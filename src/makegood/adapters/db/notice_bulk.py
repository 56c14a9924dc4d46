"""Campaign inserts in bulk: Arrow batches of notices into the outbox, skipping known keys.

PostgreSQL: each batch is written as CSV with ``COPY`` into a temporary table, then moved with
one ``INSERT ... SELECT ... ON CONFLICT (key) DO NOTHING``. SQLite: ``INSERT OR IGNORE`` with
``executemany``. One transaction per batch, so a campaign stopped half-way keeps what it
committed and a re-run adds only the rest.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import Engine

COLUMNS = ("key", "campaign_id", "incident_id", "account_id", "kind", "language", "payload",
           "email", "phone", "push_id", "webhook_url")
_STATE = ("status", "step", "tries", "skipped", "next_at", "created_at", "updated_at")


def insert_batch(engine: Engine, batch: pa.RecordBatch | pa.Table, *, now: datetime,
                 fresh: bool = False) -> int:
    """Insert the notices of ``batch`` (columns :data:`COLUMNS`); returns how many were new.

    ``fresh``: the caller knows none of these keys can exist (a campaign's first run): on
    PostgreSQL the rows are copied straight into the outbox, without the staging table. Should
    a key exist after all, the unique constraint refuses the whole batch.
    """
    if batch.num_rows == 0:
        return 0
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    table = table.select(list(COLUMNS))
    if engine.dialect.name == "postgresql":
        return _postgres(engine, table, now, fresh)
    return _sqlite(engine, table, now)


def _postgres(engine: Engine, table: pa.Table, now: datetime, fresh: bool) -> int:
    cols = ", ".join(COLUMNS)
    if fresh:  # the state columns ride along as constants
        n = table.num_rows
        stamp = now.astimezone(UTC).isoformat()
        for name, value in (("status", "created"), ("step", "0"), ("tries", "0"),
                            ("skipped", "f"), ("next_at", stamp), ("created_at", stamp),
                            ("updated_at", stamp)):
            table = table.append_column(name, pa.array([value] * n, pa.string()))
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
    data = buffer.getvalue()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if fresh:
            with cursor.copy(f"COPY notices ({cols}, {', '.join(_STATE)}) FROM STDIN "
                             "WITH (FORMAT csv)") as copy:
                for start in range(0, len(data), 1 << 22):
                    copy.write(data[start:start + (1 << 22)])
            raw.commit()
            return int(table.num_rows)
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS notice_stage (key text, campaign_id text,"
                       " incident_id text, account_id text, kind text, language text,"
                       " payload text, email text, phone text, push_id text, webhook_url text)"
                       " ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY notice_stage ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, len(data), 1 << 22):
                copy.write(data[start:start + (1 << 22)])
        cursor.execute(
            f"INSERT INTO notices ({cols}, {', '.join(_STATE)}) SELECT {cols}, 'created', 0, 0,"
            " false, %(now)s, %(now)s, %(now)s FROM notice_stage ON CONFLICT (key) DO NOTHING",
            {"now": now.astimezone(UTC)})
        inserted = int(cursor.rowcount)
        raw.commit()
        return inserted
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()


def _sqlite(engine: Engine, table: pa.Table, now: datetime) -> int:
    # The text SQLAlchemy's SQLite DateTime writes for the same instant (UTC, naive).
    stamp = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    columns = [table.column(c).to_pylist() for c in COLUMNS]
    rows = zip(*columns, strict=True)  # tuples made in C, used as they come
    # The state is the same for every row: constants in the statement, not parameters.
    values = ", ".join(["?"] * len(COLUMNS) + ["'created'", "0", "0", "0"] + [f"'{stamp}'"] * 3)
    raw = engine.raw_connection()
    try:
        sqlite: Any = raw.driver_connection  # sqlite3: executemany takes any iterable
        cursor = sqlite.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        before = sqlite.total_changes
        cursor.executemany(f"INSERT OR IGNORE INTO notices ({', '.join(COLUMNS)}, "
                           f"{', '.join(_STATE)}) VALUES ({values})", rows)
        inserted = sqlite.total_changes - before
        cursor.execute("COMMIT")
        return int(inserted)
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.close()
