"""Payout batches: four eyes before money leaves, and the rule for reissuing a failed payment.

A batch is prepared (its awards move to ``in_batch``), reviewed by a supervisor, and released by
a second person when its total is above the four-eyes threshold (by default always). Once
released it is immutable: its items, amounts and end-to-end ids never change (the database
refuses it too), and what happens to each item afterwards is recorded as bank report events and
ledger entries.

The state machine::

    prepared ──review──▶ reviewed ──release (another person)──▶ released ──write──▶ written
        └──────cancel────────┴──▶ cancelled (the awards are payable again)

The reissue rule (DOMAIN.md: "a failed transfer is reissued, often as a check"): a returned or
rejected transfer is held until the payee confirms new details, then reissued once by the same
method; a second failure is reissued by the fallback method (a paper check); when that fails
too, or the payee never answers, the award is declared unclaimed after the deadline.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from makegood.domain.errors import Conflict, PermissionDenied
from makegood.domain.payouts import Method


class BatchStatus(StrEnum):
    PREPARED = "prepared"
    REVIEWED = "reviewed"
    RELEASED = "released"
    WRITTEN = "written"
    CANCELLED = "cancelled"


OPEN = frozenset({BatchStatus.PREPARED, BatchStatus.REVIEWED})
RELEASED = frozenset({BatchStatus.RELEASED, BatchStatus.WRITTEN})


@dataclass(frozen=True, slots=True)
class BatchHeader:
    id: str
    incident_id: str
    method: Method
    currency: str
    status: BatchStatus
    total: Decimal
    count: int
    prepared_by: str
    reviewed_by: str | None = None
    released_by: str | None = None


def check_review(batch: BatchHeader, *, reviewer: str) -> None:
    if batch.status is not BatchStatus.PREPARED:
        raise Conflict(f"batch {batch.id} is {batch.status.value}; only a prepared batch is reviewed")
    del reviewer  # any supervisor may review, the preparer included; release needs another


def check_release(batch: BatchHeader, *, releaser: str, four_eyes_above: Decimal | None) -> None:
    """The second pair of eyes: the releaser is not the reviewer when the total needs it."""
    if batch.status in RELEASED:
        raise Conflict(f"batch {batch.id} was already released")
    if batch.status is not BatchStatus.REVIEWED:
        raise Conflict(f"batch {batch.id} is {batch.status.value}; it must be reviewed first")
    needs_two = four_eyes_above is None or batch.total > four_eyes_above
    if needs_two and releaser in (batch.reviewed_by, batch.prepared_by):
        raise PermissionDenied(
            f"batch {batch.id} totals {batch.total} {batch.currency}: it was prepared by "
            f"{batch.prepared_by} and reviewed by {batch.reviewed_by}; another person must "
            "release it (four eyes)")


def check_cancel(batch: BatchHeader) -> None:
    if batch.status not in OPEN:
        raise Conflict(f"batch {batch.id} is {batch.status.value}; only an unreleased batch can be "
                       "cancelled")


# ---------------------------------------------------------------------------------------------
# Reissue


class AttemptOutcome(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"  # rejected (pain.002) or returned (camt.054, CSV)


@dataclass(frozen=True, slots=True)
class Attempt:
    method: Method
    outcome: AttemptOutcome
    at: datetime


@dataclass(frozen=True, slots=True)
class NextStep:
    method: Method | None  # None: hold (wait for the payee) or nothing to do
    reason: str


def next_method(*, preferred: Method, attempts: Sequence[Attempt],
                details_confirmed_at: datetime | None, fallback: Method = Method.CHECK
                ) -> NextStep:
    """The method by which a payable award goes out next."""
    failures = [a for a in attempts if a.outcome is AttemptOutcome.FAILED]
    if not failures:
        return NextStep(preferred, "first payment")
    if len(failures) == 1 and failures[0].method is preferred:
        if details_confirmed_at is not None and details_confirmed_at > failures[0].at:
            return NextStep(preferred, "reissued once after the payee confirmed new details")
        return NextStep(None, "held until the payee confirms new details")
    if fallback not in {f.method for f in failures}:
        return NextStep(fallback, f"failed {len(failures)} times; reissued by {fallback.value}")
    return NextStep(None, "the fallback failed too; unclaimed after the deadline")
