"""Storage of triage and screening: results per claim, neighbour keys, duplicate decisions.

The unit of work exposes this as ``uow.screening``. Results are replaced whole per claim; keys
(``payout``, ``mailbox``, ``phone``, ``device``, ``band0`` ... ``band7``) let a new claim find
the claims it may be linked to with indexed look-ups instead of a scan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from makegood.adapters.db import schema as t
from makegood.domain.records import ClaimFilter

Row = dict[str, Any]
_CHUNK = 500


def screening_where(f: ClaimFilter) -> list[sa.ColumnElement[bool]]:
    """The review queue's triage and screening filters, as a condition on the claims table."""
    s = t.claim_screening.c
    conds: list[sa.ColumnElement[bool]] = []
    if f.damage is not None:
        conds.append(s.damage == f.damage)
    if f.triage_category:
        conds.append(s.predicted_category == f.triage_category)
    if f.score_min is not None:
        conds.append(s.score >= f.score_min)
    if f.score_max is not None:
        conds.append(s.score <= f.score_max)
    if f.code:
        conds.append(s.codes.like(f"% {f.code} %"))
    if f.recommendation:
        conds.append(s.recommendation == f.recommendation)
    if not conds:
        return []
    return [t.claims.c.id.in_(sa.select(s.claim_id).where(*conds))]


def queue_order(f: ClaimFilter) -> list[Any]:
    """Oldest first; with ``order="score"`` lowest score first (unscreened claims last)."""
    order: list[Any] = [t.claims.c.created_at, t.claims.c.id]
    if f.order != "score":
        return order
    score = (sa.select(t.claim_screening.c.score)
             .where(t.claim_screening.c.claim_id == t.claims.c.id).scalar_subquery())
    return [sa.case((score.is_(None), 1), else_=0), score, *order]


class ScreeningRepo:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- claims to screen --------------------------------------------------------------------

    def claims(self, *, incident_id: str | None = None, ids: Sequence[str] | None = None
               ) -> list[Row]:
        """The claims (all, one incident's, or the given ids) with their evidence hashes."""
        q = sa.select(t.claims).order_by(t.claims.c.created_at, t.claims.c.id)
        if incident_id:
            q = q.where(t.claims.c.incident_id == incident_id)
        rows: list[Row] = []
        if ids is None:
            rows = [dict(r) for r in self.conn.execute(q).mappings()]
        else:
            for i in range(0, len(ids), _CHUNK):
                part = list(ids[i:i + _CHUNK])
                rows += [dict(r) for r in self.conn.execute(
                    q.where(t.claims.c.id.in_(part))).mappings()]
        hashes: dict[str, list[str]] = {}
        wanted = [r["id"] for r in rows]
        for i in range(0, len(wanted), _CHUNK):
            for claim_id, sha in self.conn.execute(
                    sa.select(t.evidence.c.claim_id, t.evidence.c.sha256)
                    .where(t.evidence.c.claim_id.in_(wanted[i:i + _CHUNK]))
                    .order_by(t.evidence.c.id)):
                hashes.setdefault(claim_id, []).append(sha)
        devices: dict[str, str] = {}
        k = t.screening_keys.c
        for i in range(0, len(wanted), _CHUNK):
            for claim_id, key in self.conn.execute(
                    sa.select(k.claim_id, k.key).where(k.kind == "device",
                                                       k.claim_id.in_(wanted[i:i + _CHUNK]))):
                devices[claim_id] = key
        for r in rows:
            r["evidence_hashes"] = tuple(hashes.get(r["id"], ()))
            r["device"] = devices.get(r["id"])  # kept as a key: the claims table has no column
        return rows

    def neighbours(self, keys: Iterable[tuple[str, str]], *, claim_id: str) -> set[str]:
        """Claims other than ``claim_id`` that share a key, or an evidence file, with it."""
        found: set[str] = set()
        pairs = list(keys)
        k = t.screening_keys.c
        for i in range(0, len(pairs), 50):
            part = pairs[i:i + 50]
            cond = sa.or_(*[sa.and_(k.kind == kind, k.key == key) for kind, key in part])
            found.update(self.conn.execute(sa.select(k.claim_id).where(cond)).scalars())
        e = t.evidence.c
        shared = sa.select(e.sha256).where(e.claim_id == claim_id).scalar_subquery()
        found.update(self.conn.execute(
            sa.select(e.claim_id).where(e.sha256.in_(shared))).scalars())
        found.discard(claim_id)
        return found

    def near_in_time(self, *, client: str, start: datetime, end: datetime) -> set[str]:
        c = t.claims.c
        return set(self.conn.execute(sa.select(c.id).where(
            c.client == client, c.created_at >= start, c.created_at <= end)).scalars())

    def same_segment(self, *, claimant_kind: str, category: str, limit: int) -> set[str]:
        """The latest claims of a kind and category: the distribution an amount is judged by."""
        c = t.claims.c
        return set(self.conn.execute(
            sa.select(c.id).where(c.claimant_kind == claimant_kind, c.category == category)
            .order_by(c.created_at.desc()).limit(limit)).scalars())

    # -- results -------------------------------------------------------------------------------

    def put_keys(self, rows: Sequence[Mapping[str, str]]) -> None:
        ids = sorted({r["claim_id"] for r in rows})
        for i in range(0, len(ids), _CHUNK):
            self.conn.execute(t.screening_keys.delete().where(
                t.screening_keys.c.claim_id.in_(ids[i:i + _CHUNK])))
        unique = list({(r["kind"], r["key"], r["claim_id"]): r for r in rows}.values())
        for i in range(0, len(unique), 5000):
            self.conn.execute(t.screening_keys.insert(), [dict(r) for r in unique[i:i + 5000]])

    def put_results(self, rows: Sequence[Mapping[str, Any]]) -> None:
        ids = [r["claim_id"] for r in rows]
        for i in range(0, len(ids), _CHUNK):
            self.conn.execute(t.claim_screening.delete().where(
                t.claim_screening.c.claim_id.in_(ids[i:i + _CHUNK])))
        for i in range(0, len(rows), 2000):
            self.conn.execute(t.claim_screening.insert(), [dict(r) for r in rows[i:i + 2000]])

    def get(self, claim_id: str) -> Row | None:
        row = self.conn.execute(sa.select(t.claim_screening).where(
            t.claim_screening.c.claim_id == claim_id)).mappings().first()
        return None if row is None else dict(row)

    def results(self, claim_ids: Sequence[str]) -> dict[str, Row]:
        out: dict[str, Row] = {}
        for i in range(0, len(claim_ids), _CHUNK):
            for r in self.conn.execute(sa.select(t.claim_screening).where(
                    t.claim_screening.c.claim_id.in_(list(claim_ids[i:i + _CHUNK])))).mappings():
                out[r["claim_id"]] = dict(r)
        return out

    def group(self, group_id: str) -> list[Row]:
        return [dict(r) for r in self.conn.execute(
            sa.select(t.claim_screening).where(t.claim_screening.c.group_id == group_id)
            .order_by(t.claim_screening.c.claim_id)).mappings()]

    # -- reviewers' decisions ------------------------------------------------------------------

    def add_decision(self, *, claim_a: str, claim_b: str, duplicate: bool, note: str,
                     decided_by: int, now: datetime) -> None:
        a, b = sorted((claim_a, claim_b))
        self.conn.execute(t.duplicate_decisions.insert().values(
            claim_a=a, claim_b=b, duplicate=duplicate, note=note, decided_by=decided_by,
            decided_at=now))

    def decisions(self, claim_ids: Iterable[str] | None = None) -> list[tuple[str, str, bool]]:
        """The latest decision per pair (of pairs touching ``claim_ids``, or all)."""
        d = t.duplicate_decisions.c
        q = sa.select(d.claim_a, d.claim_b, d.duplicate).order_by(d.id)
        if claim_ids is not None:
            ids = list(claim_ids)
            q = q.where(sa.or_(d.claim_a.in_(ids), d.claim_b.in_(ids)))
        latest: dict[tuple[str, str], bool] = {}
        for a, b, dup in self.conn.execute(q):
            latest[(a, b)] = bool(dup)
        return [(a, b, dup) for (a, b), dup in latest.items()]
