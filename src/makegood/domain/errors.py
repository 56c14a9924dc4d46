"""The one exception tree of makegood.

Every error a user can cause derives from :class:`MakegoodError`; the edges map the tree to
exit codes (CLI) and HTTP statuses (API), nowhere else::

    MakegoodError
    ├── InputError            bad input: a file, a row, a field (CLI exit 2, HTTP 422)
    │   ├── PolicyError       a policy document that does not validate
    │   ├── IncidentError     an incident document or import that does not validate
    │   └── DataError         an accounts/subscriptions/sales table that does not validate
    ├── NotFound              a named thing does not exist (CLI exit 3, HTTP 404)
    ├── Conflict              the request contradicts stored state (CLI exit 4, HTTP 409)
    ├── PermissionDenied      the caller may not do this (HTTP 403)
    └── TooManyAttempts       too many tries in a short time; retry later (HTTP 429, exit 5)

An :class:`InputError` carries where it happened (file, line or row, field) so that the message
the user reads says what was wrong and where, in one line.
"""

from __future__ import annotations


class MakegoodError(Exception):
    """Base of every error makegood raises on purpose."""


class InputError(MakegoodError):
    """Bad input. ``where`` says which file, line/row and field; ``problem`` says what is wrong."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        row: int | None = None,
        rule: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.row = row
        self.rule = rule
        self.field = field
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.rule:
            parts.append(f"rule {self.rule!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        return f"{self.where}: {self.problem}" if self.where else self.problem

    def located(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        row: int | None = None,
        rule: str | None = None,
        field: str | None = None,
    ) -> InputError:
        """A copy of this error with the missing parts of its location filled in."""
        return type(self)(
            self.problem,
            file=self.file or file,
            line=self.line if self.line is not None else line,
            row=self.row if self.row is not None else row,
            rule=self.rule or rule,
            field=self.field or field,
        )

    def __str__(self) -> str:
        return self.message


class PolicyError(InputError):
    """A policy document that does not validate."""


class IncidentError(InputError):
    """An incident document or an import that does not validate."""


class DataError(InputError):
    """An accounts, subscriptions or sales table that does not validate."""


class NotFound(MakegoodError):
    """A named thing (account, claim, incident, policy) does not exist."""


class Conflict(MakegoodError):
    """The request contradicts stored state (a claim already decided, an appeal already made)."""


class PermissionDenied(MakegoodError):
    """The caller's role or token does not allow this action."""


class TooManyAttempts(MakegoodError):
    """Too many attempts (sign-ins, guesses) in a short time; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
