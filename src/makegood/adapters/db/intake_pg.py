"""Claim intake on PostgreSQL in two round trips, on the event loop (asyncpg).

The submission path is the service's busiest by far (45,000 reports in five days in 2022), so
it skips the generic SQLAlchemy path that every other use case takes:

1. one ``SELECT`` reads what verification needs: the incident's intake window and ledger, the
   row versions (``xmin``) of the incident and its policy, and the account's subscriptions.
   The parsed incident and policy are cached per process by row version, so an edited incident
   or policy (a new version) is read again at once and an extended deadline applies at once;
2. one ``INSERT`` statement writes the claim, its audit entry and its idempotency record
   together (data-modifying CTEs). Outside an explicit transaction a statement is its own
   transaction: it commits durably (``synchronous_commit`` as configured, on by default)
   before the answer is sent, or writes nothing. A reused ``Idempotency-Key`` fails the whole
   statement on the key's primary key, and the caller replays the first answer.

The driver is asyncpg rather than psycopg (which every other path uses): its binary protocol
and cached prepared statements cost about a third of the CPU per query of psycopg's async mode,
and this path's CPU decides how many claims a 2-core machine takes in a second.

The rows written are exactly those :class:`~makegood.adapters.db.repository.UnitOfWork` writes
for the same filing (the storage tests compare them).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed marker
from sqlalchemy.engine import Engine

from makegood.adapters.db import rows as records
from makegood.adapters.db.notices import notice_row
from makegood.adapters.db.repository import stored_incident, stored_policy
from makegood.adapters.db.rows import CLAIM_COLUMNS, claim_values, jsonable
from makegood.adapters.db.schema import exact
from makegood.domain.accounts import BillingPeriod, Channel, Subscription
from makegood.domain.errors import Conflict
from makegood.domain.incident import Incident
from makegood.domain.notices import NewNotice
from makegood.domain.policy import Policy
from makegood.domain.records import AuditEntry, Claim, IdempotencyRecord, IncidentRecord

FACTS = """
SELECT i.xmin::text AS incident_version, i.policy_id, p.xmin::text AS policy_version,
       i.ledger_path, i.intake_opens, i.intake_closes, a.id AS account_id,
       s.id AS subscription_id, s.service, s.plan, s.paid, s.fee, s.currency, s.billing_period,
       s.channel, s.start, s."end"
FROM incidents i
LEFT JOIN policies p ON p.id = i.policy_id
LEFT JOIN accounts a ON a.id = $2
LEFT JOIN subscriptions s ON s.account_id = a.id
WHERE i.id = $1
ORDER BY s.id
"""

DOCUMENTS = """
SELECT i.xmin::text AS incident_version, i.document, i.policy_id,
       p.xmin::text AS policy_version, p.document AS policy_document
FROM incidents i LEFT JOIN policies p ON p.id = i.policy_id
WHERE i.id = $1
"""

_CLAIM_COLUMNS = CLAIM_COLUMNS
_JSON = frozenset(("sales", "verification", "before", "after"))


def _placeholders(columns: tuple[str, ...], first: int) -> str:
    return ", ".join(f"${first + i}::json" if c in _JSON else f"${first + i}"
                     for i, c in enumerate(columns))


_A = len(_CLAIM_COLUMNS) + 1  # the audit entry's parameters start here
_K = _A + 6  # and the idempotency record's here
_CLAIM_INSERT = ("INSERT INTO claims (" + ", ".join(f'"{c}"' for c in _CLAIM_COLUMNS)
                 + ") VALUES (" + _placeholders(_CLAIM_COLUMNS, 1) + ") RETURNING id")
_AUDIT_INSERT = ('INSERT INTO audit_log ("at", actor, action, entity, "before", "after", '
                 "entity_id) SELECT "
                 + _placeholders(("at", "actor", "action", "entity", "before", "after"), _A)
                 + ", c.id FROM c")
_KEY_INSERT = ("INSERT INTO idempotency_keys (key, request_hash, response, created_at, claim_id)"
               " SELECT " + _placeholders(("key", "request_hash", "response", "created_at"), _K)
               + ", c.id FROM c")
FILE_WITH_KEY = f"WITH c AS ({_CLAIM_INSERT}), a AS ({_AUDIT_INSERT}) {_KEY_INSERT}"
FILE = f"WITH c AS ({_CLAIM_INSERT}) {_AUDIT_INSERT}"
# The "claim received" notice goes into the outbox in the same statement (same transaction).
_NOTICE_COLUMNS = ("key", "incident_id", "account_id", "kind", "language", "payload", "email",
                   "phone", "sealed", "status", "step", "tries", "skipped", "next_at", "created_at",
                   "updated_at")


def _notice_insert(first: int) -> str:
    return ("n AS (INSERT INTO notices (" + ", ".join(_NOTICE_COLUMNS) + ") VALUES ("
            + ", ".join(f"${first + i}" for i in range(len(_NOTICE_COLUMNS)))
            + ") ON CONFLICT (key) DO NOTHING)")


FILE_NOTICE = f"WITH c AS ({_CLAIM_INSERT}), {_notice_insert(_K)} {_AUDIT_INSERT}"
FILE_WITH_KEY_NOTICE = (f"WITH c AS ({_CLAIM_INSERT}), a AS ({_AUDIT_INSERT}), "
                        f"{_notice_insert(_K + 4)} {_KEY_INSERT}")
IDEMPOTENCY = ("SELECT key, request_hash, claim_id, response, created_at FROM idempotency_keys "
               "WHERE key = $1")
KEY_CONSTRAINT = "pk_idempotency_keys"

_UNREACHABLE = (OSError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
                asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError,
                asyncpg.ConnectionDoesNotExistError,
                # A connection the server ended while it sat idle in the pool fails on its next
                # use inside the driver (seen: InternalClientError); a fresh one is then needed.
                asyncpg.InternalClientError, asyncpg.InterfaceError)


class RefusedValue(Exception):
    """The database refused a value (a NUL character in text, a number out of range)."""


class Unavailable(Exception):
    """The database cannot be reached, or refuses connections for now."""


def _json(value: Any) -> str:
    # The same text SQLAlchemy's JSON type writes (a Python None is the JSON null).
    return json.dumps(value)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


class PgIntakeStore:
    """The intake port on PostgreSQL: a small pool of connections per process."""

    def __init__(self, engine: Engine, *, size: int = 8) -> None:
        # The engine's URL, options included (a search_path in tests and benchmarks): asyncpg
        # sends unknown URL parameters as startup parameters, as libpq does with ``options``.
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self._idle: list[asyncpg.Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parsed: dict[tuple[str, str, str | None, str | None],
                           tuple[Incident, Policy | None]] = {}

    # -- the pool ---------------------------------------------------------------------------

    def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or loop is not self._loop:
            # Connections belong to the loop that opened them; a new loop (a test client's)
            # starts a new pool and drops the connections of the old one.
            for conn in self._idle:
                conn.terminate()
            self._idle = []
            self._loop = loop
            self._slots = asyncio.Semaphore(self.size)
        return self._slots

    async def _acquire(self) -> asyncpg.Connection:
        slots = self._bind()
        await slots.acquire()
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
        try:
            return await asyncpg.connect(self._dsn)
        except BaseException:
            slots.release()
            raise

    def _release(self, conn: asyncpg.Connection) -> None:
        if not conn.is_closed():
            self._idle.append(conn)
        if self._slots is not None:
            self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    async def _run(self, query: str, *args: Any, rows: bool = True) -> list[Any]:
        try:
            conn = await self._acquire()
        except _UNREACHABLE as exc:
            raise Unavailable(str(exc)) from exc
        try:
            if not rows:
                await conn.execute(query, *args)
                return []
            return list(await conn.fetch(query, *args))
        except asyncpg.DataError as exc:
            raise RefusedValue(str(exc)) from exc
        except _UNREACHABLE as exc:
            conn.terminate()
            raise Unavailable(str(exc)) from exc
        except asyncpg.PostgresError:
            raise  # the server refused the statement; the connection is fine
        except BaseException:
            # Cancelled mid-statement (a shutdown), or a driver error: the connection's state
            # is unknown, so it is not reused. The statement's transaction is rolled back by
            # the server when the connection goes.
            conn.terminate()
            raise
        finally:
            self._release(conn)

    # -- the port ---------------------------------------------------------------------------

    async def facts(self, incident_id: str, account_id: str
                    ) -> tuple[IncidentRecord, list[Subscription] | None] | None:
        """The incident (with its policy) and the account's subscriptions (``None``: no such
        account); ``None`` when there is no such incident."""
        rows = await self._run(FACTS, incident_id, account_id)
        if not rows:
            return None
        (incident_version, policy_id, policy_version, ledger_path, opens, closes,
         found) = tuple(rows[0])[:7]
        parsed = self._parsed.get((incident_id, incident_version, policy_id, policy_version))
        if parsed is None:
            parsed = await self._parse(incident_id)
            if parsed is None:
                return None
        incident, policy = parsed
        record = IncidentRecord(incident=incident, policy_id=policy_id, policy=policy,
                                ledger_path=ledger_path, intake_opens=_utc(opens),
                                intake_closes=_utc(closes))
        if found is None:
            return record, None
        return record, [Subscription(
            id=sid, account_id=account_id, service=service, plan=plan, paid=paid,
            fee=exact(fee), currency=currency, billing_period=BillingPeriod(period),
            channel=Channel(channel), start=start.astimezone(UTC), end=_utc(end))
            for (sid, service, plan, paid, fee, currency, period, channel, start, end)
            in (tuple(r)[7:] for r in rows) if sid is not None]

    async def _parse(self, incident_id: str) -> tuple[Incident, Policy | None] | None:
        rows = await self._run(DOCUMENTS, incident_id)
        if not rows:
            return None
        incident_version, document, policy_id, policy_version, policy_document = tuple(rows[0])
        policy = None if policy_document is None else stored_policy(policy_document, policy_id)
        parsed = (stored_incident(document, incident_id), policy)
        if len(self._parsed) > 256:
            self._parsed.clear()
        self._parsed[(incident_id, incident_version, policy_id, policy_version)] = parsed
        return parsed

    async def file(self, claim: Claim, audit: AuditEntry,
                   idempotency: IdempotencyRecord | None,
                   notice: NewNotice | None = None) -> bool:
        """Write the claim, its audit entry, its idempotency record and its "claim received"
        notice in one transaction; ``False`` (and nothing written) when the idempotency key is
        already taken."""
        before, after = audit.before, audit.after
        values = claim_values(claim)
        args = [_json(values[c]) if c in _JSON else values[c] for c in _CLAIM_COLUMNS]
        args += [audit.at, audit.actor, audit.action, audit.entity,
                 _json(None if before is None else jsonable(before)),
                 _json(None if after is None else jsonable(after))]
        if idempotency is not None:
            args += [idempotency.key, idempotency.request_hash, idempotency.response,
                     idempotency.created_at]
        if notice is not None:
            row = notice_row(notice, audit.at)
            args += [row[c] for c in _NOTICE_COLUMNS]
            query = FILE_NOTICE if idempotency is None else FILE_WITH_KEY_NOTICE
        else:
            query = FILE if idempotency is None else FILE_WITH_KEY
        try:
            await self._run(query, *args, rows=False)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == KEY_CONSTRAINT:
                return False
            raise Conflict("this claim (or its receipt) is already stored") from None
        return True

    async def idempotency(self, key: str) -> IdempotencyRecord | None:
        found = await self._run(IDEMPOTENCY, key)
        return records.idempotency(dict(found[0].items())) if found else None
