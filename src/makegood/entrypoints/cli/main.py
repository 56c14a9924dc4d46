"""The `makegood` command line: one Typer app; each concept registers its commands here."""

from __future__ import annotations

import typer

from makegood.entrypoints.cli import compensate, incident, policy, scenario, server, version

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="makegood: fair, fast and provable compensation after a mass service outage.",
)



def _print_version(value: bool) -> None:
    if value:
        for line in version.report():
            typer.echo(line)
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                      help="Print makegood's version and the engines found, then exit."),
) -> None:
    """makegood: fair, fast and provable compensation after a mass service outage."""


app.command("compensate")(compensate.compensate)
app.command("explain")(compensate.explain)
app.command("demo")(compensate.demo)
app.add_typer(policy.app, name="policy")
app.add_typer(incident.app, name="incident")
app.add_typer(scenario.app, name="scenario")
server.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
