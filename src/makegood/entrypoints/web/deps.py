"""The one place where the web pages call the claims services and the storage.

Pages never touch a repository or a service directly: they call these functions, so a change in
the services' signatures is absorbed here. Each function takes the API's
:class:`~makegood.entrypoints.api.deps.Context`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import Request

from makegood.adapters.db import schema as t
from makegood.adapters.db.repository import UnitOfWork as SqlUnitOfWork
from makegood.adapters.db.repository import stored_policy
from makegood.adapters.db.web_store import Contacts, Runs
from makegood.adapters.pdf_preview import NoPreview, Preview, first_page
from makegood.domain.awards import Award
from makegood.domain.claims import Action, DenyReason
from makegood.domain.errors import NotFound, PermissionDenied
from makegood.domain.policy import Policy
from makegood.domain.records import ClaimFilter, IncidentRecord
from makegood.domain.staff import Role
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web.security import STAFF_COOKIE, LoginRequired
from makegood.services import claims as claims_service
from makegood.services import claims_export, notice_events
from makegood.services import staff as staff_service
from makegood.services.claims import ClaimInput, Receipt
from makegood.services.staff import StaffUser


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def now(request: Request) -> datetime:
    return ctx_of(request).clock()


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# ---------------------------------------------------------------------------------------------
# Incidents and policies


def sql(ctx: Context) -> SqlUnitOfWork:
    """A unit of work on the SQL store itself, for the web's own tables and read-only counts."""
    return SqlUnitOfWork(ctx.engine)


def incidents(ctx: Context) -> list[dict[str, Any]]:
    with ctx.uow() as uow:
        return [asdict(i) for i in uow.incidents.list_()]


def incident(ctx: Context, incident_id: str) -> IncidentRecord:
    with ctx.uow() as uow:
        return uow.incidents.get_or_raise(incident_id)


def policies_for(ctx: Context, record: IncidentRecord) -> list[Policy]:
    """The stored policies that name a service of the incident (the claims policy first)."""
    with sql(ctx) as uow:
        rows = uow.conn.execute(sa.select(t.policies.c.id, t.policies.c.document)
                                .order_by(t.policies.c.id)).all()
    found = [stored_policy(document, pid) for pid, document in rows]
    services = set(record.incident.services)
    chosen = [p for p in found if p.services & services or p.id == record.policy_id]
    chosen.sort(key=lambda p: (p.id != record.policy_id, p.id))
    return chosen


def policy(ctx: Context, policy_id: str) -> Policy:
    with ctx.uow() as uow:
        found = uow.policies.get(policy_id)
    if found is None:
        raise NotFound(f"no policy {policy_id!r}")
    return found


def documents(ctx: Context, incident_id: str, policy_id: str) -> tuple[str, str]:
    """The stored TOML documents of an incident and a policy (a run's inputs, as files)."""
    with sql(ctx) as uow:
        incident_doc = uow.conn.execute(sa.select(t.incidents.c.document)
                                        .where(t.incidents.c.id == incident_id)).scalar()
        policy_doc = uow.conn.execute(sa.select(t.policies.c.document)
                                      .where(t.policies.c.id == policy_id)).scalar()
    if incident_doc is None or policy_doc is None:
        raise NotFound(f"no incident {incident_id!r} or policy {policy_id!r}")
    return str(incident_doc), str(policy_doc)


def all_policies(ctx: Context) -> list[Policy]:
    with sql(ctx) as uow:
        rows = uow.conn.execute(sa.select(t.policies.c.id, t.policies.c.document)
                                .order_by(t.policies.c.id)).all()
    return [stored_policy(document, pid) for pid, document in rows]


# ---------------------------------------------------------------------------------------------
# Check my compensation


def phone_last4(ctx: Context, account_id: str) -> str | None:
    with sql(ctx) as uow:
        return Contacts(uow.conn).phone_last4(account_id)


def put_contacts(ctx: Context, rows: list[tuple[str, str]]) -> int:
    with sql(ctx) as uow:
        count = Contacts(uow.conn).put_many(rows)
        uow.commit()
    return count


def ledger_rows(path: str | None, account_id: str) -> list[dict[str, Any]] | None:
    """The ledger rows of one account (a filtered scan); ``None`` without a ledger."""
    if not path or not Path(path).exists():
        return None
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    fmt = "csv" if Path(path).suffix.lower() == ".csv" else "parquet"
    table = ds.dataset(path, format=fmt).to_table(filter=pc.field("account_id") == account_id)
    return [dict(r) for r in table.to_pylist()]


def explanations(ctx: Context, record: IncidentRecord, account_id: str,
                 policies: dict[str, Policy]) -> dict[tuple[str, str, str], Award]:
    """The reference's award (its facts, worded in the reader's language by
    :meth:`Award.explain`) for each of the account's awards, by (policy, subscription, rule).
    The page shows it only where its amount equals the ledger's: a fund cap or sales the
    operator holds elsewhere may change what the ledger says."""
    from makegood.adapters.calendars import HolidayCalendars
    from makegood.domain.accounts import Account, Segment
    from makegood.domain.compensation import compensate

    with sql(ctx) as uow:
        subscriptions = uow.accounts.subscriptions(account_id)
        segment = uow.conn.execute(sa.select(t.accounts.c.segment)
                                   .where(t.accounts.c.id == account_id)).scalar()
    if subscriptions is None or segment is None:
        return {}
    account = Account(id=account_id, segment=Segment(segment),
                      subscriptions=tuple(subscriptions))
    out: dict[tuple[str, str, str], Award] = {}
    for policy in policies.values():
        result = compensate(account, record.incident, policy, calendars=HolidayCalendars())
        for award in result.awards:
            out[(policy.id, award.subscription_id, award.rule_id)] = award
    return out


def ledger_summary(path: str | None) -> dict[str, Any] | None:
    """The ledger's summary JSON; without one, the totals by service and kind from the ledger."""
    if not path or not Path(path).exists():
        return None
    summary = Path(path + ".summary.json")
    if summary.is_file():
        data: dict[str, Any] = json.loads(summary.read_text(encoding="utf-8"))
        return data
    import pyarrow.dataset as ds

    fmt = "csv" if Path(path).suffix.lower() == ".csv" else "parquet"
    table = ds.dataset(path, format=fmt).to_table(columns=["service", "kind", "amount", "unit"])
    totals: dict[tuple[str, str, str], Decimal] = {}
    for row in table.to_pylist():
        key = (str(row["service"]), str(row["kind"]), str(row["unit"]))
        totals[key] = totals.get(key, Decimal(0)) + Decimal(str(row["amount"]))
    return {"by_service": [{"service": s, "kind": k, "unit": u, "total": str(v)}
                           for (s, k, u), v in sorted(totals.items())]}


# ---------------------------------------------------------------------------------------------
# Claims, for claimants


def submit(ctx: Context, claim: ClaimInput, *, client_address: str, key: str) -> Receipt:
    receipt = claims_service.submit(uow=ctx.uow(), claim=claim, cipher=ctx.cipher,
                                    now=ctx.clock(), client=client_address, idempotency_key=key,
                                    source="web")
    if ctx.screener is not None and not receipt.replayed:
        ctx.screener.enqueue(receipt.claim_id)  # screened after the filing, as on the API
    return receipt


def add_evidence(ctx: Context, *, claim_id: str, token: str, filename: str, data: bytes
                 ) -> dict[str, Any]:
    return claims_service.add_evidence(uow=ctx.uow(), store=ctx.evidence, claim_id=claim_id,
                                       token=token, filename=filename, data=data,
                                       max_bytes=ctx.settings.evidence_max_bytes,
                                       now=ctx.clock())


def claim_by_token(ctx: Context, claim_id: str, token: str) -> dict[str, Any]:
    return claims_service.get_by_token(uow=ctx.uow(), claim_id=claim_id, token=token)


def receipt_delivery(ctx: Context, claim_id: str) -> dict[str, Any]:
    """Where the receipt of a claim goes (masked addresses) and how far it got."""
    with ctx.uow() as uow:
        return notice_events.receipt_delivery(uow, claim_id)


def answer(ctx: Context, claim_id: str, token: str, text: str) -> None:
    claims_service.answer(uow=ctx.uow(), claim_id=claim_id, token=token, text=text,
                          now=ctx.clock())


def appeal(ctx: Context, claim_id: str, token: str, reason: str) -> None:
    claims_service.appeal(uow=ctx.uow(), claim_id=claim_id, token=token, reason=reason,
                          now=ctx.clock())


def store_file(ctx: Context, data: bytes) -> str:
    return ctx.evidence.put(data)


def read_file(ctx: Context, sha256: str) -> bytes:
    return ctx.evidence.get(sha256)


# ---------------------------------------------------------------------------------------------
# Staff


def login(ctx: Context, username: str, password: str, *, client_address: str) -> str:
    return staff_service.login(uow=ctx.uow(), username=username, password=password,
                               now=ctx.clock(), hours=ctx.settings.session_hours,
                               client=client_address)


def logout(request: Request) -> None:
    """End the staff session of this browser, if there is one (the token stops working)."""
    token = request.cookies.get(STAFF_COOKIE)
    if not token:
        return
    ctx = ctx_of(request)
    try:
        user = staff_service.authenticate(uow=ctx.uow(), token=token, now=ctx.clock())
    except PermissionDenied:
        return
    staff_service.logout(uow=ctx.uow(), token=token, actor=user, now=ctx.clock())


def staff(request: Request) -> StaffUser:
    """The signed-in staff member, or :class:`LoginRequired`."""
    token = request.cookies.get(STAFF_COOKIE)
    if not token:
        raise LoginRequired
    ctx = ctx_of(request)
    try:
        user = staff_service.authenticate(uow=ctx.uow(), token=token, now=ctx.clock())
    except PermissionDenied:
        raise LoginRequired from None
    request.state.staff = user
    return user


def queue(ctx: Context, me: StaffUser, filters: ClaimFilter, *, limit: int, offset: int
          ) -> tuple[list[dict[str, Any]], int]:
    claims, total = staff_service.queue(uow=ctx.uow(), actor=me, filters=filters, limit=limit,
                                        offset=offset)
    return [asdict(c) for c in claims], total


def user_id(ctx: Context, username: str) -> int:
    return staff_service.get_user(uow=ctx.uow(), username=username).id


def staff_view(ctx: Context, me: StaffUser, claim_id: str) -> dict[str, Any]:
    """The claim and everything recorded about it, as plain values for the page."""
    found = staff_service.staff_view(uow=ctx.uow(), actor=me, claim_id=claim_id)
    return {"claim": asdict(found.claim), "decisions": [asdict(d) for d in found.decisions],
            "evidence": [asdict(e) for e in found.evidence],
            "messages": [asdict(m) for m in found.messages],
            "audit": [asdict(a) for a in found.audit]}


def assign(ctx: Context, me: StaffUser, claim_id: str, username: str | None) -> None:
    staff_service.assign(uow=ctx.uow(), actor=me, claim_id=claim_id, username=username,
                         now=ctx.clock())


def reverify(ctx: Context, me: StaffUser, claim_id: str) -> None:
    staff_service.reverify(uow=ctx.uow(), actor=me, claim_id=claim_id, now=ctx.clock())


def decide(ctx: Context, me: StaffUser, claim_id: str, *, action: Action,
           amount: Decimal | None, reason: DenyReason | None, note: str,
           cure_days: int | None) -> None:
    staff_service.decide(uow=ctx.uow(), actor=me, claim_id=claim_id, action=action,
                         amount=amount, reason_code=reason, note=note, cure_days=cure_days,
                         second_approval_above=ctx.settings.second_approval_above,
                         now=ctx.clock())


def users(ctx: Context, me: StaffUser) -> list[dict[str, Any]]:
    return [{"id": u.id, "username": u.username, "role": u.role.value}
            for u in staff_service.list_users(uow=ctx.uow(), actor=me)]


def add_user(ctx: Context, me: StaffUser, *, username: str, password: str, role: Role) -> None:
    staff_service.add_user(uow=ctx.uow(), username=username, password=password, role=role,
                           actor=me, now=ctx.clock())


def revoke_sessions(ctx: Context, me: StaffUser, username: str) -> int:
    return staff_service.revoke_sessions(uow=ctx.uow(), actor=me, username=username,
                                         now=ctx.clock())


def evidence_row(ctx: Context, me: StaffUser, claim_id: str, evidence_id: int) -> dict[str, Any]:
    """One evidence file's record (for staff who may read the claim)."""
    view = staff_view(ctx, me, claim_id)
    found = [e for e in view["evidence"] if e["id"] == evidence_id]
    if not found:
        raise NotFound(f"no evidence {evidence_id} on claim {claim_id!r}")
    row: dict[str, Any] = found[0]
    return row


def evidence_file(ctx: Context, me: StaffUser, claim_id: str, evidence_id: int
                  ) -> tuple[bytes, str, str]:
    row = evidence_row(ctx, me, claim_id, evidence_id)
    return ctx.evidence.get(row["sha256"]), row["content_type"], row["filename"]


def pdf_preview(ctx: Context, evidence: dict[str, Any]) -> Preview:
    """The first page of a PDF evidence file (a row from :func:`staff_view`, which checked the
    reader's permission) as a PNG; :class:`NoPreview` says why there is none."""
    if evidence["content_type"] != "application/pdf" or evidence.get("flags"):
        raise NoPreview("not_previewed")
    return first_page(ctx.evidence.get(evidence["sha256"]), sha256=evidence["sha256"])


def export_rows(ctx: Context, me: StaffUser, kind: str, incident_id: str | None
                ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    if kind == "roster":
        return (claims_export.roster(uow=ctx.uow(), actor=me, incident_id=incident_id),
                claims_export.ROSTER_COLUMNS)
    return (claims_export.decisions(uow=ctx.uow(), actor=me, incident_id=incident_id),
            claims_export.DECISION_COLUMNS)


CLAIM_FACTS = (t.claims.c.created_at, t.claims.c.category, t.claims.c.service,
               t.claims.c.claimant_kind, t.claims.c.status, t.claims.c.verification_result,
               t.claims.c.approved_amount, t.claims.c.currency)


def claim_facts(ctx: Context, me: StaffUser, incident_id: str | None) -> list[dict[str, Any]]:
    """The few columns the dashboard counts, for every claim of the incident."""
    from makegood.domain.staff import Permission

    me.require(Permission.READ)
    query = sa.select(*CLAIM_FACTS)
    if incident_id:
        query = query.where(t.claims.c.incident_id == incident_id)
    with sql(ctx) as uow:
        return [dict(r) for r in uow.conn.execute(query).mappings()]


# ---------------------------------------------------------------------------------------------
# Compensation runs


def runs(ctx: Context) -> list[dict[str, Any]]:
    with sql(ctx) as uow:
        return Runs(uow.conn).list_()


def run(ctx: Context, run_id: str) -> dict[str, Any]:
    with sql(ctx) as uow:
        found = Runs(uow.conn).get(run_id)
    if found is None:
        raise NotFound(f"no run {run_id!r}")
    return found


def add_run(ctx: Context, *, run_id: str, params: dict[str, Any], started_by: str) -> None:
    with sql(ctx) as uow:
        Runs(uow.conn).add(run_id=run_id, params=params, started_by=started_by, now=ctx.clock())
        uow.commit()


def finish_run(ctx: Context, run_id: str, *, status: str, summary: dict[str, Any] | None,
               ledger_path: str | None, error: str | None) -> None:
    with sql(ctx) as uow:
        Runs(uow.conn).finish(run_id, status=status, summary=summary, ledger_path=ledger_path,
                              error=error, now=ctx.clock())
        uow.commit()

