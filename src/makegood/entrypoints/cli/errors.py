"""Mapping the domain's exception tree to exit codes and one-line messages, for every command."""

from __future__ import annotations

import errno
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


SYSTEM_ERROR = 6
_HINTS = {
    errno.ENOSPC: "free space on that disk, or write elsewhere",
    errno.EDQUOT: "free space within the quota, or write elsewhere",
    errno.EACCES: "check the permissions of the directory",
    errno.EROFS: "the file system is read-only; write elsewhere",
}


def system_error(exc: OSError) -> str:
    """One line for an operating-system error, with what to do; outputs are written under a
    temporary name and renamed only when complete, so nothing is left under the target name."""
    text = " ".join(str(exc).split())
    code = exc.errno
    if code is None and "No space left on device" in text:  # pyarrow's OSError has no errno
        code = errno.ENOSPC
    hint = _HINTS.get(code or -1)
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"the system refused a file operation{where}: {text}"
            + (f"; {hint}" if hint else "") + "; no output was written under its final name")


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
        except OSError as exc:  # the system refused: a full disk, no permission, a lost mount
            print(f"error: {system_error(exc)}", file=sys.stderr)
            raise typer.Exit(SYSTEM_ERROR) from None

    return wrapper
