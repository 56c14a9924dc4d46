"""Mapping the domain's exception tree to exit codes and one-line messages, for every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from makegood.domain.errors import (
    Conflict,
    InputError,
    MakegoodError,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)

P = ParamSpec("P")
R = TypeVar("R")

EXIT_CODES: dict[type[MakegoodError], int] = {
    InputError: 2,
    NotFound: 3,
    Conflict: 4,
    PermissionDenied: 5,
    TooManyAttempts: 5,
}


def exit_code(exc: MakegoodError) -> int:
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a makegood error as one line on stderr and exit with its code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MakegoodError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper
