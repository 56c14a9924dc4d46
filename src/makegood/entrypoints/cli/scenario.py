"""`makegood scenario generate`: the seeded 2022-style scenario of any size."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from makegood.entrypoints.cli.errors import handles_errors

app = typer.Typer(no_args_is_help=True, help="Generate scenarios for tests, demos and benchmarks.")


@app.command("generate")
@handles_errors
def generate(
    accounts: int = typer.Option(..., "--accounts", "-n", min=1, help="Number of accounts."),
    seed: int = typer.Option(..., "--seed", help="Seed; the same seed gives the same files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    chunk: int = typer.Option(1_000_000, "--chunk", min=1000, help="Accounts per Parquet part."),
) -> None:
    """Write incident.toml, subscriptions/ and sales/ (Parquet parts) for N accounts."""
    from makegood.adapters.scenario import generate as run

    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as progress:
        task = progress.add_task("accounts", total=accounts)
        subs = 0
        for done, written in run(out, accounts=accounts, seed=seed, chunk_accounts=chunk):
            progress.update(task, completed=done)
            subs = written
    print(f"wrote {accounts:,} accounts and {subs:,} subscriptions to {out}")
