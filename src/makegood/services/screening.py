"""Triage and screening use cases: classify, screen a batch, screen one claim after intake, record
a reviewer's duplicate decision, show a duplicate group side by side.

The score and codes come from :mod:`makegood.domain.screening`; the signals from the engine in
``adapters/screening``; the label from the text classifier in ``adapters/text``. A batch run
screens every claim together and replaces all results; a claim screened at intake is screened
with the claims that share a key with it (same payout account, mailbox, phone, device, evidence
file or text band, same network address within the hour, and the latest claims of its kind for
the amount distribution), and the neighbours it links to gain the codes the link gives them.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from makegood.adapters.screening.engine import (
    KINDS,
    ClaimColumns,
    Decision,
    Result,
    keys_of,
    screen_columns,
)
from makegood.domain.errors import InputError, NotFound
from makegood.domain.screening import DEDUCTIONS, mailbox, screen
from makegood.domain.staff import Permission
from makegood.domain.triage import Label
from makegood.services.ports import Cipher, UnitOfWork
from makegood.services.staff import StaffUser

Progress = Callable[[str, int, int], None]  # stage, done, total
Row = dict[str, Any]
SEGMENT_SAMPLE = 1000
_FROM_VERIFICATION = {"SERVICE_NOT_HELD": "SERVICE_NOT_HELD", "ACCOUNT_UNKNOWN": "SERVICE_NOT_HELD",
                      "NO_OVERLAP": "OUTSIDE_WINDOWS", "SERVICE_NOT_AFFECTED": "OUTSIDE_WINDOWS"}


class Prediction(Protocol):
    @property
    def label(self) -> Label: ...

    @property
    def probability(self) -> float: ...

    @property
    def drivers(self) -> tuple[str, ...]: ...

    @property
    def damage(self) -> bool: ...

    @property
    def category(self) -> str: ...


class Classifier(Protocol):
    def predict(self, texts: Sequence[str], *, top: int = 5) -> Sequence[Prediction]: ...


def shipped_classifier() -> Classifier:
    from makegood.adapters.text.model import TriageModel

    return TriageModel.load()


@dataclass(frozen=True, slots=True)
class Summary:
    claims: int
    flagged: int
    reject: int
    groups: int
    by_code: dict[str, int]


def verification_flags(checks: Sequence[dict[str, str]]) -> frozenset[str]:
    """The deduction codes a claim's stored verification gives."""
    out = {_FROM_VERIFICATION[c["code"]] for c in checks if c.get("code") in _FROM_VERIFICATION}
    if any(c.get("code") == "LEDGER_COVERED" and c.get("outcome") == "fail" for c in checks):
        out.add("LEDGER_COVERED")
    return frozenset(out)


def columns(rows: Sequence[Row], *, cipher: Cipher) -> ClaimColumns:
    def payout(row: Row) -> str | None:
        token = row.get("payout_encrypted")
        if not token:
            return None
        digits = "".join(ch for ch in cipher.decrypt(token) if ch.isalnum()).upper()
        return cipher.fingerprint(digits)

    return ClaimColumns(
        ids=[r["id"] for r in rows], email=[r["email"] for r in rows],
        phone=[r["phone"] for r in rows], ip=[r.get("client") for r in rows],
        device=[r.get("device") for r in rows], payout=[payout(r) for r in rows],
        evidence=[tuple(r.get("evidence_hashes", ())) for r in rows],
        text=[r["description"] for r in rows],
        at=np.asarray([int(r["created_at"].timestamp()) for r in rows], dtype=np.int64),
        segment=[f"{r['claimant_kind']}/{r['category']}" for r in rows],
        amount=np.asarray([float(r["amount"]) for r in rows], dtype=np.float64),
        flags=[verification_flags(r["verification"] or []) for r in rows])


def _links(result: Result, ids: Sequence[str]) -> list[dict[str, list[str]]]:
    links: list[dict[str, set[str]]] = [{} for _ in ids]
    for a, b, k in zip(result.edge_a.tolist(), result.edge_b.tolist(), result.edge_kind.tolist(),
                       strict=True):
        links[a].setdefault(KINDS[k], set()).add(ids[b])
        links[b].setdefault(KINDS[k], set()).add(ids[a])
    return [{k: sorted(v) for k, v in sorted(d.items())} for d in links]


def _result_row(i: int, *, ids: Sequence[str], result: Result, codes: set[str],
                links: dict[str, list[str]], prediction: Prediction | None, now: datetime
                ) -> dict[str, Any]:
    scored = screen(codes)
    group = int(result.group[i])
    return {"claim_id": ids[i],
            "label": prediction.label.value if prediction else None,
            "damage": prediction.damage if prediction else None,
            "predicted_category": prediction.category if prediction else None,
            "probability": round(prediction.probability, 4) if prediction else None,
            "drivers": list(prediction.drivers) if prediction else None,
            "score": scored.score, "codes": " " + " ".join(scored.codes) + " " if scored.codes
            else " ", "recommendation": scored.recommendation.value,
            "group_id": ids[group] if group >= 0 else None, "links": links, "screened_at": now}


def _decisions(uow: UnitOfWork, index: dict[str, int], ids: Sequence[str] | None = None
               ) -> list[Decision]:
    return [Decision(index[a], index[b], dup) for a, b, dup in uow.screening.decisions(ids)
            if a in index and b in index]


def screen_batch(*, uow: UnitOfWork, cipher: Cipher, now: datetime,
                 incident_id: str | None = None, classifier: Classifier | None = None,
                 progress: Progress | None = None, actor: str = "system:screening") -> Summary:
    """Screen (and classify) every claim, or every claim of one incident, and store the results."""
    report = progress or (lambda _stage, _done, _total: None)
    model = classifier or shipped_classifier()
    with uow:
        rows = uow.screening.claims(incident_id=incident_id)
        report("loaded", len(rows), len(rows))
        cols = columns(rows, cipher=cipher)
        index = {claim_id: i for i, claim_id in enumerate(cols.ids)}
        result = screen_columns(cols, _decisions(uow, index))
        report("screened", len(rows), len(rows))
        predictions: list[Prediction] = []
        for start in range(0, len(rows), 500):
            predictions.extend(model.predict(cols.text[start:start + 500]))
            report("classified", len(predictions), len(rows))
        links = _links(result, cols.ids)
        out = [_result_row(i, ids=cols.ids, result=result, codes=result.codes[i],
                           links=links[i], prediction=predictions[i], now=now)
               for i in range(len(rows))]
        uow.screening.put_results(out)
        uow.screening.put_keys([{"claim_id": cols.ids[i], "kind": kind, "key": key}
                                for i, kind, key in keys_of(cols)])
        report("stored", len(rows), len(rows))
        by_code: dict[str, int] = {}
        for r in out:
            for code in r["codes"].split():
                by_code[code] = by_code.get(code, 0) + 1
        summary = Summary(len(out), sum(1 for r in out if r["codes"].strip()),
                          sum(1 for r in out if r["recommendation"] == "reject"),
                          len({r["group_id"] for r in out if r["group_id"]}), by_code)
        uow.audit.record(actor=actor, action="claims.screen", entity="claims",
                         entity_id=incident_id or "*", before=None,
                         after={"claims": summary.claims, "flagged": summary.flagged,
                                "reject": summary.reject, "groups": summary.groups}, now=now)
        uow.commit()
    return summary


def screen_claim(*, uow: UnitOfWork, cipher: Cipher, claim_id: str, now: datetime,
                 classifier: Classifier | None = None, device: str | None = None) -> Row:
    """Screen one claim with its neighbours (see the module docstring); store and return its row.
    ``device`` is the filing app's device id (header ``X-Device-Id``), kept as a screening key."""
    model = classifier or shipped_classifier()
    with uow:
        found = uow.screening.claims(ids=[claim_id])
        if not found:
            raise NotFound(f"no claim {claim_id!r}")
        if device:
            found[0]["device"] = device
        own = columns(found, cipher=cipher)
        keys = [(kind, key) for _, kind, key in keys_of(own)]
        row = found[0]
        around = uow.screening.neighbours(keys, claim_id=claim_id)
        context = set(around)
        if row.get("client"):
            context |= uow.screening.near_in_time(
                client=row["client"], start=row["created_at"] - timedelta(hours=1),
                end=row["created_at"] + timedelta(hours=1))
        context |= uow.screening.same_segment(claimant_kind=row["claimant_kind"],
                                              category=row["category"], limit=SEGMENT_SAMPLE)
        context.discard(claim_id)
        rows = found + uow.screening.claims(ids=sorted(context))
        cols = columns(rows, cipher=cipher)
        index = {c: i for i, c in enumerate(cols.ids)}
        result = screen_columns(cols, _decisions(uow, index, cols.ids))
        links = _links(result, cols.ids)
        prediction = model.predict([row["description"]])[0]
        out = [_result_row(0, ids=cols.ids, result=result, codes=result.codes[0], links=links[0],
                           prediction=prediction, now=now)]
        linked = {c for ids in links[0].values() for c in ids}
        stored = uow.screening.results(sorted(linked))
        # Join the group a neighbour already belongs to, so the side-by-side view finds them all.
        known = sorted(r["group_id"] for r in stored.values() if r["group_id"])
        group_id = known[0] if known else (claim_id if linked else None)
        out[0]["group_id"] = group_id
        for other in sorted(linked):  # a neighbour gains the codes of its new link, keeps the rest
            i = index[other]
            before = stored.get(other)
            codes = set(result.codes[i]) | (set(before["codes"].split()) if before else set())
            merged = dict(before["links"]) if before else {}
            for kind, ids in links[i].items():
                merged[kind] = sorted(set(merged.get(kind, [])) | set(ids))
            new = _result_row(i, ids=cols.ids, result=result, codes=codes, links=merged,
                              prediction=None, now=now)
            if before:
                new.update({k: before[k] for k in ("label", "damage", "predicted_category",
                                                   "probability", "drivers")})
            new["group_id"] = before["group_id"] if before and before["group_id"] else group_id
            out.append(new)
        uow.screening.put_results(out)
        uow.screening.put_keys([{"claim_id": claim_id, "kind": k, "key": v} for k, v in keys])
        uow.commit()
    return out[0]


def decide_duplicate(*, uow: UnitOfWork, actor: StaffUser, claim_id: str, other_id: str,
                     duplicate: bool, note: str, now: datetime) -> None:
    """Record a reviewer's "duplicate" / "not duplicate" decision on a pair, in the audit trail;
    every later screening respects it."""
    actor.require(Permission.REVIEW)
    if claim_id == other_id:
        raise InputError("a claim cannot be a duplicate of itself", field="other_claim_id")
    with uow:
        for c in (claim_id, other_id):
            uow.claims.get_or_raise(c)
        uow.screening.add_decision(claim_a=claim_id, claim_b=other_id, duplicate=duplicate,
                                   note=note, decided_by=actor.id, now=now)
        for c, o in ((claim_id, other_id), (other_id, claim_id)):
            uow.audit.record(actor=actor.actor, action="claim.duplicate_decision", entity="claim",
                             entity_id=c, before=None,
                             after={"other_claim": o, "duplicate": duplicate, "note": note},
                             now=now)
        uow.commit()


def duplicate_group(*, uow: UnitOfWork, actor: StaffUser, claim_id: str) -> dict[str, Any]:
    """The claim's duplicate group, side by side: each member's fields, the shared ones marked."""
    actor.require(Permission.READ)
    with uow:
        own = uow.screening.get(claim_id)
        if own is None:
            raise NotFound(f"claim {claim_id!r} has not been screened yet; run the screening")
        members = uow.screening.group(own["group_id"]) if own["group_id"] else [own]
        claims = {r["id"]: r for r in uow.screening.claims(ids=[m["claim_id"] for m in members])}
    ids = [m["claim_id"] for m in members]
    shared: dict[str, set[str]] = {}
    for m in members:
        for kind, others in m["links"].items():
            if any(o in claims for o in others):
                shared.setdefault(m["claim_id"], set()).add(kind)
    boxes = [mailbox(claims[i]["email"]) for i in ids]
    return {"group_id": own["group_id"], "members": [{
        "claim_id": i, "name": claims[i]["name"], "email": claims[i]["email"],
        "mailbox": boxes[n], "phone": claims[i]["phone"], "payout": claims[i]["payout_masked"],
        "evidence": list(claims[i]["evidence_hashes"]), "description": claims[i]["description"],
        "amount": claims[i]["amount"], "currency": claims[i]["currency"],
        "created_at": claims[i]["created_at"], "score": m["score"], "codes": m["codes"].split(),
        "shared": sorted(shared.get(i, set())),
        "links": m["links"]} for n, (i, m) in enumerate(zip(ids, members, strict=True))]}


def deductions() -> list[dict[str, Any]]:
    return [{"code": d.code, "weight": d.weight, "en": d.en, "ko": d.ko}
            for d in DEDUCTIONS.values()]


class BackgroundScreener:
    """Screens each new claim on one worker thread, after its filing committed: intake never waits
    for it. The thread takes at most ``share`` of the time (it rests ``(1 - share) / share``
    times as long as each screening took), so a burst of filings keeps the process's CPU for
    intake; the queue drains when the burst is over. A claim it could not screen (the queue was
    full, the process stopped, an error) is screened by the next batch run
    (``makegood claims screen``)."""

    def __init__(self, *, uow: Callable[[], UnitOfWork], cipher: Cipher,
                 clock: Callable[[], datetime], share: float = 0.25,
                 classifier: Classifier | None = None) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._uow, self._cipher, self._clock = uow, cipher, clock
        self._rest = (1 - share) / share
        # Loaded and warmed here, before the server takes requests: loading Kiwi's model holds
        # the interpreter for a second or more, which must not happen between two filings.
        self._model: Classifier = classifier or shipped_classifier()
        self._model.predict(["카카오톡 warm-up"])
        self._queue: queue.Queue[tuple[str, str | None] | None] = queue.Queue(maxsize=10_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="screening", daemon=True)
        self._thread.start()

    def enqueue(self, claim_id: str, *, device: str | None = None) -> None:
        with contextlib.suppress(queue.Full):  # the batch run catches up; intake must not block
            self._queue.put_nowait((claim_id, device))

    def drain(self) -> None:
        """Wait until every queued claim is screened (tests and shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Stop without working off the queue (the batch run screens what is left); the claim
        being screened finishes unless the process exits first."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None or self._stop.is_set():
                    return
                claim_id, device = item
                started = time.monotonic()
                screen_claim(uow=self._uow(), cipher=self._cipher, claim_id=claim_id,
                             now=self._clock(), classifier=self._model, device=device)
                if self._rest:
                    self._stop.wait((time.monotonic() - started) * self._rest)
            except Exception:  # logged; the batch run screens it again
                logging.getLogger(__name__).exception("screening claim %s failed", item)
            finally:
                self._queue.task_done()


def attach(*, uow: UnitOfWork, rows: list[Row]) -> None:
    """Give each queue row its screening (``None`` when not screened yet)."""
    with uow:
        found = uow.screening.results([r["id"] for r in rows])
    for r in rows:
        s = found.get(r["id"])
        r["screening"] = None if s is None else {**s, "codes": s["codes"].split()}
