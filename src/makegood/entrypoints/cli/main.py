"""The `makegood` command line: one Typer app; each concept registers its commands here.

Commands are loaded when they are run (or listed by ``--help``), not when ``makegood`` starts:
``makegood incident ...`` and ``makegood policy check`` then start without importing the batch
engines' dependencies (pyarrow, numpy, DuckDB, PySpark), which take most of a second.
"""

from __future__ import annotations

import importlib
from functools import cache

import typer
from typer._click.core import Command, Context  # Typer's own click (what TyperGroup speaks)
from typer.core import TyperGroup

from makegood.entrypoints.cli import server, version

# command name -> (module, attribute): a function becomes a command, a Typer app a group
LAZY_FIRST = {
    "compensate": ("makegood.entrypoints.cli.compensate", "compensate"),
    "explain": ("makegood.entrypoints.cli.compensate", "explain"),
    "demo": ("makegood.entrypoints.cli.compensate", "demo"),
}
LAZY_LAST = {
    "policy": ("makegood.entrypoints.cli.policy", "app"),
    "incident": ("makegood.entrypoints.cli.incident", "app"),
    "scenario": ("makegood.entrypoints.cli.scenario", "app"),
    "payouts": ("makegood.entrypoints.cli.payouts", "app"),
    "claims": ("makegood.entrypoints.cli.triage", "app"),

    "notify": ("makegood.entrypoints.cli.notify", "app"),
}
LAZY = {**LAZY_FIRST, **LAZY_LAST}


@cache
def load(name: str) -> Command:
    """The click command for ``name``, importing its module now."""
    module, attribute = LAZY[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        # A group stays a group even with one command (`scenario generate`), as add_typer keeps it.
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """Typer's group, with the commands of :data:`LAZY` imported on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        eager = [n for n in super().list_commands(ctx) if n not in LAZY]
        return [*LAZY_FIRST, *eager, *LAZY_LAST]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in LAZY:
            return load(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyGroup,
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


server.register(app)


if __name__ == "__main__":  # pragma: no cover
    app()
