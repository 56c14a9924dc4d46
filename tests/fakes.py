"""In-memory fakes of the ports (makegood.services.ports), for use-case tests without a database.

:class:`FakeUnitOfWork` keeps every repository's records in plain dicts and lists. Entering it
copies the committed state; ``commit`` publishes the copy; leaving without a commit drops it,
so a use case that fails half-way leaves nothing, as on a real database. Duplicate keys raise
:class:`Conflict`, as the SQL repositories do.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any

from makegood.domain.accounts import Account, Subscription
from makegood.domain.errors import Conflict, NotFound
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


@dataclass
class State:
    incidents: dict[str, tuple[IncidentRecord, str]] = field(default_factory=dict)  # + title
    policies: dict[str, Policy] = field(default_factory=dict)
    accounts: dict[str, list[Subscription]] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    idempotency: dict[str, IdempotencyRecord] = field(default_factory=dict)
    evidence: list[EvidenceFile] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    staff: dict[int, StaffAccount] = field(default_factory=dict)
    sessions: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    notices: dict[str, NewNotice] = field(default_factory=dict)  # by idempotency key


class _Repo:
    def __init__(self, state: State) -> None:
        self.s = state


class Incidents(_Repo):
    def put(self, *, incident: Incident, document: str, policy_id: str | None,
            ledger_path: str | None, intake_opens: datetime | None,
            intake_closes: datetime | None, now: datetime) -> None:
        record = IncidentRecord(incident=incident, policy_id=policy_id,
                                policy=self.s.policies.get(policy_id or ""),
                                ledger_path=ledger_path, intake_opens=intake_opens,
                                intake_closes=intake_closes)
        self.s.incidents[incident.id] = (record, incident.title)

    def get(self, incident_id: str) -> IncidentRecord | None:
        found = self.s.incidents.get(incident_id)
        return None if found is None else found[0]

    def get_or_raise(self, incident_id: str) -> IncidentRecord:
        record = self.get(incident_id)
        if record is None:
            raise NotFound(f"no incident {incident_id!r}")
        return record

    def set_intake(self, incident_id: str, *, opens: datetime | None,
                   closes: datetime | None) -> None:
        record, title = self.s.incidents[incident_id]
        self.s.incidents[incident_id] = (replace(record, intake_opens=opens,
                                                 intake_closes=closes), title)

    def list_(self) -> list[IncidentSummary]:
        return [IncidentSummary(i, title, r.policy_id, r.intake_opens, r.intake_closes)
                for i, (r, title) in sorted(self.s.incidents.items())]


class Policies(_Repo):
    def put(self, *, policy: Policy, document: str, now: datetime) -> None:
        self.s.policies[policy.id] = policy

    def get(self, policy_id: str) -> Policy | None:
        return self.s.policies.get(policy_id)


class Accounts(_Repo):
    def put_many(self, accounts: Iterable[Account]) -> int:
        batch = list(accounts)
        for a in batch:
            self.s.accounts[a.id] = list(a.subscriptions)
        return len(batch)

    def subscriptions(self, account_id: str) -> list[Subscription] | None:
        return self.s.accounts.get(account_id)


class Claims(_Repo):
    def add(self, claim: Claim) -> None:
        if claim.id in self.s.claims or any(c.receipt_hash == claim.receipt_hash
                                            for c in self.s.claims.values()):
            raise Conflict(f"a claim {claim.id!r} (or its receipt) is already stored")
        self.s.claims[claim.id] = claim

    def get(self, claim_id: str) -> Claim | None:
        return self.s.claims.get(claim_id)

    def get_or_raise(self, claim_id: str) -> Claim:
        found = self.get(claim_id)
        if found is None:
            raise NotFound(f"no claim {claim_id!r}")
        return found

    def get_by_receipt(self, receipt_hash: str) -> Claim | None:
        return next((c for c in self.s.claims.values() if c.receipt_hash == receipt_hash), None)

    def lock(self, claim_id: str) -> Claim:
        return self.get_or_raise(claim_id)

    def update(self, claim: Claim) -> None:
        self.s.claims[claim.id] = claim

    def list_(self, f: ClaimFilter, *, limit: int = 50, offset: int = 0
              ) -> tuple[list[Claim], int]:
        found = [c for c in self.all_(f.incident_id)
                 if (not f.status or c.status.value == f.status)
                 and (not f.service or c.service == f.service)
                 and (f.assigned_to is None or c.assigned_to == f.assigned_to)
                 and (not f.unassigned or c.assigned_to is None)]
        return found[offset:offset + limit], len(found)

    def all_(self, incident_id: str | None = None) -> list[Claim]:
        return sorted((c for c in self.s.claims.values()
                       if not incident_id or c.incident_id == incident_id),
                      key=lambda c: (c.created_at, c.id))


class Idempotency(_Repo):
    def get(self, key: str) -> IdempotencyRecord | None:
        return self.s.idempotency.get(key)

    def add(self, record: IdempotencyRecord) -> None:
        if record.key in self.s.idempotency:
            raise Conflict("this Idempotency-Key is already in use")
        self.s.idempotency[record.key] = record


class Evidence(_Repo):
    def add(self, evidence: EvidenceFile) -> int:
        stored = replace(evidence, id=len(self.s.evidence) + 1)
        self.s.evidence.append(stored)
        return stored.id

    def of_claim(self, claim_id: str) -> list[EvidenceFile]:
        return [e for e in self.s.evidence if e.claim_id == claim_id]

    def claims_sharing(self, sha256: str) -> int:
        return len({e.claim_id for e in self.s.evidence if e.sha256 == sha256})


class Messages(_Repo):
    def add(self, message: Message) -> None:
        self.s.messages.append(replace(message, id=len(self.s.messages) + 1))

    def of_claim(self, claim_id: str) -> list[Message]:
        return [m for m in self.s.messages if m.claim_id == claim_id]


class Decisions(_Repo):
    def add(self, decision: Decision) -> None:
        self.s.decisions.append(replace(decision, id=len(self.s.decisions) + 1,
                                        username=self.s.staff[decision.decided_by].username))

    def of_claim(self, claim_id: str) -> list[Decision]:
        return [d for d in self.s.decisions if d.claim_id == claim_id]


class Staff(_Repo):
    def add(self, *, username: str, password_hash: str, role: str, now: datetime) -> int:
        if self.get_by_name(username) is not None:
            raise Conflict(f"a staff user {username!r} already exists")
        from makegood.domain.staff import Role

        user_id = len(self.s.staff) + 1
        self.s.staff[user_id] = StaffAccount(user_id, username, password_hash, Role(role), True,
                                             now)
        return user_id

    def get_by_name(self, username: str) -> StaffAccount | None:
        return next((a for a in self.s.staff.values() if a.username == username), None)

    def get(self, user_id: int) -> StaffAccount | None:
        return self.s.staff.get(user_id)

    def set_password(self, user_id: int, password_hash: str) -> None:
        self.s.staff[user_id] = replace(self.s.staff[user_id], password_hash=password_hash)

    def list_(self) -> list[StaffAccount]:
        return sorted(self.s.staff.values(), key=lambda a: a.username)

    def add_session(self, *, token_hash: str, user_id: int, expires_at: datetime) -> None:
        self.s.sessions[token_hash] = (user_id, expires_at)

    def end_session(self, token_hash: str) -> bool:
        return self.s.sessions.pop(token_hash, None) is not None

    def end_sessions(self, user_id: int) -> int:
        ended = [h for h, (u, _) in self.s.sessions.items() if u == user_id]
        for h in ended:
            del self.s.sessions[h]
        return len(ended)

    def by_session(self, token_hash: str, now: datetime) -> StaffAccount | None:
        found = self.s.sessions.get(token_hash)
        if found is None or found[1] <= now or not self.s.staff[found[0]].active:
            return None
        return self.s.staff[found[0]]


class Audit(_Repo):
    def record(self, *, actor: str, action: str, entity: str, entity_id: str,
               before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
               now: datetime) -> None:
        self.add(AuditEntry(at=now, actor=actor, action=action, entity=entity,
                            entity_id=entity_id, before=None if before is None else dict(before),
                            after=None if after is None else dict(after)))

    def add(self, entry: AuditEntry) -> None:
        self.s.audit.append(replace(entry, id=len(self.s.audit) + 1))

    def times(self, *, action: str, entity: str, entity_id: str, since: datetime
              ) -> list[datetime]:
        return [e.at for e in self.s.audit if (e.action, e.entity, e.entity_id)
                == (action, entity, entity_id) and e.at >= since]

    def of(self, entity: str, entity_id: str) -> list[AuditEntry]:
        return [e for e in self.s.audit if (e.entity, e.entity_id) == (entity, entity_id)]


class FakeStore:
    """The committed state that every :class:`FakeUnitOfWork` of one test shares."""

    def __init__(self) -> None:
        self.state = State()

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class Outbox(_Repo):
    """The notices outbox: a notice is kept once per idempotency key."""

    def add(self, notice: NewNotice, *, now: datetime) -> bool:
        if notice.key in self.s.notices:
            return False
        self.s.notices[notice.key] = notice
        return True

    def add_many(self, batch: Sequence[NewNotice], *, now: datetime) -> int:
        return sum(self.add(n, now=now) for n in batch)


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        self._work = copy.deepcopy(self.store.state)
        w = self._work
        self._incidents, self._policies, self._accounts = Incidents(w), Policies(w), Accounts(w)
        self._claims, self._idempotency, self._evidence = Claims(w), Idempotency(w), Evidence(w)
        self._messages, self._decisions = Messages(w), Decisions(w)
        self._staff, self._audit, self._outbox = Staff(w), Audit(w), Outbox(w)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        del self._work

    def commit(self) -> None:
        self.store.state = copy.deepcopy(self._work)
        self.committed = True

    def rollback(self) -> None:
        self._work = copy.deepcopy(self.store.state)

    incidents = property(lambda self: self._incidents)
    policies = property(lambda self: self._policies)
    accounts = property(lambda self: self._accounts)
    claims = property(lambda self: self._claims)
    idempotency = property(lambda self: self._idempotency)
    evidence = property(lambda self: self._evidence)
    messages = property(lambda self: self._messages)
    decisions = property(lambda self: self._decisions)
    staff = property(lambda self: self._staff)
    audit = property(lambda self: self._audit)
    outbox = property(lambda self: self._outbox)
