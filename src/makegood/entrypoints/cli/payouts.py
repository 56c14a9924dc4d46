"""`makegood payouts ...`: awards to payees, four eyes, bank files, reconciliation, accounting.

Every command acts as a signed-in staff member (``--as NAME``; the password from
MAKEGOOD_PASSWORD, else asked for), so the audit log names who prepared, reviewed, released,
wrote and reconciled. Settings: MAKEGOOD_PAYOUT_FOUR_EYES_ABOVE (default 0: every batch needs
a second person), MAKEGOOD_PAYOUT_NAME_REGISTER (a CSV register for the account-holder name
check), MAKEGOOD_PAYOUT_ORIGINATOR_NAME / _IBAN / _BIC / _ROUTING / _COMPANY_ID / _BANK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from makegood.entrypoints.cli import payout_session as ps
from makegood.entrypoints.cli import payout_tools
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.payout_session import AsUser, IncidentOpt

app = typer.Typer(no_args_is_help=True, help="Payouts: batches, bank files, reconciliation, "
                  "the final accounting.")
app.add_typer(payout_tools.payees_app, name="payees")
app.command("simulate-bank")(payout_tools.simulate_bank)
app.command("demo-payees")(payout_tools.demo_payees)


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

    engine = ps.engine()
    try:
        actor = ps.sign_in(engine, as_user)
        if ledger is None:
            with engine.connect() as conn:
                stored = conn.execute(sa.select(t.incidents.c.ledger_path).where(
                    t.incidents.c.id == incident)).scalar()
            ledger = Path(stored) if stored else None
        rows = payouts.read_ledger_awards(ledger) if ledger else []
        counts = payouts.load_awards(engine=engine, incident_id=incident, ledger_rows=rows,
                                     actor=actor, now=ps.now())
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

    engine = ps.engine()
    try:
        balance = payouts.fund(engine=engine, incident_id=incident,
                               amount=to_decimal(amount, field="--amount"),
                               currency=currency.upper(), reserve=reserve,
                               actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"fund balance (unreserved): {balance} {currency.upper()}")


@app.command("prepare")
@handles_errors
def prepare(incident: IncidentOpt, as_user: AsUser,
            method: Annotated[str, typer.Option(help="sepa, nacha, kr_bulk, billing_credit, check")],
            currency: Annotated[str, typer.Option(help="Currency (or unit of a credit).")],
            policy: Annotated[str | None, typer.Option(help="Only this policy's awards.")] = None,
            kind: Annotated[str | None, typer.Option(help="Only this award kind.")] = None,
            ) -> None:
    """Select what is payable into a new batch."""
    from makegood.services import payout_batches

    engine = ps.engine()
    try:
        result = payout_batches.prepare(engine=engine, incident_id=incident, method=ps.method(method),
                                 currency=currency, policy_id=policy, kind=kind,
                                 actor=ps.sign_in(engine, as_user), now=ps.now())
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
    from makegood.services import payout_batches

    engine = ps.engine()
    try:
        r = payout_batches.review(engine=engine, batch_id=batch, approve=approve,
                           actor=ps.sign_in(engine, as_user), now=ps.now())
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
    from makegood.services import payout_batches

    engine = ps.engine()
    try:
        b = payout_batches.release(engine=engine, batch_id=batch, four_eyes_above=ps.four_eyes(),
                            actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"batch {b.id} released by {b.released_by} (reviewed by {b.reviewed_by})")


@app.command("cancel")
@handles_errors
def cancel(batch: Annotated[str, typer.Argument()], as_user: AsUser) -> None:
    """Cancel an unreleased batch: its awards are payable again."""
    from makegood.services import payout_batches

    engine = ps.engine()
    try:
        b = payout_batches.cancel(engine=engine, batch_id=batch, actor=ps.sign_in(engine, as_user),
                           now=ps.now())
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

    engine = ps.engine()
    try:
        f = payout_files.write(engine=engine, cipher=ps.cipher(), batch_id=batch, out_dir=out,
                               originator=ps.originator(), memo=memo,
                               actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"{f.path}: {f.count:,} payments, {f.size:,} bytes, sha256 {f.sha256}")


@app.command("reconcile")
@handles_errors
def reconcile(files: Annotated[list[Path], typer.Argument(help="pain.002, camt.054/053, CSV.")],
              as_user: AsUser) -> None:
    """Read the bank's reports and move each payment on; unmatched lines are listed."""
    from makegood.services import payout_files
    from makegood.services.payout_notices import OutboxPayoutNotices

    engine = ps.engine()
    try:
        actor = ps.sign_in(engine, as_user)
        for path in files:
            # The claimant is told through the notices outbox, in the same transaction.
            r = payout_files.reconcile(engine=engine, path=path, actor=actor, now=ps.now(),
                                       notices=OutboxPayoutNotices())
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
              deadline: Annotated[str, typer.Option(help="ISO 8601 with offset.")],
              never_paid: Annotated[bool, typer.Option(
                  help="Also money awards never attempted (the payee never gave details).")
              ] = False) -> None:
    """After the deadline, failed payments whose payee never answered become unclaimed."""
    from makegood.domain.windows import parse_timestamp
    from makegood.services import payout_files

    engine = ps.engine()
    try:
        n = payout_files.declare_unclaimed(
            engine=engine, incident_id=incident,
            deadline=parse_timestamp(deadline, field="--deadline"), never_paid=never_paid,
            actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"{n:,} awards declared unclaimed")


@app.command("list")
@handles_errors
def list_batches(as_user: AsUser, incident: Annotated[str | None, typer.Option()] = None) -> None:
    """The batches and their state."""
    from makegood.adapters.db.payout_store import PayoutUnitOfWork
    from makegood.domain.staff import Permission

    engine = ps.engine()
    try:
        ps.sign_in(engine, as_user).require(Permission.READ)
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

    engine = ps.engine()
    try:
        figures = payout_report.accounting(engine=engine, incident_id=incident,
                                           actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    paths = write_report(figures, out, f"accounting-{incident}")
    for path in paths.values():
        typer.echo(str(path))
