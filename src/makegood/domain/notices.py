"""Notices: what makegood tells a person, over which channel, and what it does when a channel fails.

A notice is one message to one account about one event (an award, a claim received, a decision,
a payout, a reminder). Its **idempotency key** names the event, so the same event never makes
two notices: a campaign run twice, or resumed after a crash, inserts nothing new.

Delivery walks a **fallback chain** of channels (push, then SMS, then email, ...). Each step is
bounded: a permanent failure or a step that stays undelivered past its time-out moves to the
next channel; a temporary or technical failure is retried on the same channel after an
exponential back-off with jitter. Statuses are those of public-sector notification services:
created, sending, delivered, temporary failure, permanent failure, technical failure.

**Blast radius**: in 2022 the outage took down the messenger, its business-message channel and
the operator's own mail service, so notices sent over them were lost. An incident says which
services are down; a channel (or an email domain) that depends on a down service is skipped while
the service is down. Which channel and which domain depends on which service is configuration
(:class:`BlastRadius`); the 2022 case ships as the example (``policies/notify-kakao-2022.toml``).

Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from makegood.domain.errors import InputError
from makegood.domain.incident import Incident, Severity


class NoticeKind(StrEnum):
    AWARD_GRANTED = "award_granted"
    CLAIM_RECEIVED = "claim_received"
    INFORMATION_REQUESTED = "information_requested"
    DECISION = "decision"
    PAYOUT_SENT = "payout_sent"
    PAYOUT_FAILED = "payout_failed"
    DEADLINE_REMINDER = "deadline_reminder"
    RESUME_LINK = "resume_link"  # the link back to a claim saved on the portal to finish later
    DRAFT_REMINDER = "draft_reminder"  # a saved claim not submitted yet, before its deadline


class DeliveryStatus(StrEnum):
    """Per notice and per attempt (GOV.UK Notify's vocabulary), plus ``skipped`` for a step
    the blast radius or an open circuit ruled out without trying it."""

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"
    TECHNICAL_FAILURE = "technical_failure"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # withdrawn before it was sent (a draft reminder, draft submitted)


FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.PERMANENT_FAILURE,
                   DeliveryStatus.TECHNICAL_FAILURE, DeliveryStatus.CANCELLED})
RETRYABLE = frozenset({DeliveryStatus.TEMPORARY_FAILURE, DeliveryStatus.TECHNICAL_FAILURE})


class Channel(StrEnum):
    PUSH = "push"
    ALIMTALK = "alimtalk"  # the messenger's business-message channel (KakaoTalk AlimTalk)
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"


# Which contact point each channel sends to.
ADDRESS_FIELD: Mapping[Channel, str] = {
    Channel.PUSH: "push_id", Channel.ALIMTALK: "phone", Channel.SMS: "phone",
    Channel.EMAIL: "email", Channel.WEBHOOK: "webhook_url",
}
LANGUAGES = ("ko", "en")


@dataclass(frozen=True, slots=True)
class Contact:
    """An account's contact points (docs/notices.md, the contacts table)."""

    account_id: str
    email: str | None = None
    phone: str | None = None
    push_id: str | None = None
    webhook_url: str | None = None
    language: str = "ko"

    def address(self, channel: Channel) -> str | None:
        value: str | None = getattr(self, ADDRESS_FIELD[channel])
        return value or None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel adapter reports for one send: the attempt's final status, why, and the
    provider's id for the message (a Message-ID, an SMS id)."""

    status: DeliveryStatus
    detail: str = ""
    provider_id: str | None = None


def mask(address: str) -> str:
    """An address as reports and attempt rows keep it: ``ki***@daum.net``, ``+82******5678``."""
    if "@" in address:
        local, domain = address.rsplit("@", 1)
        return f"{local[:2]}***@{domain}"
    if "://" in address:
        scheme, rest = address.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}/…"
    return address[:3] + "*" * max(0, len(address) - 7) + address[-4:]


@dataclass(frozen=True, slots=True)
class NewNotice:
    """A notice to write to the outbox: the event's key, the facts its words are rendered from,
    the contact points to use.

    ``sealed``: a secret of the notice (the path of a link that holds a receipt or resume
    token), already encrypted with the service's key. It is stored as it is, opened only when
    the notice is rendered for sending, and wiped once the notice is final.
    """

    key: str
    incident_id: str
    account_id: str
    kind: NoticeKind
    payload: Mapping[str, object]
    contact: Contact
    campaign_id: str | None = None
    sealed: str | None = None


def idempotency_key(*, account_id: str, incident_id: str, kind: NoticeKind, event: str) -> str:
    """The key of one event's notice to one account. ``event`` is the run id for award notices,
    the claim id and its state change for claim notices, the payout id for payouts.

    Long or odd ids are hashed so the key fits its column; short keys stay readable.
    """
    raw = f"{kind.value}|{incident_id}|{account_id}|{event}"
    if len(raw) <= 200:
        return raw
    return f"{kind.value}|sha256:{hashlib.sha256(raw.encode()).hexdigest()}"


def provider_key(notice_key: str, channel: Channel) -> str:
    """The key a provider sees for this notice on this channel (``Idempotency-Key`` header,
    e-mail ``Message-ID``): the same on every retry, so a retry after a crash is recognisable."""
    return hashlib.sha256(f"{notice_key}|{channel.value}".encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# Blast radius


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """Which services each channel and each email domain depend on.

    2022: ``push`` and ``alimtalk`` depend on the messenger and its business channel;
    ``kakao.com`` mail on ``kakao_mail``; ``daum.net`` and ``hanmail.net`` on ``daum_mail``.
    """

    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    email_domains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def depends_on(self, channel: Channel, address: str | None) -> tuple[str, ...]:
        services = list(self.channels.get(channel.value, ()))
        if channel is Channel.EMAIL and address and "@" in address:
            domain = address.rsplit("@", 1)[1].strip().lower()
            services.extend(self.email_domains.get(domain, ()))
        return tuple(services)

    def blocked_by(self, channel: Channel, address: str | None, down: Iterable[str]
                   ) -> tuple[str, ...]:
        """The down services this channel (to this address) depends on; empty when usable."""
        down_set = set(down)
        return tuple(s for s in self.depends_on(channel, address) if s in down_set)


def down_services(incident: Incident, at: datetime) -> frozenset[str]:
    """The services with an outage window that contains ``at`` (degraded does not count)."""
    return frozenset(i.service for i in incident.impacts
                     if i.severity is Severity.OUTAGE and i.window.start <= at < i.window.end)


# ---------------------------------------------------------------------------------------------
# Fallback chains and retries


@dataclass(frozen=True, slots=True)
class Retry:
    """Exponential back-off with full jitter (AWS architecture blog, "Exponential Backoff And
    Jitter"): wait a random time in ``[0, min(cap, base * 2**tries))``, at least ``floor``.

    Worked example: base 2 s, cap 300 s; the 4th retry waits up to 16 s.
    """

    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=5)
    floor: timedelta = timedelta(milliseconds=200)
    max_tries: int = 5  # per step; then the chain moves on
    step_timeout: timedelta = timedelta(minutes=30)  # no receipt by then: the chain moves on

    def delay(self, tries: int, rng: random.Random) -> timedelta:
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** min(tries, 30))
        return max(self.floor, timedelta(seconds=rng.uniform(0, ceiling)))


@dataclass(frozen=True, slots=True)
class Routing:
    """Fallback chains per notice kind (a ``default`` chain for kinds not named), and per
    recipient: a step without an address for the recipient is left out."""

    chains: Mapping[str, tuple[Channel, ...]]

    def chain(self, kind: NoticeKind, contact: Contact) -> tuple[Channel, ...]:
        chain = self.chains.get(kind.value) or self.chains.get("default") or ()
        return tuple(c for c in chain if contact.address(c))


def parse_chain(values: Sequence[object], *, field_name: str) -> tuple[Channel, ...]:
    out: list[Channel] = []
    for value in values:
        try:
            out.append(Channel(str(value)))
        except ValueError:
            raise InputError(f"unknown channel {value!r}; known: "
                             f"{', '.join(c.value for c in Channel)}", field=field_name) from None
    return tuple(out)


class Verdict(StrEnum):
    """What the worker does after one attempt."""

    DONE = "done"  # delivered
    RETRY = "retry"  # same channel, later
    NEXT = "next"  # next channel in the chain, now
    WAIT = "wait"  # the chain is exhausted but a skipped channel may come back: start over later
    GIVE_UP = "give_up"  # nothing left: the notice failed


def after_attempt(status: DeliveryStatus, *, tries: int, step_started: datetime,
                  now: datetime, retry: Retry, last_step: bool, skipped_any: bool) -> Verdict:
    """The next move after an attempt on a step ended with ``status`` (``tries`` counts it)."""
    if status is DeliveryStatus.DELIVERED:
        return Verdict.DONE
    timed_out = now - step_started >= retry.step_timeout
    if status in RETRYABLE and tries < retry.max_tries and not timed_out:
        return Verdict.RETRY
    if not last_step:
        return Verdict.NEXT
    return Verdict.WAIT if skipped_any else Verdict.GIVE_UP


# ---------------------------------------------------------------------------------------------
# Circuit breaker


@dataclass(slots=True)
class CircuitBreaker:
    """Per channel and provider: after ``threshold`` consecutive failures the circuit opens and
    no attempt is made for ``cool_down``; then one trial attempt (half-open) closes it on
    success or opens it again on failure (Nygard, *Release It!*)."""

    threshold: int = 5
    cool_down: timedelta = timedelta(seconds=30)
    failures: int = 0
    opened_at: datetime | None = None
    trial: bool = False

    def allows(self, now: datetime) -> bool:
        if self.opened_at is None:
            return True
        if now - self.opened_at >= self.cool_down and not self.trial:
            self.trial = True  # half-open: let one attempt through
            return True
        return False

    def reopens_at(self) -> datetime | None:
        return None if self.opened_at is None else self.opened_at + self.cool_down

    def record(self, status: DeliveryStatus, now: datetime) -> None:
        # A recipient's permanent failure (a refused address) says nothing of the provider.
        if status in (DeliveryStatus.DELIVERED, DeliveryStatus.PERMANENT_FAILURE):
            self.failures = 0
            self.opened_at = None
            self.trial = False
            return
        self.failures += 1
        if self.trial or self.failures >= self.threshold:
            self.opened_at = now
            self.trial = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.trial else "open"


@dataclass(slots=True)
class Throttle:
    """A token bucket: at most ``rate`` sends a second per channel, bursts up to ``burst``."""

    rate: float
    burst: float
    tokens: float = 0.0
    at: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds to wait before the next send (0 when a token is free); takes the token."""
        if self.rate <= 0:
            return 0.0
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        needed = (1 - self.tokens) / self.rate
        self.tokens -= 1
        return needed
