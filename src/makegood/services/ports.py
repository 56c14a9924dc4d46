"""The contracts the use cases depend on; adapters implement them, tests pass fakes.

- **Engines**: an :class:`Engine` turns (incident, policies, accounts input) into a
  :class:`~makegood.adapters.ledger.RunResult` (the ledger table and counts), calling
  ``progress(done, total)`` as it goes; one that can stream its ledger straight to a file is
  also a :class:`LedgerWriter`. :class:`Engines` is the choice of engines an installation offers
  (``adapters/batch``: reference, DuckDB, Spark).
- **Storage**: a :class:`UnitOfWork` is one transaction and its repositories. A use case
  opens it (``with uow:``), uses the repositories, and calls ``commit()`` once at the end;
  leaving the block without a commit rolls everything back. Repositories take and return the
  domain's records (:mod:`makegood.domain.records`) and raise domain errors
  (:class:`~makegood.domain.errors.Conflict` for a duplicate, ``NotFound``), never a driver's.
  ``adapters/db/repository.py`` implements them on SQLAlchemy (SQLite, PostgreSQL).
- :class:`IntakeStore`: claim submission on an asynchronous store (``adapters/db/intake_pg.py``).
- :class:`EvidenceStore`: evidence files by content hash (``adapters/db/evidence.py``).
- :class:`Cipher`: encryption of payout accounts and stored receipts (``adapters/db/crypto.py``).
- :data:`Clock`: the current instant, timezone-aware UTC; :data:`LedgerReader`: an account's lines
  of an automatic-compensation ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from makegood.domain.accounts import Account, Subscription
from makegood.domain.incident import Incident
from makegood.domain.notices import NewNotice
from makegood.domain.policy import Policy
from makegood.domain.records import (
    AuditEntry,
    Claim,
    ClaimFilter,
    Decision,
    EvidenceFile,
    IdempotencyRecord,
    IncidentRecord,
    IncidentSummary,
    Message,
    StaffAccount,
)
from makegood.domain.rules import Calendars
from makegood.domain.verification import LedgerLine

if TYPE_CHECKING:
    from makegood.adapters.ledger import Progress, RunResult

Clock = Callable[[], datetime]
LedgerReader = Callable[[str, str], "tuple[LedgerLine, ...] | None"]  # (ledger path, account id)


def __getattr__(name: str) -> Any:
    # RunResult and Progress travel with the ledger table (pyarrow); imported only when asked
    # for, so the claims service does not load pyarrow to start.
    if name in ("RunResult", "Progress"):
        from makegood.adapters import ledger

        return getattr(ledger, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------------
# Engines


class Engine(Protocol):
    """A compensation engine: the same ledger as the reference engine, row for row."""

    name: str

    def run(self, *, incident: Incident, policies: Sequence[Policy], source: Any,
            calendars: Calendars, progress: Progress | None = None) -> RunResult: ...


@runtime_checkable
class LedgerWriter(Protocol):
    """An engine that writes its ledger to a file without holding it in memory (atomically:
    nothing under ``out`` unless it succeeds) and returns the summary's figures."""

    def run_to_file(self, *, incident: Incident, policies: Sequence[Policy], source: Any,
                    calendars: Calendars, out: Path, fmt: str | None = None,
                    progress: Progress | None = None) -> dict[str, Any]: ...


class Engines(Protocol):
    """The engines an installation offers, by name."""

    @property
    def names(self) -> tuple[str, ...]: ...

    def get(self, name: str) -> Engine:
        """The engine ``name``; :class:`~makegood.domain.errors.InputError` if unknown."""
        ...

    def source(self, name: str, accounts: str, sales: str | None) -> Any:
        """The accounts (and sales) input as engine ``name`` reads it: local files, or URLs for
        an engine that reads object storage; :class:`InputError` when it cannot."""
        ...


# ---------------------------------------------------------------------------------------------
# Storage: repositories and the unit of work


class IncidentRepository(Protocol):
    def put(self, *, incident: Incident, document: str, policy_id: str | None,
            ledger_path: str | None, intake_opens: datetime | None,
            intake_closes: datetime | None, now: datetime) -> None: ...

    def get(self, incident_id: str) -> IncidentRecord | None: ...

    def get_or_raise(self, incident_id: str) -> IncidentRecord: ...

    def set_intake(self, incident_id: str, *, opens: datetime | None,
                   closes: datetime | None) -> None: ...

    def list_(self) -> list[IncidentSummary]: ...


class PolicyRepository(Protocol):
    def put(self, *, policy: Policy, document: str, now: datetime) -> None: ...

    def get(self, policy_id: str) -> Policy | None: ...


class AccountRepository(Protocol):
    def put_many(self, accounts: Iterable[Account]) -> int: ...

    def subscriptions(self, account_id: str) -> list[Subscription] | None:
        """The account's subscriptions; ``None`` when there is no such account."""
        ...


class ClaimRepository(Protocol):
    def add(self, claim: Claim) -> None:
        """Store a new claim; :class:`Conflict` if its id or receipt is taken."""
        ...

    def get(self, claim_id: str) -> Claim | None: ...

    def get_or_raise(self, claim_id: str) -> Claim: ...

    def get_by_receipt(self, receipt_hash: str) -> Claim | None: ...

    def lock(self, claim_id: str) -> Claim:
        """The claim, locked against other writers until the unit of work ends; NotFound."""
        ...

    def update(self, claim: Claim) -> None:
        """Store the claim's changed fields (``claim.with_(...)``)."""
        ...

    def list_(self, f: ClaimFilter, *, limit: int = 50, offset: int = 0
              ) -> tuple[list[Claim], int]:
        """A page of claims (oldest first) and how many match in all."""
        ...

    def all_(self, incident_id: str | None = None) -> list[Claim]: ...


class IdempotencyRepository(Protocol):
    def get(self, key: str) -> IdempotencyRecord | None: ...

    def add(self, record: IdempotencyRecord) -> None:
        """:class:`Conflict` when the key is taken."""
        ...


class EvidenceRepository(Protocol):
    def add(self, evidence: EvidenceFile) -> int:
        """Store the record; its new id."""
        ...

    def of_claim(self, claim_id: str) -> list[EvidenceFile]: ...

    def claims_sharing(self, sha256: str) -> int: ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> None: ...

    def of_claim(self, claim_id: str) -> list[Message]: ...


class DecisionRepository(Protocol):
    def add(self, decision: Decision) -> None: ...

    def of_claim(self, claim_id: str) -> list[Decision]:
        """The claim's decisions in order, each with the decider's user name."""
        ...


class StaffRepository(Protocol):
    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> int:
        """The new user's id; :class:`Conflict` if the name is taken."""
        ...

    def get_by_name(self, username: str) -> StaffAccount | None: ...

    def get(self, user_id: int) -> StaffAccount | None: ...

    def set_password(self, user_id: int, password_hash: str) -> None: ...

    def list_(self) -> list[StaffAccount]: ...

    def add_session(self, *, token_hash: str, user_id: int, expires_at: datetime) -> None: ...

    def end_session(self, token_hash: str) -> bool:
        """End one sign-in session; whether there was one."""
        ...

    def end_sessions(self, user_id: int) -> int:
        """Revoke every session of a user; how many there were."""
        ...

    def by_session(self, token_hash: str, now: datetime) -> StaffAccount | None: ...


class AuditRepository(Protocol):
    def record(self, *, actor: str, action: str, entity: str, entity_id: str,
               before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
               now: datetime) -> None: ...

    def add(self, entry: AuditEntry) -> None: ...

    def times(self, *, action: str, entity: str, entity_id: str, since: datetime
              ) -> list[datetime]:
        """When ``action`` was recorded on the entity since ``since`` (e.g. failed sign-ins)."""
        ...

    def of(self, entity: str, entity_id: str) -> list[AuditEntry]: ...


class ScreeningRepository(Protocol):
    """Triage and screening results, neighbour keys and reviewers' duplicate decisions
    (``adapters/db/screening.py``; docs/triage.md). Rows are plain mappings for now."""

    def claims(self, *, incident_id: str | None = None, ids: Sequence[str] | None = None
               ) -> list[dict[str, Any]]: ...

    def neighbours(self, keys: Iterable[tuple[str, str]], *, claim_id: str) -> set[str]: ...

    def near_in_time(self, *, client: str, start: datetime, end: datetime) -> set[str]: ...

    def same_segment(self, *, claimant_kind: str, category: str, limit: int) -> set[str]: ...

    def put_keys(self, rows: Sequence[Mapping[str, str]]) -> None: ...

    def put_results(self, rows: Sequence[Mapping[str, Any]]) -> None: ...

    def get(self, claim_id: str) -> dict[str, Any] | None: ...

    def results(self, claim_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def group(self, group_id: str) -> list[dict[str, Any]]: ...

    def add_decision(self, *, claim_a: str, claim_b: str, duplicate: bool, note: str,
                     decided_by: int, now: datetime) -> None: ...

    def decisions(self, claim_ids: Iterable[str] | None = None
                  ) -> list[tuple[str, str, bool]]: ...

class NoticeOutbox(Protocol):
    """The notices outbox (``adapters/db/notices.py``): a notice written here commits or rolls
    back with the state change of the same unit of work (docs/notices.md)."""

    def add(self, notice: NewNotice, *, now: datetime) -> bool:
        """Write ``notice`` unless its key is known; ``True`` when it was new."""
        ...

    def add_many(self, batch: Sequence[NewNotice], *, now: datetime) -> int: ...

    def get(self, key: str) -> dict[str, Any] | None:
        """The outbox row of the notice with this key."""
        ...

    def cancel(self, key: str, *, now: datetime) -> bool:
        """Withdraw the notice with this key if it is not sent yet."""
        ...


class UnitOfWork(Protocol):
    """One transaction and the repositories that work inside it."""

    @property
    def incidents(self) -> IncidentRepository: ...

    @property
    def policies(self) -> PolicyRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def claims(self) -> ClaimRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def evidence(self) -> EvidenceRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def decisions(self) -> DecisionRepository: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    @property
    def screening(self) -> ScreeningRepository: ...

    @property
    def outbox(self) -> NoticeOutbox: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class IntakeStore(Protocol):
    """What claim intake needs from storage, asynchronously (one round trip each)."""

    async def facts(self, incident_id: str, account_id: str
                    ) -> tuple[IncidentRecord, list[Subscription] | None] | None:
        """The incident and the account's subscriptions (``None``: no such account); ``None``
        when there is no such incident."""
        ...

    async def file(self, claim: Claim, audit: AuditEntry,
                   idempotency: IdempotencyRecord | None,
                   notice: NewNotice | None = None) -> bool:
        """Commit the claim, its audit entry, its idempotency record and its "claim received"
        notice together; ``False`` (nothing written) when the idempotency key is taken."""
        ...

    async def idempotency(self, key: str) -> IdempotencyRecord | None:
        """The stored idempotency record of ``key``."""
        ...

    async def close(self) -> None:
        """Close the store's connections (at shutdown)."""
        ...


# ---------------------------------------------------------------------------------------------
# Files and secrets


class EvidenceStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data`` (durably, atomically); its SHA-256 hex digest."""
        ...

    def get(self, sha256: str) -> bytes: ...


class Cipher(Protocol):
    def encrypt(self, text: str) -> str: ...

    def decrypt(self, token: str) -> str: ...

    def fingerprint(self, text: str) -> str:
        """A keyed hash that matches equal secrets without revealing them."""
        ...
