"""`makegood payouts payees ...`, `simulate-bank` and `demo-payees`: payees' details, and the
generators the tests and the demo walkthrough use for the bank's side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from makegood.entrypoints.cli import payout_session as ps
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.payout_session import AsUser, IncidentOpt

payees_app = typer.Typer(no_args_is_help=True, help="Payees' payment details (encrypted).")


@payees_app.command("import")
@handles_errors
def payees_import(path: Annotated[Path, typer.Argument(help="Payees CSV.")], as_user: AsUser
                  ) -> None:
    """Import payees' payment details (checked, name-checked, encrypted)."""
    from makegood.services import payouts

    engine = ps.engine()
    try:
        n = payouts.import_payees(engine=engine, cipher=ps.cipher(), name_check=ps.name_check(),
                                  path=path, actor=ps.sign_in(engine, as_user), now=ps.now())
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
    engine = ps.engine()
    try:
        record = payouts.set_payee(engine=engine, cipher=ps.cipher(), name_check=ps.name_check(),
                                   payee_id=payee, method=ps.method(method), holder=holder,
                                   details=details, actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"{record.id}: {record.masked} (name check: {record.name_check})")


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
    from makegood.domain.errors import InputError
    from makegood.domain.staff import Permission

    failures = {}
    for spec in fail or []:
        e2e, _, code = spec.partition(":")
        if not e2e or not code:
            raise InputError(f"{spec!r} is not END_TO_END_ID:CODE", field="--fail")
        failures[e2e] = code
    engine = ps.engine()
    try:
        ps.sign_in(engine, as_user).require(Permission.SUPERVISE)
        with PayoutUnitOfWork(engine) as uow:
            uow.store.batch_or_raise(batch)
            sent = [bank_sim.Sent(i.end_to_end_id, i.amount, i.currency)
                    for i in uow.store.items(batch)]
    finally:
        engine.dispose()
    unknown = sorted(set(failures) - {s.end_to_end_id for s in sent})
    if unknown:
        raise InputError(f"{unknown[0]!r} is not in batch {batch}", field="--fail")
    now = ps.now()
    if report_format == "pain002":
        data = bank_sim.pain002(sent, message_id=batch, rejected=failures, created=now)
    elif report_format == "camt054":
        data = bank_sim.camt054(sent, message_id=f"NTF-{batch}", returned=failures, booked=now,
                                iban=ps.originator().iban)
    elif report_format == "csv":
        data = bank_sim.csv_returns([(s.end_to_end_id, "returned" if s.end_to_end_id in failures
                                      else "paid", s.amount, s.currency,
                                      failures.get(s.end_to_end_id, "")) for s in sent])
    else:
        raise InputError(f"{report_format!r} is not pain002, camt054 or csv", field="--format")
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    typer.echo(f"{out}: {len(sent):,} payments, {len(failures):,} failed")


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
    from makegood.domain.staff import Permission

    engine = ps.engine()
    try:
        ps.sign_in(engine, as_user).require(Permission.ADMIN)
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


@payees_app.command("from-claims")
@handles_errors
def payees_from_claims(incident: IncidentOpt, as_user: AsUser) -> None:
    """Payees from the payout accounts given on approved claims (an IBAN, or a Korean account
    with its bank code first: 088-110-123-456789); decrypted by an admin, audited."""
    from makegood.services import payouts

    engine = ps.engine()
    try:
        counts = payouts.payees_from_claims(engine=engine, cipher=ps.cipher(),
                                            name_check=ps.name_check(), incident_id=incident,
                                            actor=ps.sign_in(engine, as_user), now=ps.now())
    finally:
        engine.dispose()
    typer.echo(f"{counts['stored']:,} payees stored from claims; {counts['kept']:,} already on "
               f"record; {counts['needs_details']:,} need details (payees set)")
