"""`makegood incident` commands (filled in by the incident capability)."""

import typer

app = typer.Typer(no_args_is_help=True, help="incident commands")
