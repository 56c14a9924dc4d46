"""`makegood policy check` (and, with the batch engine, `policy compare`)."""

from __future__ import annotations

from pathlib import Path

import typer

from makegood.domain.policy import read_policy
from makegood.entrypoints.cli.errors import handles_errors
from makegood.entrypoints.cli.render import console

app = typer.Typer(no_args_is_help=True, help="Validate, describe and compare policies.")


@app.command("check")
@handles_errors
def check(policy: list[Path] = typer.Argument(..., help="Policy TOML file(s).")) -> None:
    """Validate policies and print their rules in words."""
    for path in policy:
        loaded = read_policy(path)
        console.print(f"[green]ok[/green] {path}")
        for line in loaded.describe():
            console.print(f"  {line}", soft_wrap=True)
