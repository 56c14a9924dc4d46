"""The one place that wires settings to adapters, for the CLI and the API.

Entry points ask here for what a use case takes (a unit of work, the engines, the calendars,
the cipher, the evidence store, the clock) instead of building adapters themselves; tests build
the same parts from their own :class:`~makegood.config.Settings`. Heavy modules (SQLAlchemy,
DuckDB, the API) are imported inside the functions, so a CLI command pays only for what it
uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from makegood.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine as Database

    from makegood.adapters.batch import BatchEngines
    from makegood.domain.rules import Calendars
    from makegood.entrypoints.api.deps import Context
    from makegood.services.ports import Cipher, EvidenceStore, IntakeStore, UnitOfWork


def utc_now() -> datetime:
    """The clock: the current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def settings() -> Settings:
    """The settings of this process, from the environment."""
    return Settings.from_env()


# -- compensation runs ----------------------------------------------------------------------


def engines(config: Settings | None = None, *, spark_master: str | None = None) -> BatchEngines:
    """The batch engines with their settings (``spark_master`` overrides the setting)."""
    from makegood.adapters.batch import BatchEngines

    config = config or settings()
    return BatchEngines(spark_master=spark_master or config.spark_master,
                        duckdb_memory_limit=config.duckdb_memory_limit)


def calendars() -> Calendars:
    """Working-day calendars from the ``holidays`` package."""
    from makegood.adapters.calendars import HolidayCalendars

    return HolidayCalendars()


# -- the claims service ---------------------------------------------------------------------


def database(config: Settings | None = None) -> Database:
    """A connection pool for the configured database (SQLite file or PostgreSQL)."""
    from makegood.adapters.db.engine import make_engine

    return make_engine((config or settings()).database_url)


def unit_of_work(db: Database) -> UnitOfWork:
    """A new unit of work (one transaction when entered) over ``db``."""
    from makegood.adapters.db.repository import UnitOfWork as SqlUnitOfWork

    return SqlUnitOfWork(db)


def cipher(config: Settings) -> Cipher:
    """The cipher of payout accounts and stored receipts (the key, or a development key file)."""
    from makegood.adapters.db.crypto import Cipher as FernetCipher

    return FernetCipher.configured(config.secret_key, config.secret_key_file)


def evidence_store(config: Settings) -> EvidenceStore:
    from makegood.adapters.db.evidence import EvidenceStore as FileEvidenceStore

    return FileEvidenceStore(config.evidence_dir)


def intake_store(config: Settings, db: Database) -> IntakeStore | None:
    """The asynchronous claim-submission store on PostgreSQL; ``None`` on SQLite (submissions
    then go through the unit of work in a worker thread)."""
    if db.dialect.name != "postgresql":
        return None
    from makegood.adapters.db.intake_pg import PgIntakeStore

    return PgIntakeStore(db, size=config.intake_connections)


def api_context(config: Settings | None = None, *, db: Database | None = None,
                clock: Callable[[], datetime] = utc_now) -> Context:
    """What every API route receives: storage, cipher, evidence store, rate limiter (shared
    through Redis when ``MAKEGOOD_REDIS_URL`` is set), clock."""
    from makegood.adapters.ratelimit import rate_limiter
    from makegood.entrypoints.api.deps import Context

    config = config or settings()
    db = db or database(config)
    return Context(engine=db, settings=config, cipher=cipher(config),
                   evidence=evidence_store(config),
                   limiter=rate_limiter(config.rate_limit_per_minute, config.redis_url),
                   clock=clock, intake=intake_store(config, db))
