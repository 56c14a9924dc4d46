"""The `makegood` command line."""

import typer

app = typer.Typer(no_args_is_help=True)


@app.callback()
def main() -> None:
    """makegood: compensation after a mass service outage."""
