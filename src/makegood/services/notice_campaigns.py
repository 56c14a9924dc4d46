"""Enqueuing notices: campaigns over a ledger or the claims, and the notices of single events.

- :func:`award_campaign`: every account with awards in a compensation run's ledger gets one
  ``award_granted`` notice listing its awards (the ledger's explanation columns), sent to the
  contact points of the contacts table. DuckDB groups the ledger by account and joins the
  contacts; the outbox takes the notices in large batches (COPY on PostgreSQL). The key
  (account, incident, kind, run) makes a re-run or a resumed campaign add nothing twice.
- :func:`reminder_campaign`: every claim waiting for the claimant's information whose cure
  deadline falls within a horizon gets one ``deadline_reminder`` per deadline.
- :func:`draft_reminder_campaign`: everyone who saved a claim form on the portal with an email
  or phone and has not submitted it (the draft is neither submitted, deleted nor expired) gets
  one ``draft_reminder`` with the resume link (sealed) and the intake deadline if the incident
  has one. One per draft, ever: a re-run adds nothing; submitting withdraws one not sent yet.
- :func:`claim_notice` and :func:`payout_notice`: the notice of one claim event or one payout,
  written by the caller inside the transaction of the state change (the transactional outbox).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from makegood.adapters.db.notice_bulk import insert_batch
from makegood.adapters.db.repository import UnitOfWork
from makegood.adapters.db.web_store import Drafts
from makegood.domain.errors import Conflict, DataError, InputError, NotFound
from makegood.domain.incident import Incident
from makegood.domain.notices import Contact, NoticeKind
from makegood.services.notice_events import claim_notice, draft_account, draft_reminder_notice
from makegood.services.ports import Cipher

CONTACT_COLUMNS = ("account_id", "email", "phone", "push_id", "webhook_url", "language")
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CampaignResult:
    campaign_id: str
    accounts: int
    enqueued: int
    without_contact: int
    seconds: float


def campaign_id_for(kind: str, incident_id: str, event: str) -> str:
    digest = hashlib.blake2b(f"{kind}|{incident_id}|{event}".encode(), digest_size=8).hexdigest()
    return f"{kind[:6]}-{digest}"


SYSTEM_ACTOR = "system"  # who starts a campaign when no person is named
HEARTBEAT_STALE = timedelta(seconds=60)  # a running campaign silent this long was interrupted


def award_campaign_id(incident_id: str, run_id: str) -> str:
    """One award campaign per incident and run: starting it again resumes it."""
    return campaign_id_for("awards", incident_id, run_id)


def reminder_campaign_id(incident_id: str, now: datetime) -> str:
    """One reminder campaign per incident and UTC day."""
    return campaign_id_for("remind", incident_id, now.date().isoformat())


def draft_campaign_id(incident_id: str, now: datetime) -> str:
    """One draft reminder campaign per incident and UTC day."""
    return campaign_id_for("drafts", incident_id, now.date().isoformat())


def ledger_run_id(ledger: Path) -> str:
    """The run id in the summary JSON kept beside a ledger (``LEDGER.summary.json``)."""
    summary = ledger.with_name(ledger.name + ".summary.json")
    try:
        return str(json.loads(summary.read_text(encoding="utf-8"))["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError("no run id: give --run-id, or keep the ledger's summary JSON "
                         "(with its run_id) beside it", file=str(summary)) from None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _contacts_view(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    if not path.exists():
        raise DataError("the contacts file does not exist", file=str(path))
    target = _literal(str(path / "*.parquet") if path.is_dir() else str(path))
    reader = (f"read_csv({target}, all_varchar=true, header=true)"
              if path.suffix.lower() == ".csv" else f"read_parquet({target})")
    try:
        con.execute(f"CREATE VIEW raw_contacts AS SELECT * FROM {reader}")
        columns = [r[0] for r in con.execute("DESCRIBE raw_contacts").fetchall()]
    except duckdb.Error as exc:
        raise DataError(f"not a readable contacts table: {exc}", file=str(path)) from None
    if "account_id" not in columns:
        raise DataError("the contacts table has no account_id column", file=str(path),
                        field="account_id")
    picks = [f"NULLIF(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in columns
             else f"CAST(NULL AS VARCHAR) AS {c}" for c in CONTACT_COLUMNS]
    con.execute(f"CREATE VIEW contacts AS SELECT {', '.join(picks)} FROM raw_contacts")
    bad = con.execute(
        "SELECT n, account_id, language FROM (SELECT row_number() OVER () AS n, * FROM contacts) "
        "WHERE account_id IS NULL OR coalesce(language, 'ko') NOT IN ('ko', 'en') LIMIT 1"
    ).fetchall()
    if bad:
        row, account, language = bad[0]
        field = "account_id" if account is None else "language"
        raise DataError("is empty" if account is None else f"{language!r} is not ko or en",
                        file=str(path), row=int(row), field=field)
    duplicate = con.execute("SELECT account_id FROM contacts GROUP BY account_id "
                            "HAVING count(*) > 1 LIMIT 1").fetchall()
    if duplicate:
        raise DataError(f"account {duplicate[0][0]!r} appears more than once", file=str(path),
                        field="account_id")


def award_campaign(*, engine: Engine, incident: Incident, ledger: Path, run_id: str,
                   contacts: Path, now: datetime, batch_rows: int = 500_000,
                   progress: Progress | None = None, threads: int = 2,
                   actor: str = SYSTEM_ACTOR) -> CampaignResult:
    """Enqueue one ``award_granted`` notice per account of the ledger that has a contact."""
    started = time.perf_counter()
    if not ledger.is_file():
        raise DataError("the ledger file does not exist", file=str(ledger))
    campaign_id = award_campaign_id(incident.id, run_id)
    try:
        fresh = _start(engine, incident, campaign_id, run_id, ledger, now, actor)
    except sa.exc.IntegrityError:
        raise Conflict(f"campaign {campaign_id} is being started by another process; run it "
                       "again when that one ends (it resumes)") from None
    try:
        con = duckdb.connect(config={"threads": threads})
        try:
            _contacts_view(con, contacts)
            accounts, enqueued, without = _enqueue(con, engine, incident, ledger, run_id,
                                                   campaign_id, now, fresh, batch_rows,
                                                   _Heartbeat(engine, campaign_id, progress))
        except duckdb.Error as exc:
            raise DataError(f"cannot read the ledger or contacts: {exc}",
                            file=str(ledger)) from None
        except sa.exc.IntegrityError:
            raise Conflict(f"campaign {campaign_id} is being enqueued by another process; run "
                           "it again when that one ends (it resumes)") from None
        finally:
            con.close()
    except BaseException:  # stopped: no longer shown as being enqueued; starting it resumes
        with contextlib.suppress(Exception), UnitOfWork(engine) as uow:  # the first error wins
            uow.outbox.heartbeat(campaign_id, read=0, new=0, alive=False)
            uow.commit()
        raise
    with UnitOfWork(engine) as uow:
        uow.outbox.finish_campaign(campaign_id, accounts=accounts, enqueued=enqueued,
                                   without_contact=without, now=now)
        uow.commit()
    return CampaignResult(campaign_id, accounts, enqueued, without, time.perf_counter() - started)


class _Heartbeat:
    """The enqueue's progress, passed on to ``progress`` and written to the campaign's row at
    most once a second, so every process sees it and none starts the campaign again."""

    def __init__(self, engine: Engine, campaign_id: str, progress: Progress | None) -> None:
        self.engine, self.campaign_id, self.progress = engine, campaign_id, progress
        self.last = time.monotonic()

    def __call__(self, read: int, new: int) -> None:
        if self.progress is not None:
            self.progress(read, new)
        if time.monotonic() - self.last >= 1.0:
            self.last = time.monotonic()
            with UnitOfWork(self.engine) as uow:
                uow.outbox.heartbeat(self.campaign_id, read=read, new=new)
                uow.commit()


def live_progress(campaign: dict[str, Any], *, at: datetime | None = None
                  ) -> tuple[int, int] | None:
    """(accounts read, notices enqueued) of a campaign some process is enqueuing now (its
    heartbeat younger than :data:`HEARTBEAT_STALE`); ``None`` when none is: finished, or
    interrupted (a crash, a stopped server) and waiting to be started again."""
    beat = campaign.get("heartbeat_at")
    if campaign.get("status") != "running" or beat is None:
        return None
    if (at or datetime.now(UTC)) - beat > HEARTBEAT_STALE:
        return None
    return int(campaign.get("read_so_far") or 0), int(campaign.get("new_so_far") or 0)


def _begin(uow: UnitOfWork, *, campaign_id: str, kind: str, incident_id: str,
           run_id: str | None, source: str, actor: str, now: datetime) -> bool:
    """Record the campaign (or its resumption) and who started it, in the audit trail; a
    campaign another process is enqueuing right now is a conflict."""
    try:
        current = uow.outbox.campaign(campaign_id)
    except NotFound:
        current = None
    if current is not None and live_progress(current) is not None:
        raise Conflict(f"campaign {campaign_id} is being enqueued by another process; it "
                       "shows its progress on the console")
    fresh = uow.outbox.start_campaign(campaign_id=campaign_id, kind=kind, incident_id=incident_id,
                                      run_id=run_id, source=source, now=now)
    uow.audit.record(actor=actor, action="notices.campaign_started" if fresh
                     else "notices.campaign_resumed", entity="notice_campaign",
                     entity_id=campaign_id, before=None,
                     after={"kind": kind, "incident_id": incident_id, "run_id": run_id,
                            "source": source}, now=now)
    return fresh


def _start(engine: Engine, incident: Incident, campaign_id: str, run_id: str, ledger: Path,
           now: datetime, actor: str) -> bool:
    with UnitOfWork(engine) as uow:
        if uow.incidents.get(incident.id) is None:
            raise InputError(f"incident {incident.id!r} is not in the database; load it first "
                             "(makegood db load or makegood notify campaign --incident)",
                             field="incident")
        fresh = _begin(uow, campaign_id=campaign_id, kind="awards", incident_id=incident.id,
                       run_id=run_id, source=str(ledger), actor=actor, now=now)
        uow.commit()
    return fresh


def _enqueue(con: duckdb.DuckDBPyConnection, engine: Engine, incident: Incident, ledger: Path,
             run_id: str, campaign_id: str, now: datetime, fresh: bool, batch_rows: int,
             progress: Progress | None) -> tuple[int, int, int]:
    # The incident's facts (title, window) are added when a notice is rendered; the payload
    # keeps what is the account's own: its awards, as the ledger explains them.
    key_prefix = f"{NoticeKind.AWARD_GRANTED.value}|{incident.id}|"
    source = _literal(str(ledger))
    if ledger.suffix.lower() == ".csv":
        con.execute(f"CREATE VIEW ledger AS SELECT *, row_number() OVER () AS file_row_number"
                    f" FROM read_csv({source}, header=true)")
    else:
        con.execute("CREATE VIEW ledger AS SELECT * FROM "
                    f"read_parquet({source}, file_row_number=true)")
    # A ledger is sorted by account, subscription, policy and rule (adapters/ledger.py), so
    # an account's awards in file order are in ledger order: ordering the list by the row
    # number is that order, and cheaper than by three text keys. Each award is written as
    # JSON by concatenation (to_json over a list of structs costs four times as much);
    # every text value goes through to_json, so any text is escaped.
    award = ("""'{"service":' || to_json(service) || ',"kind":' || to_json(kind)"""
             """ || ',"amount":"' || CAST(amount AS VARCHAR) || '","unit":' || to_json(unit)"""
             """ || ',"currency":' || coalesce(to_json(currency), 'null')"""
             """ || ',"code":' || to_json(code)"""
             """ || ',"counted_seconds":' || counted_seconds || '}'""")
    query = f"""
        WITH awards AS (
            SELECT account_id, array_to_string(list({award} ORDER BY file_row_number), ',')
                AS awards
            FROM ledger GROUP BY account_id)
        SELECT ? || a.account_id || '|' || ? AS key, ? AS campaign_id,
               ? AS incident_id, a.account_id, '{NoticeKind.AWARD_GRANTED.value}' AS kind,
               coalesce(c.language, 'ko') AS language,
               '{{"run_id": ' || to_json(?::VARCHAR) || ', "awards": [' || a.awards || ']}}'
                   AS payload,
               c.email, c.phone, c.push_id, c.webhook_url,
               coalesce(c.email, c.phone, c.push_id, c.webhook_url) IS NOT NULL AS reachable
        FROM awards a LEFT JOIN contacts c USING (account_id)
        ORDER BY a.account_id"""  # keys in order: the unique index grows at its end
    params = [key_prefix, run_id, campaign_id, incident.id, run_id]
    reader_: pa.RecordBatchReader = con.sql(query, params=params).to_arrow_reader(batch_rows)
    accounts = enqueued = without = 0
    for batch in reader_:
        accounts += batch.num_rows
        sendable = batch.filter(batch.column("reachable"))
        without += batch.num_rows - sendable.num_rows
        # A first run's keys are new (they carry the run id): copied straight in. A re-run
        # or a resumed run skips the keys it finds.
        enqueued += insert_batch(engine, sendable, now=now, fresh=fresh)
        if progress is not None:
            progress(accounts, enqueued)
    return accounts, enqueued, without


def reminder_campaign(*, engine: Engine, incident_id: str, now: datetime,
                      horizon: timedelta = timedelta(days=7),
                      actor: str = SYSTEM_ACTOR) -> CampaignResult:
    """Remind every claimant asked for information whose cure deadline is within ``horizon``."""
    started = time.perf_counter()
    campaign_id = reminder_campaign_id(incident_id, now)
    with UnitOfWork(engine) as uow:
        record = uow.incidents.get_or_raise(incident_id)
        _begin(uow, campaign_id=campaign_id, kind="reminders", incident_id=incident_id,
               run_id=None, source=f"cure deadlines before {now + horizon:%Y-%m-%d %H:%M} UTC",
               actor=actor, now=now)
        waiting = [c for c in uow.claims.all_(incident_id)
                   if c.status.value == "info_requested" and c.cure_deadline is not None
                   and now <= c.cure_deadline < now + horizon]
        batch = []
        for claim in waiting:
            assert claim.cure_deadline is not None
            notice = claim_notice(NoticeKind.DEADLINE_REMINDER, claim,
                                  event=f"reminder:{claim.cure_deadline.isoformat()}",
                                  incident=record.incident,
                                  extra={"deadline": claim.cure_deadline})
            batch.append(dataclasses.replace(notice, campaign_id=campaign_id))
        enqueued = uow.outbox.add_many(batch, now=now)
        uow.outbox.finish_campaign(campaign_id, accounts=len(waiting), enqueued=enqueued,
                                   without_contact=0, now=now)
        uow.commit()
    return CampaignResult(campaign_id, len(waiting), enqueued, 0, time.perf_counter() - started)



def draft_reminder_campaign(*, engine: Engine, cipher: Cipher, incident_id: str,
                            now: datetime, actor: str = SYSTEM_ACTOR) -> CampaignResult:
    """Remind everyone who started a claim on the portal and has not submitted it: one
    ``draft_reminder`` per saved draft of the incident that is not expired and has a contact,
    with its resume link sealed and the intake deadline when the incident has one."""
    started = time.perf_counter()
    campaign_id = draft_campaign_id(incident_id, now)
    with UnitOfWork(engine) as uow:
        record = uow.incidents.get_or_raise(incident_id)
        closes = record.intake_closes
        if closes is not None and closes <= now:
            raise InputError(f"incident {incident_id!r} stopped taking claims at "
                             f"{closes.isoformat()}; a reminder to finish a claim would come "
                             "too late", field="incident")
        _begin(uow, campaign_id=campaign_id, kind="drafts", incident_id=incident_id,
               run_id=None, source="saved claim forms not submitted", actor=actor, now=now)
        drafts = Drafts(uow.conn).reachable(incident_id, now)
        batch = []
        for draft in drafts:
            kept = json.loads(cipher.decrypt(draft["contact"]))
            contact = Contact(account_id=draft_account(draft["token_hash"]),
                              email=kept.get("email"), phone=kept.get("phone"),
                              language=kept.get("language") or "ko")
            batch.append(draft_reminder_notice(
                token_hash=draft["token_hash"], sealed_token=draft["sealed"],
                incident_id=incident_id, contact=contact, expires_at=draft["expires_at"],
                deadline=closes, cipher=cipher, incident=record.incident,
                campaign_id=campaign_id))
        enqueued = uow.outbox.add_many(batch, now=now)
        uow.outbox.finish_campaign(campaign_id, accounts=len(drafts), enqueued=enqueued,
                                   without_contact=0, now=now)
        uow.commit()
    return CampaignResult(campaign_id, len(drafts), enqueued, 0, time.perf_counter() - started)
