"""`makegood serve`, `makegood db ...`, `makegood users ...` (filled in by the claims capability)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach the claims service's commands (serve, db, users) to the main app."""
