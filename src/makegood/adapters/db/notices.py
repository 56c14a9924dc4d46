"""The outbox: notices waiting to be delivered, claimed by workers, and their attempts.

``Outbox.add`` is what a state change calls inside its own transaction (the claim received, the
decision made): the notice commits with the change or not at all. Campaigns insert in bulk
(:mod:`makegood.adapters.db.notice_bulk`). Workers claim due notices with a lease: on PostgreSQL
the candidate rows are locked ``FOR UPDATE SKIP LOCKED`` so concurrent workers never take the
same row; on SQLite the write transaction (``BEGIN IMMEDIATE``) serialises the claim. A worker
that dies leaves its lease to expire; the next claim takes the notice back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from makegood.adapters.db.notice_tables import notice_attempts, notice_campaigns, notices
from makegood.domain.errors import NotFound
from makegood.domain.notices import (
    FINAL,
    Channel,
    Contact,
    DeliveryStatus,
    NewNotice,
    NoticeKind,
)

MOVE_COLUMNS = ("status", "step", "tries", "skipped", "step_started_at", "next_at", "channel",
                "delivered_at", "updated_at", "lease_owner", "lease_until")
MOVE_DEFAULTS: dict[str, Any] = {"lease_owner": None, "lease_until": None, "channel": None,
                                 "delivered_at": None}
CLAIMABLE = (DeliveryStatus.CREATED.value, DeliveryStatus.TEMPORARY_FAILURE.value)
FINAL_VALUES = tuple(s.value for s in FINAL)


def notice_row(notice: NewNotice, now: datetime) -> dict[str, Any]:
    """The outbox row of a new notice."""
    c = notice.contact
    return {"key": notice.key, "campaign_id": notice.campaign_id,
            "incident_id": notice.incident_id, "account_id": notice.account_id,
            "kind": notice.kind.value, "language": c.language,
            "payload": json.dumps(dict(notice.payload), ensure_ascii=False, default=str),
            "email": c.email, "phone": c.phone, "push_id": c.push_id,
            "webhook_url": c.webhook_url, "sealed": notice.sealed, **initial_state(now)}


def initial_state(now: datetime) -> dict[str, Any]:
    return {"status": DeliveryStatus.CREATED.value, "step": 0, "tries": 0, "skipped": False,
            "step_started_at": None, "next_at": now, "lease_owner": None, "lease_until": None,
            "channel": None, "created_at": now, "updated_at": now, "delivered_at": None}


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice a worker holds: what to say, to whom, and where in its chain it stands."""

    id: int
    key: str
    incident_id: str
    account_id: str
    kind: NoticeKind
    payload: Mapping[str, Any]
    contact: Contact
    status: DeliveryStatus
    step: int
    tries: int
    skipped: bool
    step_started_at: datetime | None
    created_at: datetime
    sealed: str | None = None  # encrypted; opened only to render the notice for sending


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one channel (or a step skipped without trying), with its times."""

    notice_id: int
    step: int
    channel: Channel
    provider: str
    address: str
    provider_key: str
    status: DeliveryStatus
    detail: str
    worker: str
    sending_at: datetime
    finished_at: datetime | None = None
    provider_id: str | None = None


def _notice(row: Mapping[str, Any]) -> Notice:
    return Notice(
        id=int(row["id"]), key=row["key"], incident_id=row["incident_id"],
        account_id=row["account_id"], kind=NoticeKind(row["kind"]),
        payload=json.loads(row["payload"]),
        contact=Contact(account_id=row["account_id"], email=row["email"], phone=row["phone"],
                        push_id=row["push_id"], webhook_url=row["webhook_url"],
                        language=row["language"]),
        status=DeliveryStatus(row["status"]), step=int(row["step"]), tries=int(row["tries"]),
        skipped=bool(row["skipped"]), step_started_at=row["step_started_at"],
        created_at=row["created_at"], sealed=row.get("sealed"))


def _insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])


class Outbox:
    """Notices, attempts and campaigns inside one transaction (a unit of work's connection)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- writing notices ----------------------------------------------------------------------

    def add(self, notice: NewNotice, *, now: datetime) -> bool:
        """Write a notice unless its key is known; ``True`` when it was new."""
        result = self.conn.execute(_insert_ignore(self.conn, notices), [notice_row(notice, now)])
        return bool(result.rowcount)

    def add_many(self, batch: Sequence[NewNotice], *, now: datetime) -> int:
        if not batch:
            return 0
        # Counted from RETURNING: executemany's rowcount is not reliable across drivers.
        result = self.conn.execute(_insert_ignore(self.conn, notices).returning(notices.c.id),
                                   [notice_row(n, now) for n in batch])
        return len(result.all())

    # -- workers ------------------------------------------------------------------------------

    def claim(self, *, owner: str, now: datetime, limit: int, lease: timedelta) -> list[Notice]:
        """Take up to ``limit`` due notices for ``lease``; expired leases are taken back."""
        c = notices.c
        due = sa.or_(sa.and_(c.status.in_(CLAIMABLE), c.next_at <= now),
                     sa.and_(c.status == DeliveryStatus.SENDING.value, c.lease_until < now))
        pick = sa.select(c.id).where(due).order_by(c.next_at, c.id).limit(limit)
        if self.conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        stmt = (notices.update().where(c.id.in_(pick.scalar_subquery()))
                .values(status=DeliveryStatus.SENDING.value, lease_owner=owner,
                        lease_until=now + lease, updated_at=now)
                .returning(*notices.c))
        # The statuses before the claim tell a crashed attempt apart: read them in the same
        # statement's snapshot is not possible, so open attempts are looked up (open_attempts).
        rows = self.conn.execute(stmt).mappings().all()
        return sorted((_notice(dict(r)) for r in rows), key=lambda n: n.id)

    def open_attempts(self, notice_ids: Iterable[int]) -> dict[int, int]:
        """Attempts still ``sending`` (their worker died mid-send): notice id -> attempt id."""
        ids = list(notice_ids)
        if not ids:
            return {}
        a = notice_attempts.c
        rows = self.conn.execute(sa.select(a.notice_id, a.id).where(
            a.notice_id.in_(ids), a.status == DeliveryStatus.SENDING.value)).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def record(self, attempts: Sequence[Attempt]) -> list[int]:
        """Write attempts (``sending`` ones before the send, skipped ones as they are); their
        ids in the order given."""
        if not attempts:
            return []
        result = self.conn.execute(
            notice_attempts.insert().returning(notice_attempts.c.id,
                                               sort_by_parameter_order=True),
            [{"notice_id": a.notice_id, "step": a.step, "channel": a.channel.value,
              "provider": a.provider, "address": a.address, "provider_key": a.provider_key,
              "provider_id": a.provider_id, "status": a.status.value, "detail": a.detail,
              "worker": a.worker, "sending_at": a.sending_at, "finished_at": a.finished_at}
             for a in attempts])
        return [int(i) for i in result.scalars()]

    def finish_attempts(self, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """Close attempts: each mapping has ``id``, ``status``, ``detail``, ``provider_id``,
        ``finished_at``."""
        if not outcomes:
            return
        a = notice_attempts.c
        stmt = (notice_attempts.update().where(a.id == sa.bindparam("attempt_id"))
                .values(status=sa.bindparam("new_status"), detail=sa.bindparam("new_detail"),
                        provider_id=sa.bindparam("new_provider_id"),
                        finished_at=sa.bindparam("new_finished_at", type_=a.finished_at.type)))
        self.conn.execute(stmt, [{"attempt_id": o["id"], "new_status": o["status"],
                                  "new_detail": o["detail"], "new_provider_id": o["provider_id"],
                                  "new_finished_at": o["finished_at"]} for o in outcomes])

    def update(self, notice_id: int, *, owner: str, values: Mapping[str, Any]) -> bool:
        """Move a notice on, if ``owner`` still holds its lease (a worker whose lease ran out
        and was taken over must not overwrite the new holder's progress)."""
        c = notices.c
        result = self.conn.execute(notices.update().where(c.id == notice_id,
                                                          c.lease_owner == owner)
                                   .values({"lease_owner": None, "lease_until": None, **values}))
        return bool(result.rowcount)

    def update_many(self, *, owner: str, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """:meth:`update` for many notices in one statement; every row gives every column of
        :data:`MOVE_COLUMNS`."""
        if not rows:
            return
        c = notices.c
        stmt = (notices.update().where(c.id == sa.bindparam("n_id"),
                                       c.lease_owner == sa.bindparam("n_owner"))
                .values({col: sa.bindparam(f"n_{col}", type_=c[col].type)
                         for col in MOVE_COLUMNS}))
        self.conn.execute(stmt, [{"n_id": notice_id, "n_owner": owner,
                                  **{f"n_{col}": values.get(col, MOVE_DEFAULTS.get(col))
                                     for col in MOVE_COLUMNS}}
                                 for notice_id, values in rows])
        self.wipe_final([notice_id for notice_id, values in rows
                         if values.get("status") in FINAL_VALUES])

    def wipe_final(self, notice_ids: Sequence[int]) -> None:
        """Drop the sealed secret of notices that reached a final status: nothing sends them
        again, so nothing needs their link."""
        if not notice_ids:
            return
        c = notices.c
        self.conn.execute(notices.update().where(c.id.in_(list(notice_ids)),
                                                 c.status.in_(FINAL_VALUES),
                                                 c.sealed.is_not(None)).values(sealed=None))

    def cancel(self, key: str, *, now: datetime) -> bool:
        """Withdraw a notice not sent yet (created, or waiting to be tried again) and wipe its
        sealed secret; ``True`` when there was one to withdraw."""
        c = notices.c
        result = self.conn.execute(notices.update().where(c.key == key, c.status.in_(CLAIMABLE))
                                   .values(status=DeliveryStatus.CANCELLED.value, sealed=None,
                                           updated_at=now))
        return bool(result.rowcount)

    def get(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(notices).where(notices.c.key == key)).mappings().first()
        return None if row is None else dict(row)

    def attempts_of(self, notice_id: int) -> list[dict[str, Any]]:
        a = notice_attempts.c
        return [dict(r) for r in self.conn.execute(
            sa.select(notice_attempts).where(a.notice_id == notice_id).order_by(a.id)).mappings()]

    def pending(self, *, due_by: datetime | None = None) -> int:
        """Notices not final yet (only those due by ``due_by``, and those being sent)."""
        c = notices.c
        waiting: sa.ColumnElement[bool] = c.status.in_(CLAIMABLE)
        if due_by is not None:
            waiting = sa.and_(waiting, c.next_at <= due_by)
        return int(self.conn.execute(sa.select(sa.func.count()).select_from(notices).where(
            sa.or_(waiting, c.status == DeliveryStatus.SENDING.value))).scalar_one())

    # -- campaigns ----------------------------------------------------------------------------

    def start_campaign(self, *, campaign_id: str, kind: str, incident_id: str,
                       run_id: str | None, source: str | None, now: datetime) -> bool:
        """Record a campaign; ``False`` when it exists (a re-run or a resume)."""
        exists = self.conn.execute(sa.select(notice_campaigns.c.id).where(
            notice_campaigns.c.id == campaign_id)).first()
        beat = {"heartbeat_at": datetime.now(UTC), "read_so_far": 0, "new_so_far": 0}
        if exists is not None:
            self.conn.execute(notice_campaigns.update().where(notice_campaigns.c.id == campaign_id)
                              .values(status="running", finished_at=None, **beat))
            return False
        self.conn.execute(notice_campaigns.insert().values(
            id=campaign_id, kind=kind, incident_id=incident_id, run_id=run_id, source=source,
            status="running", accounts=0, enqueued=0, without_contact=0, created_at=now, **beat))
        return True

    def heartbeat(self, campaign_id: str, *, read: int, new: int, alive: bool = True) -> None:
        """A running campaign's sign of life (wall-clock time, whatever the business clock);
        ``alive=False``: it stopped (an error), so nobody waits for it."""
        self.conn.execute(notice_campaigns.update().where(notice_campaigns.c.id == campaign_id)
                          .values(heartbeat_at=datetime.now(UTC) if alive else None,
                                  read_so_far=read, new_so_far=new))

    def finish_campaign(self, campaign_id: str, *, accounts: int, enqueued: int,
                        without_contact: int, now: datetime) -> None:
        c = notice_campaigns.c
        self.conn.execute(notice_campaigns.update().where(c.id == campaign_id).values(
            status="enqueued", accounts=accounts, enqueued=c.enqueued + enqueued,
            without_contact=without_contact, finished_at=now, heartbeat_at=None,
            read_so_far=None, new_so_far=None))

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        row = self.conn.execute(sa.select(notice_campaigns).where(
            notice_campaigns.c.id == campaign_id)).mappings().first()
        if row is None:
            raise NotFound(f"no notice campaign {campaign_id!r}")
        return dict(row)

    def campaigns(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(
            sa.select(notice_campaigns).order_by(notice_campaigns.c.created_at)).mappings()]

    def progress(self, campaign_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per campaign: its notices by status, and ``blast_radius`` (notices that had a step
        skipped because a service the channel depends on was down)."""
        n, a = notices.c, notice_attempts.c
        out: dict[str, dict[str, int]] = {cid: {} for cid in campaign_ids}
        if not out:
            return out
        for cid, status, count in self.conn.execute(
                sa.select(n.campaign_id, n.status, sa.func.count())
                .where(n.campaign_id.in_(list(out))).group_by(n.campaign_id, n.status)):
            out[cid][status] = int(count)
        skipped = (sa.select(n.campaign_id, sa.func.count(sa.distinct(a.notice_id)))
                   .select_from(notice_attempts.join(notices, n.id == a.notice_id))
                   .where(n.campaign_id.in_(list(out)), a.provider == "blast_radius",
                          a.status == DeliveryStatus.SKIPPED.value)
                   .group_by(n.campaign_id))
        for cid, count in self.conn.execute(skipped):
            out[cid]["blast_radius"] = int(count)
        return out

    # -- reports ------------------------------------------------------------------------------

    def report(self, *, campaign_id: str | None = None, incident_id: str | None = None
               ) -> dict[str, Any]:
        """Counts of notices by status and delivering channel, attempts by channel and status,
        fallbacks taken, steps skipped for the blast radius or an open circuit, and times."""
        n, a = notices.c, notice_attempts.c
        where: list[sa.ColumnElement[bool]] = []
        if campaign_id is not None:
            where.append(n.campaign_id == campaign_id)
        if incident_id is not None:
            where.append(n.incident_id == incident_id)
        by_status = {r[0]: int(r[1]) for r in self.conn.execute(
            sa.select(n.status, sa.func.count()).where(*where).group_by(n.status))}
        delivered = [{"channel": r[0], "step": int(r[1]), "notices": int(r[2])}
                     for r in self.conn.execute(
            sa.select(n.channel, n.step, sa.func.count()).where(
                *where, n.status == DeliveryStatus.DELIVERED.value)
            .group_by(n.channel, n.step).order_by(n.channel, n.step))]
        joined = notice_attempts.join(notices, notices.c.id == a.notice_id)
        attempts = [{"channel": r[0], "provider": r[1], "status": r[2], "attempts": int(r[3])}
                    for r in self.conn.execute(
            sa.select(a.channel, a.provider, a.status, sa.func.count()).select_from(joined)
            .where(*where).group_by(a.channel, a.provider, a.status)
            .order_by(a.channel, a.provider, a.status))]
        skips = [{"channel": r[0], "reason": r[1], "attempts": int(r[2])}
                 for r in self.conn.execute(
            sa.select(a.channel, a.detail, sa.func.count()).select_from(joined)
            .where(*where, a.status == DeliveryStatus.SKIPPED.value)
            .group_by(a.channel, a.detail).order_by(a.channel, a.detail))]
        return {"campaign_id": campaign_id, "incident_id": incident_id,
                "notices": sum(by_status.values()), "by_status": by_status,
                "delivered": delivered,
                "fallbacks_taken": sum(d["notices"] for d in delivered if d["step"] > 0),
                "attempts": attempts, "skipped": skips}
