"""Delivering notices: the outbox worker.

A worker claims a batch of due notices (with a lease), decides each one's step (skipping the
channels the incident's blast radius or an open circuit rules out), writes a ``sending`` attempt
**before** it sends (committed), sends the batch over a few threads, then records the outcomes
and moves each notice on (delivered, retry later with back-off, next channel, wait, give up).

Crash safety: a worker killed at any point leaves either nothing (before the attempts commit),
or ``sending`` attempts under an expiring lease. The next worker to claim such a notice marks
the open attempt a technical failure ("outcome unknown") and tries the **same channel again
with the same provider key** (the ``Idempotency-Key`` an HTTP provider deduplicates on, the
e-mail's Message-ID), never the next channel: a notice that may have arrived is not sent over a
second channel.

Sealed links: a notice's secret link (a tracking or resume link with its token) is stored
encrypted; the worker opens it with ``cipher`` only to render the message, joins it to
``public_url`` (``MAKEGOOD_PUBLIC_URL``), and never writes it anywhere (attempt rows, the
webhook's facts). Without a public URL or a cipher the message says what to do instead.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from makegood.adapters.db.notices import Attempt, Notice
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.notify import Sender
from makegood.adapters.notify.config import NotifyConfig
from makegood.domain.incident import Incident
from makegood.domain.notice_text import render
from makegood.domain.notices import (
    Channel,
    CircuitBreaker,
    DeliveryStatus,
    SendResult,
    Throttle,
    Verdict,
    after_attempt,
    down_services,
    mask,
    provider_key,
)
from makegood.services.notice_events import incident_facts, open_link
from makegood.services.ports import Cipher

Clock = Callable[[], datetime]


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(slots=True)
class _Plan:
    notice: Notice
    step: int
    channel: Channel
    address: str
    key: str
    first_try: bool
    attempt_id: int = 0
    result: SendResult | None = None


@dataclass(slots=True)
class WorkerStats:
    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    skipped: int = 0
    batches: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """One delivery worker; several may run at once against the same database."""

    def __init__(self, *, uow: UnitOfWorkFactory, config: NotifyConfig,
                 senders: Mapping[Channel, Sender], clock: Clock,
                 incident_clock: Clock | None = None, name: str | None = None,
                 rng: random.Random | None = None, cipher: Cipher | None = None,
                 public_url: str | None = None) -> None:
        self.uow = uow
        self.cipher = cipher
        self.public_url = public_url
        self.config = config
        self.senders = senders
        self.clock = clock
        self.incident_clock = incident_clock or clock
        self.name = name or worker_name()
        self.rng = rng or random.Random()
        self.breakers = {c: CircuitBreaker(threshold=cfg.breaker_threshold,
                                           cool_down=cfg.breaker_cool_down)
                         for c, cfg in config.channels.items()}
        self.throttles = {c: Throttle(rate=cfg.rate_per_second, burst=cfg.burst,
                                      tokens=cfg.burst, at=time.monotonic())
                          for c, cfg in config.channels.items()}
        self._throttle_locks = {c: threading.Lock() for c in config.channels}
        self._incidents: dict[str, Incident | None] = {}
        self._pool = ThreadPoolExecutor(max_workers=config.threads,
                                        thread_name_prefix="notify")
        self.stats = WorkerStats()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, *, stop: threading.Event | None = None, until_idle: bool = False,
            idle_sleep: float = 1.0) -> WorkerStats:
        """Work until ``stop`` is set, or (``until_idle``) until nothing is due now."""
        while stop is None or not stop.is_set():
            if self.run_once():
                continue
            if until_idle:  # nothing due now: what waits for later is left for the next run
                break
            if stop is not None:
                stop.wait(idle_sleep)
            else:
                time.sleep(idle_sleep)
        return self.stats

    def run_once(self) -> int:
        """One batch: claim, plan, send, record. Returns how many notices were claimed."""
        now = self.clock()
        with self.uow() as uow:  # claim, plan and write the attempts: one transaction
            batch = uow.outbox.claim(owner=self.name, now=now, limit=self.config.batch,
                                     lease=self.config.lease)
            if not batch:
                return 0
            crashed = uow.outbox.open_attempts(n.id for n in batch)
            down = {n.incident_id: self._down(uow, n.incident_id) for n in batch}
            plans, skips, moves = self._plan(batch, down, now)
            if crashed:
                uow.outbox.finish_attempts([{
                    "id": attempt_id, "status": DeliveryStatus.TECHNICAL_FAILURE.value,
                    "detail": "worker stopped during the attempt; outcome unknown, sent again "
                              "on the same channel with the same provider key",
                    "provider_id": None, "finished_at": now} for attempt_id in crashed.values()])
            uow.outbox.record(skips)
            ids = uow.outbox.record([self._sending(p, now) for p in plans])
            for plan, attempt_id in zip(plans, ids, strict=True):
                plan.attempt_id = attempt_id
            uow.outbox.update_many(owner=self.name, rows=moves)
            uow.commit()
        self.stats.claimed += len(batch)
        self.stats.batches += 1
        self.stats.skipped += len(skips)
        list(self._pool.map(self._send, plans))
        self._record(plans)
        return len(batch)

    # -- planning -----------------------------------------------------------------------------

    def _down(self, uow: UnitOfWork, incident_id: str) -> frozenset[str]:
        if incident_id not in self._incidents:
            record = uow.incidents.get(incident_id)
            self._incidents[incident_id] = None if record is None else record.incident
        incident = self._incidents[incident_id]
        return frozenset() if incident is None else down_services(incident, self.incident_clock())

    def _plan(self, batch: list[Notice], down: Mapping[str, frozenset[str]], now: datetime
              ) -> tuple[list[_Plan], list[Attempt], list[tuple[int, dict[str, Any]]]]:
        plans: list[_Plan] = []
        skips: list[Attempt] = []
        moves: list[tuple[int, dict[str, Any]]] = []
        for notice in batch:
            chain = self.config.routing.chain(notice.kind, notice.contact)
            step, skipped = notice.step, notice.skipped
            while step < len(chain):
                channel = chain[step]
                address = notice.contact.address(channel) or ""
                blocked = self.config.blast_radius.blocked_by(channel, address,
                                                              down[notice.incident_id])
                reason = (f"blast radius: {', '.join(blocked)} down" if blocked
                          else None if self.breakers[channel].allows(now)
                          else "circuit open")
                if reason is None:
                    break
                skips.append(Attempt(
                    notice_id=notice.id, step=step, channel=channel,
                    provider="blast_radius" if blocked else "circuit", address=mask(address),
                    provider_key=provider_key(notice.key, channel),
                    status=DeliveryStatus.SKIPPED, detail=reason, worker=self.name,
                    sending_at=now, finished_at=now))
                step, skipped = step + 1, True
            if step < len(chain):
                channel = chain[step]
                plans.append(_Plan(notice, step, channel, notice.contact.address(channel) or "",
                                   provider_key(notice.key, channel),
                                   first_try=step != notice.step or notice.step_started_at is None))
                if step != notice.step or skipped != notice.skipped:
                    moves.append((notice.id, _full(notice, now, {
                        "step": step, "tries": 0, "skipped": skipped, "step_started_at": now,
                        "status": DeliveryStatus.SENDING.value, "lease_owner": self.name,
                        "lease_until": now + self.config.lease})))
                continue
            moves.append((notice.id, _full(notice, now,
                                           self._exhausted(notice, chain, skipped, now))))
        return plans, skips, moves

    def _exhausted(self, notice: Notice, chain: tuple[Channel, ...], skipped: bool,
                   now: datetime) -> dict[str, Any]:
        if not chain:
            return {"status": DeliveryStatus.PERMANENT_FAILURE.value, "updated_at": now,
                    "step": 0}
        if skipped:  # a channel may come back: start the chain over later
            return {"status": DeliveryStatus.TEMPORARY_FAILURE.value, "step": 0, "tries": 0,
                    "skipped": False, "step_started_at": None, "updated_at": now,
                    "next_at": now + self.config.blocked_wait}
        return {"status": DeliveryStatus.PERMANENT_FAILURE.value, "updated_at": now}

    def _sending(self, plan: _Plan, now: datetime) -> Attempt:
        return Attempt(notice_id=plan.notice.id, step=plan.step, channel=plan.channel,
                       provider=self.senders[plan.channel].name, address=mask(plan.address),
                       provider_key=plan.key, status=DeliveryStatus.SENDING, detail="",
                       worker=self.name, sending_at=now)

    # -- sending ------------------------------------------------------------------------------

    def _send(self, plan: _Plan) -> None:
        notice = plan.notice
        incident = self._incidents.get(notice.incident_id)
        payload = {**incident_facts(incident), **notice.payload} if incident else notice.payload
        link = (open_link(self.cipher, notice.sealed, self.public_url)
                if self.cipher is not None else None)
        message = render(notice.kind, notice.contact.language, payload, link)
        with self._throttle_locks[plan.channel]:
            wait = self.throttles[plan.channel].wait(time.monotonic())
        if wait > 0:
            time.sleep(wait)
        facts: dict[str, object] = {"key": notice.key, "kind": notice.kind.value,
                                    "incident_id": notice.incident_id,
                                    "account_id": notice.account_id,
                                    "payload": dict(payload)}
        try:
            plan.result = self.senders[plan.channel].send(address=plan.address, message=message,
                                                          key=plan.key, facts=facts)
        except Exception as exc:  # an adapter bug must not stop the batch: a technical failure
            plan.result = SendResult(DeliveryStatus.TECHNICAL_FAILURE,
                                     f"{type(exc).__name__}: {exc}")

    def _record(self, plans: list[_Plan]) -> None:
        now = self.clock()
        outcomes: list[dict[str, Any]] = []
        moves: list[tuple[int, dict[str, Any]]] = []
        for plan in plans:
            result = plan.result or SendResult(DeliveryStatus.TECHNICAL_FAILURE, "not sent")
            self.breakers[plan.channel].record(result.status, now)
            self.stats.sent += 1
            outcomes.append({"id": plan.attempt_id, "status": result.status.value,
                             "detail": result.detail, "provider_id": result.provider_id,
                             "finished_at": now})
            moves.append((plan.notice.id, _full(plan.notice, now, self._move(plan, result, now))))
        with self.uow() as uow:
            uow.outbox.finish_attempts(outcomes)
            uow.outbox.update_many(owner=self.name, rows=moves)
            uow.commit()

    def _move(self, plan: _Plan, result: SendResult, now: datetime) -> dict[str, Any]:
        notice = plan.notice
        chain = self.config.routing.chain(notice.kind, notice.contact)
        tries = 1 if plan.first_try else notice.tries + 1
        started = now if plan.first_try or notice.step_started_at is None \
            else notice.step_started_at
        skipped = notice.skipped or plan.step != notice.step
        verdict = after_attempt(result.status, tries=tries, step_started=started, now=now,
                                retry=self.config.retry, last_step=plan.step >= len(chain) - 1,
                                skipped_any=skipped)
        self.stats.by_verdict[verdict.value] = self.stats.by_verdict.get(verdict.value, 0) + 1
        base: dict[str, Any] = {"updated_at": now, "step": plan.step, "skipped": skipped,
                                "step_started_at": started, "tries": tries}
        if verdict is Verdict.DONE:
            self.stats.delivered += 1
            return {**base, "status": DeliveryStatus.DELIVERED.value,
                    "channel": plan.channel.value, "delivered_at": now}
        if verdict is Verdict.RETRY:
            return {**base, "status": DeliveryStatus.TEMPORARY_FAILURE.value,
                    "next_at": now + self.config.retry.delay(tries, self.rng)}
        if verdict is Verdict.NEXT:
            return {**base, "status": DeliveryStatus.TEMPORARY_FAILURE.value,
                    "step": plan.step + 1, "tries": 0, "step_started_at": None, "next_at": now}
        if verdict is Verdict.WAIT:
            return {**base, "status": DeliveryStatus.TEMPORARY_FAILURE.value, "step": 0,
                    "tries": 0, "skipped": False, "step_started_at": None,
                    "next_at": now + self.config.blocked_wait}
        final = result.status if result.status in (DeliveryStatus.PERMANENT_FAILURE,
                                                   DeliveryStatus.TECHNICAL_FAILURE) \
            else DeliveryStatus.TECHNICAL_FAILURE
        return {**base, "status": final.value}


def _full(notice: Notice, now: datetime, values: dict[str, Any]) -> dict[str, Any]:
    """Every column a move writes: the notice's own values where ``values`` leaves them."""
    return {"step": notice.step, "tries": notice.tries, "skipped": notice.skipped,
            "step_started_at": notice.step_started_at, "next_at": now, "updated_at": now,
            **values}


def senders_for(config: NotifyConfig) -> dict[Channel, Sender]:
    """One adapter per configured channel (closed by :func:`close_senders`)."""
    return {channel: config.sender(channel) for channel in config.channels}


def close_senders(senders: Mapping[Channel, Sender]) -> None:
    for sender in senders.values():
        sender.close()
