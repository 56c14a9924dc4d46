"""Staff use cases: users and sign-in, incidents and policies, the queue, assignment, decisions.

Every use case receives the acting staff member (:class:`StaffUser`) and checks the permission
its role needs before it reads or changes anything; the audit log records who did what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from makegood.adapters.db.crypto import new_token, token_hash
from makegood.domain.accounts import Account
from makegood.domain.claims import (
    Action,
    DenyReason,
    Stage,
    check_second_approval,
    decision_stage,
    status_after,
)
from makegood.domain.errors import (
    Conflict,
    InputError,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from makegood.domain.incident import nfc
from makegood.domain.incident_file import load_incident
from makegood.domain.policy import load_policy
from makegood.domain.records import (
    AuditEntry,
    Claim,
    ClaimFilter,
    Decision,
    EvidenceFile,
    Message,
    StaffAccount,
)
from makegood.domain.staff import SIGN_IN_WINDOW_SECONDS, Permission, Role, allowed, sign_in_wait
from makegood.services.notice_events import decision_notice
from makegood.services.ports import LedgerReader, UnitOfWork
from makegood.services.verification import read_ledger, verify_claim

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 50 ms a sign-in here.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
MIN_PASSWORD = 10
# Verified when the user name is unknown, so that the answer takes as long as for a known name.
_DUMMY_HASH = _hasher.hash("makegood: no such user")


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    username: str
    role: Role

    @property
    def actor(self) -> str:
        return f"staff:{self.username}"

    def require(self, permission: Permission) -> None:
        if not allowed(self.role, permission):
            raise PermissionDenied(f"the role {self.role.value!r} may not {permission.value}")


SYSTEM = StaffUser(0, "system", Role.ADMIN)


def _user(account: StaffAccount) -> StaffUser:
    return StaffUser(account.id, account.username, account.role)


# ---------------------------------------------------------------------------------------------
# Users


def add_user(*, uow: UnitOfWork, username: str, password: str, role: Role, actor: StaffUser,
             now: datetime) -> StaffUser:
    actor.require(Permission.ADMIN)
    name = nfc(username)
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise InputError("must be 1 to 100 characters without spaces", field="username")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"must have at least {MIN_PASSWORD} characters", field="password")
    with uow:
        if uow.staff.get_by_name(name) is not None:
            raise Conflict(f"a staff user {name!r} already exists")
        user_id = uow.staff.add(username=name, password_hash=_hasher.hash(password),
                                role=role.value, now=now)
        uow.audit.record(actor=actor.actor, action="user.add", entity="staff_user",
                         entity_id=name, before=None, after={"role": role.value}, now=now)
        uow.commit()
    return StaffUser(user_id, name, role)


def login(*, uow: UnitOfWork, username: str, password: str, now: datetime, hours: int,
          client: str | None = None) -> str:
    """A bearer token for a staff user, valid for ``hours``; wrong credentials are refused.

    A known name with a wrong password and an unknown name take the same time (the password is
    hashed either way) and get the same answer. Every failure is audited; after
    :data:`~makegood.domain.claims.FREE_SIGN_IN_FAILURES` within the window, further attempts on
    that name wait, with a doubling back-off (:func:`~makegood.domain.staff.sign_in_wait`).
    """
    name = nfc(username)[:100]
    if any(ord(c) < 32 for c in name):  # the same answer on every database (PostgreSQL refuses NUL)
        raise InputError("contains control characters", field="username")
    with uow:
        failures = uow.audit.times(action="user.login_failed", entity="staff_user",
                                   entity_id=name,
                                   since=now - timedelta(seconds=SIGN_IN_WINDOW_SECONDS))
    wait = sign_in_wait(failures, now)
    if wait:
        raise TooManyAttempts(f"too many failed sign-ins for this name; retry in {wait} s",
                              retry_after=wait)
    with uow:
        account = uow.staff.get_by_name(name)
        try:
            if account is None or not account.active:
                _hasher.verify(_DUMMY_HASH, password)  # the same work as for a real user
                raise VerificationError
            _hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
        else:
            ok = True
        if not ok:
            uow.audit.record(actor=f"client:{client or 'unknown'}", action="user.login_failed",
                             entity="staff_user", entity_id=name, before=None, after=None,
                             now=now)
            uow.commit()
            raise PermissionDenied("wrong user name or password")
        assert account is not None
        if _hasher.check_needs_rehash(account.password_hash):
            uow.staff.set_password(account.id, _hasher.hash(password))
        token = new_token()
        uow.staff.add_session(token_hash=token_hash(token), user_id=account.id,
                              expires_at=now + timedelta(hours=hours))
        uow.audit.record(actor=f"staff:{account.username}", action="user.login",
                         entity="staff_user", entity_id=account.username, before=None,
                         after=None, now=now)
        uow.commit()
    return token


def logout(*, uow: UnitOfWork, token: str, actor: StaffUser, now: datetime) -> None:
    """End the session of ``token`` (the token stops working at once)."""
    with uow:
        uow.staff.end_session(token_hash(token))
        uow.audit.record(actor=actor.actor, action="user.logout", entity="staff_user",
                         entity_id=actor.username, before=None, after=None, now=now)
        uow.commit()


def revoke_sessions(*, uow: UnitOfWork, actor: StaffUser, username: str, now: datetime) -> int:
    """An admin ends every session of a user (a lost laptop, a leaver); how many ended."""
    actor.require(Permission.ADMIN)
    with uow:
        account = uow.staff.get_by_name(nfc(username))
        if account is None:
            raise NotFound(f"no staff user {username!r}")
        ended = uow.staff.end_sessions(account.id)
        uow.audit.record(actor=actor.actor, action="user.sessions_revoked", entity="staff_user",
                         entity_id=account.username, before=None, after={"sessions": ended},
                         now=now)
        uow.commit()
    return ended


def change_password(*, uow: UnitOfWork, actor: StaffUser, current: str, new: str,
                    now: datetime) -> None:
    """A user changes their own password; every session of theirs ends (sign in again)."""
    if len(new) < MIN_PASSWORD:
        raise InputError(f"must have at least {MIN_PASSWORD} characters", field="new_password")
    with uow:
        account = uow.staff.get(actor.id)
        if account is None:
            raise NotFound(f"no staff user {actor.username!r}")
        try:
            _hasher.verify(account.password_hash, current)
        except (VerificationError, InvalidHashError):
            raise PermissionDenied("the current password is wrong") from None
        uow.staff.set_password(actor.id, _hasher.hash(new))
        ended = uow.staff.end_sessions(actor.id)
        uow.audit.record(actor=actor.actor, action="user.password_changed", entity="staff_user",
                         entity_id=actor.username, before=None, after={"sessions_ended": ended},
                         now=now)
        uow.commit()


def authenticate(*, uow: UnitOfWork, token: str | None, now: datetime) -> StaffUser:
    if not token:
        raise PermissionDenied("sign in first: send Authorization: Bearer <token>")
    with uow:
        account = uow.staff.by_session(token_hash(token), now)
    if account is None:
        raise PermissionDenied("the sign-in token is unknown or expired; sign in again")
    return _user(account)


def list_users(*, uow: UnitOfWork, actor: StaffUser) -> list[StaffUser]:
    actor.require(Permission.ADMIN)
    with uow:
        return [_user(a) for a in uow.staff.list_()]


# ---------------------------------------------------------------------------------------------
# Incidents, policies, accounts


def put_incident(*, uow: UnitOfWork, document: str, policy_id: str | None,
                 ledger_path: str | None, intake_opens: datetime | None,
                 intake_closes: datetime | None, actor: StaffUser, now: datetime) -> str:
    """Store an incident (its TOML document) with the policy for its claims and its intake."""
    actor.require(Permission.ADMIN)
    incident = load_incident(document, file="incident")
    if intake_opens and intake_closes and intake_closes <= intake_opens:
        raise InputError("the intake closes at or before it opens", field="intake_closes")
    with uow:
        if policy_id is not None and uow.policies.get(policy_id) is None:
            raise InputError(f"there is no policy {policy_id!r}; store it first",
                             field="policy_id")
        before = uow.incidents.get(incident.id)
        uow.incidents.put(incident=incident, document=document, policy_id=policy_id,
                          ledger_path=ledger_path, intake_opens=intake_opens,
                          intake_closes=intake_closes, now=now)
        uow.audit.record(
            actor=actor.actor, action="incident.put", entity="incident", entity_id=incident.id,
            before=None if before is None else {"policy_id": before.policy_id,
                                                "intake_closes": before.intake_closes},
            after={"policy_id": policy_id, "intake_opens": intake_opens,
                   "intake_closes": intake_closes, "ledger_path": ledger_path}, now=now)
        uow.commit()
    return incident.id


def set_intake(*, uow: UnitOfWork, incident_id: str, closes: datetime | None,
               opens: datetime | None = None, actor: StaffUser, now: datetime) -> None:
    """Extend (or set) an incident's intake window; 2022's deadline was extended once."""
    actor.require(Permission.ADMIN)
    with uow:
        record = uow.incidents.get_or_raise(incident_id)
        new_opens = opens if opens is not None else record.intake_opens
        if new_opens and closes and closes <= new_opens:
            raise InputError("the intake closes at or before it opens", field="closes")
        uow.incidents.set_intake(incident_id, opens=new_opens, closes=closes)
        uow.audit.record(actor=actor.actor, action="incident.intake", entity="incident",
                         entity_id=incident_id,
                         before={"opens": record.intake_opens, "closes": record.intake_closes},
                         after={"opens": new_opens, "closes": closes}, now=now)
        uow.commit()


def put_policy(*, uow: UnitOfWork, document: str, actor: StaffUser, now: datetime) -> str:
    actor.require(Permission.ADMIN)
    policy = load_policy(document, file="policy")
    with uow:
        uow.policies.put(policy=policy, document=document, now=now)
        uow.audit.record(actor=actor.actor, action="policy.put", entity="policy",
                         entity_id=policy.id, before=None, after={"version": policy.version},
                         now=now)
        uow.commit()
    return policy.id


def import_accounts(*, uow: UnitOfWork, accounts: list[Account], actor: StaffUser,
                    now: datetime) -> int:
    actor.require(Permission.ADMIN)
    with uow:
        count = uow.accounts.put_many(accounts)
        uow.audit.record(actor=actor.actor, action="accounts.import", entity="accounts",
                         entity_id="*", before=None, after={"accounts": count}, now=now)
        uow.commit()
    return count


# ---------------------------------------------------------------------------------------------
# Queue and decisions


def queue(*, uow: UnitOfWork, actor: StaffUser, filters: ClaimFilter, limit: int, offset: int
          ) -> tuple[list[Claim], int]:
    actor.require(Permission.READ)
    with uow:
        return uow.claims.list_(filters, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class ClaimFile:
    """A claim with everything recorded about it, as staff review it."""

    claim: Claim
    decisions: list[Decision]
    evidence: list[EvidenceFile]
    messages: list[Message]
    audit: list[AuditEntry]


def staff_view(*, uow: UnitOfWork, actor: StaffUser, claim_id: str) -> ClaimFile:
    actor.require(Permission.READ)
    with uow:
        return ClaimFile(claim=uow.claims.get_or_raise(claim_id),
                         decisions=uow.decisions.of_claim(claim_id),
                         evidence=uow.evidence.of_claim(claim_id),
                         messages=uow.messages.of_claim(claim_id),
                         audit=uow.audit.of("claim", claim_id))


def assign(*, uow: UnitOfWork, actor: StaffUser, claim_id: str, username: str | None,
           now: datetime) -> Claim:
    """Assign a claim: a reviewer takes it for themself; a supervisor assigns anyone or no one."""
    actor.require(Permission.REVIEW)
    if username != actor.username:
        actor.require(Permission.SUPERVISE)
    with uow:
        claim = uow.claims.lock(claim_id)
        assignee: int | None = None
        if username is not None:
            user = uow.staff.get_by_name(username)
            if user is None:
                raise InputError(f"there is no staff user {username!r}", field="username")
            if not allowed(user.role, Permission.REVIEW):
                raise InputError(f"{username!r} is an {user.role.value} and cannot review",
                                 field="username")
            assignee = user.id
        updated = claim.with_(assigned_to=assignee, updated_at=now)
        uow.claims.update(updated)
        uow.audit.record(actor=actor.actor, action="claim.assign", entity="claim",
                         entity_id=claim_id, before={"assigned_to": claim.assigned_to},
                         after={"assigned_to": assignee}, now=now)
        uow.commit()
    return updated


def reverify(*, uow: UnitOfWork, actor: StaffUser, claim_id: str, now: datetime,
             ledger: LedgerReader = read_ledger) -> Claim:
    """Run verification again (new accounts data, a new ledger) and record the result."""
    actor.require(Permission.REVIEW)
    with uow:
        claim = uow.claims.lock(claim_id)
        record = uow.incidents.get_or_raise(claim.incident_id)
        result = verify_claim(uow=uow, record=record, account_id=claim.account_id,
                              service=claim.service, feature=claim.feature, start=claim.start,
                              end=claim.end, kind=claim.claimant_kind, category=claim.category,
                              sales=claim.sales, ledger=ledger)
        updated = claim.with_(verification=result.checks, verification_result=result.result,
                              paid=result.paid, loss=result.loss,
                              suggested_award=result.suggested_award, updated_at=now)
        uow.claims.update(updated)
        uow.audit.record(actor=actor.actor, action="claim.verify", entity="claim",
                         entity_id=claim_id,
                         before={"verification": claim.verification_result,
                                 "codes": [c.code for c in claim.verification]},
                         after={"verification": result.result, "codes": list(result.codes)},
                         now=now)
        uow.commit()
    return updated


def decide(
    *,
    uow: UnitOfWork,
    actor: StaffUser,
    claim_id: str,
    action: Action,
    now: datetime,
    amount: Decimal | None = None,
    reason_code: DenyReason | None = None,
    note: str = "",
    cure_days: int | None = None,
    second_approval_above: Decimal | None = None,
) -> Claim:
    """Approve, deny or request information, with the stage rules and the second approver."""
    actor.require(Permission.REVIEW)
    text = nfc(note)
    with uow:
        claim = uow.claims.lock(claim_id)
        stage = decision_stage(claim.status, action)
        if stage in (Stage.APPEAL, Stage.SECOND_APPROVAL):
            actor.require(Permission.SUPERVISE)
        first_by: int | None = None
        if stage is Stage.SECOND_APPROVAL:
            first = [d for d in uow.decisions.of_claim(claim_id)
                     if d.stage in (Stage.REVIEW, Stage.APPEAL) and d.action is Action.APPROVE]
            first_by = first[-1].decided_by if first else None
            if first_by == actor.id:
                raise PermissionDenied("the second approval must come from another person")
        deadline: datetime | None = None
        decided_amount: Decimal | None = None
        if action is Action.APPROVE:
            if stage is Stage.SECOND_APPROVAL:
                decided_amount = check_second_approval(
                    first_amount=claim.approved_amount, amount=amount, first_by=first_by,
                    actor_id=actor.id)
            else:
                decided_amount = amount if amount is not None else claim.suggested_award
            if decided_amount is None:
                raise InputError("the policy gives no award for this claim; state an amount",
                                 field="amount")
            if decided_amount < 0:
                raise InputError("must not be negative", field="amount")
        elif action is Action.DENY:
            if reason_code is None:
                raise InputError("a denial needs a reason code", field="reason_code")
        elif action is Action.SEND_BACK:
            if not text:
                raise InputError("say why the claim goes back to review", field="note")
        else:
            if cure_days is None or not 1 <= cure_days <= 120:
                raise InputError("give a cure deadline of 1 to 120 days", field="cure_days")
            if not text:
                raise InputError("say what information is needed", field="note")
            deadline = now + timedelta(days=cure_days)
        status = status_after(action, stage=stage, amount=decided_amount,
                              second_approval_above=second_approval_above)
        uow.decisions.add(Decision(
            claim_id=claim_id, stage=stage, action=action, amount=decided_amount,
            currency=claim.currency if decided_amount is not None else None,
            reason_code=reason_code.value if reason_code else None, note=text,
            cure_deadline=deadline, decided_by=actor.id, decided_at=now))
        approved = claim.approved_amount
        if action is Action.APPROVE:
            approved = decided_amount
        elif action in (Action.DENY, Action.SEND_BACK):
            approved = None
        updated = claim.with_(status=status, cure_deadline=deadline, updated_at=now,
                              approved_amount=approved)
        uow.claims.update(updated)
        uow.audit.record(actor=actor.actor, action=f"claim.{action.value}", entity="claim",
                         entity_id=claim_id,
                         before={"status": claim.status.value,
                                 "approved_amount": claim.approved_amount},
                         after={"status": status.value, "stage": stage.value,
                                "amount": decided_amount,
                                "reason_code": reason_code.value if reason_code else None,
                                "cure_deadline": deadline}, now=now)
        notice = decision_notice(updated, stage=stage.value, action=action.value,
                                 reason_code=reason_code.value if reason_code else None,
                                 note=text, now=now)
        if notice is not None:
            uow.outbox.add(notice, now=now)
        uow.commit()
    return updated


def audit_trail(*, uow: UnitOfWork, actor: StaffUser, entity: str, entity_id: str
                ) -> list[AuditEntry]:
    actor.require(Permission.READ)
    with uow:
        return uow.audit.of(entity, entity_id)


def get_user(*, uow: UnitOfWork, username: str) -> StaffUser:
    with uow:
        account = uow.staff.get_by_name(username)
    if account is None:
        raise NotFound(f"no staff user {username!r}")
    return _user(account)
