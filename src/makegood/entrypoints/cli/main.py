"""The `makegood` command line: one Typer app; each concept registers its commands here."""

from __future__ import annotations

import typer

from makegood.entrypoints.cli import compensate, incident, notify, policy, scenario, server

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="makegood: fair, fast and provable compensation after a mass service outage.",
)

app.command("compensate")(compensate.compensate)
app.command("explain")(compensate.explain)
app.command("demo")(compensate.demo)
app.add_typer(policy.app, name="policy")
app.add_typer(incident.app, name="incident")
app.add_typer(scenario.app, name="scenario")
app.add_typer(notify.app, name="notify")
server.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
