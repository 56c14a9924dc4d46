"""`makegood payouts ...`: awards to payees, four eyes, bank files, reconciliation, accounting.

Every command acts as a signed-in staff member (``--as NAME``; the password from
MAKEGOOD_PASSWORD, else asked for), so the audit log names who prepared, reviewed, released,
wrote and reconciled. Settings: MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE (default 0: every batch needs
a second person), MAKEGOOD_PAYOUT_NAME_REGISTER (a CSV register for the account-holder name
check), MAKEGOOD_PAYOUT_ORIGINATOR_NAME / _IBAN / _BIC / _ROUTING / _COMPANY_ID / _BANK.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from makegood.entrypoints.cli.errors import handles_errors

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from makegood.adapters.payouts.details import NameCheck
    from makegood.adapters.payouts.lines import Originator
    from makegood.domain.payouts import Method
    from makegood.services.payouts import Cipher
    from makegood.services.staff import StaffUser

app = typer.Typer(no_args_is_help=True, help="Payouts: batches, bank files, reconciliation, "
                  "the final accounting.")
payees_app = typer.Typer(no_args_is_help=True, help="Payees' payment details (encrypted).")
app.add_typer(payees_app, name="payees")

AsUser = Annotated[str, typer.Option("--as", help="The acting staff member's user name.")]
IncidentOpt = Annotated[str, typer.Option("--incident", help="The incident id.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _engine() -> Engine:
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.engine import make_engine

    return make_engine(Settings.from_env().database_url)


def _sign_in(engine: Engine, username: str) -> StaffUser:
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.services import staff

    password = os.environ.get("MAKEGOOD_PASSWORD") or typer.prompt(
        f"Password for {username}", hide_input=True)
    token = staff.login(uow=UnitOfWork(engine), username=username, password=password,
                        now=_now(), hours=1)
    return staff.authenticate(uow=UnitOfWork(engine), token=token, now=_now())


def _cipher() -> Cipher:
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.crypto import Cipher, load_key

    settings = Settings.from_env()
    return Cipher(load_key(settings.secret_key, settings.secret_key_file))


def _name_check() -> NameCheck:
    from makegood.adapters.payouts.details import NoNameCheck, RegisterNameCheck

    register = os.environ.get("MAKEGOOD_PAYOUT_NAME_REGISTER")
    return RegisterNameCheck.from_csv(Path(register)) if register else NoNameCheck()


def _four_eyes() -> Decimal | None:
    from makegood.domain.money import to_decimal

    raw = os.environ.get("MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE", "0").strip()
    if raw.lower() in ("", "none", "always"):
        return None
    return to_decimal(raw, field="MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE")


def _originator() -> Originator:
    from makegood.adapters.payouts.lines import Originator

    base = Originator()
    env = os.environ.get
    return Originator(name=env("MAKEGOOD_PAYOUT_ORIGINATOR_NAME", base.name),
                      iban=env("MAKEGOOD_PAYOUT_ORIGINATOR_IBAN", base.iban),
                      bic=env("MAKEGOOD_PAYOUT_ORIGINATOR_BIC", base.bic),
                      routing_number=env("MAKEGOOD_PAYOUT_ORIGINATOR_ROUTING",
                                         base.routing_number),
                      company_id=env("MAKEGOOD_PAYOUT_ORIGINATOR_COMPANY_ID", base.company_id),
                      bank_name=env("MAKEGOOD_PAYOUT_ORIGINATOR_BANK", base.bank_name))


def _method(text: str) -> Method:
    from makegood.domain.errors import InputError
    from makegood.domain.payouts import Method

    try:
        return Method(text)
    except ValueError:
        raise InputError(f"{text!r} is not one of {', '.join(m.value for m in Method)}",
                         field="--method") from None


@app.command("awards")
@handles_errors
def awards(incident: IncidentOpt, as_user: AsUser,
           ledger: Annotated[Path | None, typer.Option(
               help="The compensation ledger (default: the incident's, from `db load`).")] = None,
           ) -> None:
    """Approved claims and the ledger's cash and credit awards into the payout ledger."""
    import sqlalchemy as sa

    from makegood.adapters.db import schema as t
    from makegood.services import payouts

    engine = _engine()
    try:
        actor = _sign_in(engine, as_user)
        if ledger is None:
            with engine.connect() as conn:
                stored = conn.execute(sa.select(t.incidents.c.ledger_path).where(
                    t.incidents.c.id == incident)).scalar()
            ledger = Path(stored) if stored else None
        rows = payouts.read_ledger_awards(ledger) if ledger else []
        counts = payouts.load_awards(engine=engine, incident_id=incident, ledger_rows=rows,
                                     actor=actor, now=_now())
    finally:
        engine.dispose()
    typer.echo(f"added {counts['claims']:,} approved claims and {counts['ledger']:,} ledger awards")


@app.command("fund")
@handles_errors
def fund(incident: IncidentOpt, as_user: AsUser,
         amount: Annotated[str, typer.Option(help="Amount (negative with --reserve releases).")],
         currency: Annotated[str, typer.Option(help="ISO 4217 code.")],
         reserve: Annotated[bool, typer.Option(help="Set aside rather than top up.")] = False,
         ) -> None:
    """Pay money into the fund, or set part of it aside as a reserve."""
    from makegood.domain.money import to_decimal
    from makegood.services import payouts

    engine = _engine()
    try:
        balance = payouts.fund(engine=engine, incident_id=incident,
                               amount=to_decimal(amount, field="--amount"),
                               currency=currency.upper(), reserve=reserve,
                               actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"fund balance (unreserved): {balance} {currency.upper()}")


@payees_app.command("import")
@handles_errors
def payees_import(path: Annotated[Path, typer.Argument(help="Payees CSV.")], as_user: AsUser
                  ) -> None:
    """Import payees' payment details (checked, name-checked, encrypted)."""
    from makegood.services import payouts

    engine = _engine()
    try:
        n = payouts.import_payees(engine=engine, cipher=_cipher(), name_check=_name_check(),
                                  path=path, actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"{n:,} payees stored")


@payees_app.command("set")
@handles_errors
def payees_set(payee: Annotated[str, typer.Argument(help="The payee's account id.")],
               as_user: AsUser, method: Annotated[str, typer.Option()],
               holder: Annotated[str, typer.Option(help="Account holder's name.")],
               bank_code: str = "", account_number: str = "", iban: str = "", bic: str = "",
               routing_number: str = "", account_type: str = "", address: str = "") -> None:
    """Record, or confirm new, payment details for one payee (this releases a held reissue)."""
    from makegood.services import payouts

    details = {"bank_code": bank_code, "account_number": account_number, "iban": iban,
               "bic": bic, "routing_number": routing_number, "account_type": account_type,
               "address": address}
    engine = _engine()
    try:
        record = payouts.set_payee(engine=engine, cipher=_cipher(), name_check=_name_check(),
                                   payee_id=payee, method=_method(method), holder=holder,
                                   details=details, actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"{record.id}: {record.masked} (name check: {record.name_check})")


@app.command("prepare")
@handles_errors
def prepare(incident: IncidentOpt, as_user: AsUser,
            method: Annotated[str, typer.Option(help="sepa, nacha, kr_bulk, billing_credit, check")],
            currency: Annotated[str, typer.Option(help="Currency (or unit of a credit).")],
            policy: Annotated[str | None, typer.Option(help="Only this policy's awards.")] = None,
            kind: Annotated[str | None, typer.Option(help="Only this award kind.")] = None,
            ) -> None:
    """Select what is payable into a new batch."""
    from makegood.services import payouts

    engine = _engine()
    try:
        result = payouts.prepare(engine=engine, incident_id=incident, method=_method(method),
                                 currency=currency, policy_id=policy, kind=kind,
                                 actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    for reason, n in sorted(result.skipped.items()):
        typer.echo(f"left out: {n:,} ({reason})")
    if result.batch is None:
        typer.echo("nothing payable: no batch prepared")
        raise typer.Exit(0)
    b = result.batch
    typer.echo(f"batch {b.id}: {b.count:,} payments, {b.total:,} {b.currency} by {b.method.value}")


@app.command("review")
@handles_errors
def review(batch: Annotated[str, typer.Argument()], as_user: AsUser,
           approve: Annotated[bool, typer.Option(help="Mark reviewed (else only show).")] = True,
           ) -> None:
    """Show a batch's totals, largest items, screening flags and name checks; mark it reviewed."""
    from makegood.services import payouts

    engine = _engine()
    try:
        r = payouts.review(engine=engine, batch_id=batch, approve=approve,
                           actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    b = r.batch
    typer.echo(f"batch {b.id} ({b.status.value}): {b.count:,} payments, {b.total:,} {b.currency} "
               f"by {b.method.value}; prepared by {b.prepared_by}")
    typer.echo("largest: " + ", ".join(f"{i.end_to_end_id} {i.amount:,}" for i in r.largest))
    typer.echo("name checks: " + ", ".join(f"{k} {v}" for k, v in sorted(r.name_checks.items())))
    typer.echo(f"screening flags: {len(r.flagged)}")
    for item, code in r.flagged:
        typer.echo(f"  flagged {item.end_to_end_id} {item.award_id}: {code}")


@app.command("release")
@handles_errors
def release(batch: Annotated[str, typer.Argument()], as_user: AsUser) -> None:
    """Release a reviewed batch (a second person above the four-eyes threshold)."""
    from makegood.services import payouts

    engine = _engine()
    try:
        b = payouts.release(engine=engine, batch_id=batch, four_eyes_above=_four_eyes(),
                            actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"batch {b.id} released by {b.released_by} (reviewed by {b.reviewed_by})")


@app.command("cancel")
@handles_errors
def cancel(batch: Annotated[str, typer.Argument()], as_user: AsUser) -> None:
    """Cancel an unreleased batch: its awards are payable again."""
    from makegood.services import payouts

    engine = _engine()
    try:
        b = payouts.cancel(engine=engine, batch_id=batch, actor=_sign_in(engine, as_user),
                           now=_now())
    finally:
        engine.dispose()
    typer.echo(f"batch {b.id} cancelled")


@app.command("write")
@handles_errors
def write(batch: Annotated[str, typer.Argument()], as_user: AsUser,
          out: Annotated[Path, typer.Option(help="Directory for the file.")] = Path("payouts"),
          memo: Annotated[str, typer.Option(help="What the payee's statement shows.")] = "장애보상",
          ) -> None:
    """Write a released batch's bank or billing file (an admin; payee details decrypted)."""
    from makegood.services import payout_files

    engine = _engine()
    try:
        f = payout_files.write(engine=engine, cipher=_cipher(), batch_id=batch, out_dir=out,
                               originator=_originator(), memo=memo,
                               actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"{f.path}: {f.count:,} payments, {f.size:,} bytes, sha256 {f.sha256}")


@app.command("reconcile")
@handles_errors
def reconcile(files: Annotated[list[Path], typer.Argument(help="pain.002, camt.054/053, CSV.")],
              as_user: AsUser) -> None:
    """Read the bank's reports and move each payment on; unmatched lines are listed."""
    from makegood.services import payout_files

    engine = _engine()
    try:
        actor = _sign_in(engine, as_user)
        for path in files:
            r = payout_files.reconcile(engine=engine, path=path, actor=actor, now=_now())
            counts = ", ".join(f"{k} {v:,}" for k, v in sorted(r.counts.items()))
            typer.echo(f"{path.name} ({r.kind}): {counts}")
            for line in r.unmatched:
                typer.echo(f"  unmatched line {line.line}: {line.end_to_end_id} {line.kind} "
                           f"{line.amount} {line.currency or ''} {line.reason or ''}".rstrip())
            for note in r.notes:
                typer.echo(f"  note: {note}")
    finally:
        engine.dispose()


@app.command("unclaimed")
@handles_errors
def unclaimed(incident: IncidentOpt, as_user: AsUser,
              deadline: Annotated[str, typer.Option(help="ISO 8601 with offset.")]) -> None:
    """After the deadline, failed payments whose payee never answered become unclaimed."""
    from makegood.domain.windows import parse_timestamp
    from makegood.services import payout_files

    engine = _engine()
    try:
        n = payout_files.declare_unclaimed(
            engine=engine, incident_id=incident,
            deadline=parse_timestamp(deadline, field="--deadline"),
            actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    typer.echo(f"{n:,} awards declared unclaimed")


@app.command("list")
@handles_errors
def list_batches(as_user: AsUser, incident: Annotated[str | None, typer.Option()] = None) -> None:
    """The batches and their state."""
    from makegood.adapters.db.payout_store import PayoutUnitOfWork
    from makegood.domain.claims import Permission

    engine = _engine()
    try:
        _sign_in(engine, as_user).require(Permission.READ)
        with PayoutUnitOfWork(engine) as uow:
            for b in uow.store.batches(incident):
                typer.echo(f"{b.id}\t{b.method.value}\t{b.currency}\t{b.status.value}\t"
                           f"{b.count}\t{b.total}\t{b.prepared_by}\t{b.reviewed_by or ''}\t"
                           f"{b.released_by or ''}")
    finally:
        engine.dispose()


@app.command("report")
@handles_errors
def report(incident: IncidentOpt, as_user: AsUser,
           out: Annotated[Path, typer.Option(help="Directory for JSON, HTML and PDF.")] = Path(
               "payouts")) -> None:
    """The final accounting: JSON, HTML and PDF, from the ledgers."""
    from makegood.adapters.payouts.report import write_report
    from makegood.services import payout_report

    engine = _engine()
    try:
        figures = payout_report.accounting(engine=engine, incident_id=incident,
                                           actor=_sign_in(engine, as_user), now=_now())
    finally:
        engine.dispose()
    paths = write_report(figures, out, f"accounting-{incident}")
    for path in paths.values():
        typer.echo(str(path))


@app.command("simulate-bank")
@handles_errors
def simulate_bank(batch: Annotated[str, typer.Argument()], as_user: AsUser,
                  report_format: Annotated[str, typer.Option(
                      "--format", help="pain002, camt054 or csv")] = "camt054",
                  fail: Annotated[list[str] | None, typer.Option(
                      help="END_TO_END_ID:CODE to reject (pain002) or return (camt054, csv).")
                  ] = None,
                  out: Annotated[Path, typer.Option(help="The report file.")] = Path("report.xml"),
                  ) -> None:
    """Generate the bank's answer to a batch (for tests and the demo): pain.002 or camt.054."""
    from makegood.adapters.db.payout_store import PayoutUnitOfWork
    from makegood.adapters.ledger import atomic_path
    from makegood.adapters.payouts import bank_sim
    from makegood.domain.claims import Permission
    from makegood.domain.errors import InputError

    failures = {}
    for spec in fail or []:
        e2e, _, code = spec.partition(":")
        if not e2e or not code:
            raise InputError(f"{spec!r} is not END_TO_END_ID:CODE", field="--fail")
        failures[e2e] = code
    engine = _engine()
    try:
        _sign_in(engine, as_user).require(Permission.SUPERVISE)
        with PayoutUnitOfWork(engine) as uow:
            uow.store.batch_or_raise(batch)
            sent = [bank_sim.Sent(i.end_to_end_id, i.amount, i.currency)
                    for i in uow.store.items(batch)]
    finally:
        engine.dispose()
    unknown = sorted(set(failures) - {s.end_to_end_id for s in sent})
    if unknown:
        raise InputError(f"{unknown[0]!r} is not in batch {batch}", field="--fail")
    now = _now()
    if report_format == "pain002":
        data = bank_sim.pain002(sent, message_id=batch, rejected=failures, created=now)
    elif report_format == "camt054":
        data = bank_sim.camt054(sent, message_id=f"NTF-{batch}", returned=failures, booked=now,
                                iban=_originator().iban)
    elif report_format == "csv":
        data = bank_sim.csv_returns([(s.end_to_end_id, "returned" if s.end_to_end_id in failures
                                      else "paid", s.amount, s.currency,
                                      failures.get(s.end_to_end_id, "")) for s in sent])
    else:
        raise InputError(f"{report_format!r} is not pain002, camt054 or csv", field="--format")
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    typer.echo(f"{out}: {len(sent):,} payments, {len(failures):,} failed")


@app.command("demo-payees")
@handles_errors
def demo_payees(incident: IncidentOpt, as_user: AsUser,
                out: Annotated[Path, typer.Option(help="Payees CSV to write.")] = Path(
                    "payees.csv"),
                register: Annotated[Path, typer.Option(help="Name register CSV to write.")] = Path(
                    "name-register.csv"),
                seed: int = 2022) -> None:
    """Seeded Korean bank details for every payee of the incident's money awards (the demo)."""
    from makegood.adapters.db.payout_store import PayoutUnitOfWork
    from makegood.adapters.ledger import atomic_path
    from makegood.adapters.payouts import bank_sim
    from makegood.domain.claims import Permission

    engine = _engine()
    try:
        _sign_in(engine, as_user).require(Permission.ADMIN)
        with PayoutUnitOfWork(engine) as uow:
            ids = sorted({a.payee_id for a in uow.store.awards(incident)
                          if a.method.value != "billing_credit"})
    finally:
        engine.dispose()
    payees, names = bank_sim.demo_payees(ids, seed=seed)
    for path, data in ((out, payees), (register, names)):
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    typer.echo(f"{out}: {len(ids):,} payees; {register}: their holders")
