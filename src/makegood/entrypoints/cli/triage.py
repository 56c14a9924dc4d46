"""`makegood claims classify` and `makegood claims screen`: triage and screening (docs/triage.md).

Heavy modules (kiwipiepy, numpy, SQLAlchemy) are imported inside the commands so the rest of the
CLI starts fast.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from makegood.entrypoints.cli.errors import handles_errors

app = typer.Typer(no_args_is_help=True, help="Claims: triage of texts and fraud screening.")


@app.command("classify")
@handles_errors
def classify(
    file: Annotated[Path, typer.Argument(help="A CSV or TSV file with a column 'text'.")],
    out: Annotated[Path | None, typer.Option(help="Write here (default: standard output).")]
    = None,
) -> None:
    """Triage report texts: damage claim or not, category, the words that drove it.

    Adds the columns damage, category, label and drivers; the others are kept."""
    from makegood.adapters.ledger import atomic_path
    from makegood.services.screening import shipped_classifier
    from makegood.services.triage import classify_rows, read_table, write_table

    delimiter, header, rows = read_table(file)
    classify_rows(rows, classifier=shipped_classifier(),
                  progress=lambda done, total: print(f"classified {done:,} of {total:,}",
                                                     file=sys.stderr))
    if out is None:
        write_table(sys.stdout, delimiter=delimiter, header=header, rows=rows)  # type: ignore[arg-type]
        return
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        write_table(handle, delimiter=delimiter, header=header, rows=rows)
    damage = sum(1 for r in rows if r["damage"] == "yes")
    typer.echo(f"{len(rows):,} rows: {damage:,} damage claims, {len(rows) - damage:,} not; "
               f"written to {out}", err=True)


@app.command("screen")
@handles_errors
def screen(
    incident: Annotated[str | None, typer.Option(help="Only this incident's claims.")] = None,
) -> None:
    """Screen and classify every claim in the database, with progress.

    Uses MAKEGOOD_DATABASE_URL; prints the claims flagged per deduction code."""
    from makegood.adapters.db.config import Settings
    from makegood.adapters.db.crypto import Cipher, load_key
    from makegood.adapters.db.engine import make_engine
    from makegood.adapters.db.repository import UnitOfWork
    from makegood.domain.screening import DEDUCTIONS
    from makegood.services.screening import screen_batch

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    cipher = Cipher(load_key(settings.secret_key, settings.secret_key_file))
    try:
        summary = screen_batch(
            uow=UnitOfWork(engine), cipher=cipher, now=datetime.now(UTC), incident_id=incident,
            progress=lambda stage, done, total: print(f"{stage}: {done:,} of {total:,} claims",
                                                      file=sys.stderr))
    finally:
        engine.dispose()
    typer.echo(f"{summary.claims:,} claims screened: {summary.flagged:,} with deductions, "
               f"{summary.reject:,} recommended for rejection, {summary.groups:,} duplicate groups")
    for code in DEDUCTIONS:
        if summary.by_code.get(code):
            typer.echo(f"  {code:<20} {summary.by_code[code]:>9,}")
