"""`makegood keys`: rotate the key that encrypts payout accounts and stored receipts."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from makegood.entrypoints.cli.errors import handles_errors

app = typer.Typer(no_args_is_help=True, help="Encryption keys of the claims database.")


@app.command("rotate")
@handles_errors
def rotate() -> None:
    """Re-encrypt every stored secret with a new key, then retire the old one.

    With the key file (MAKEGOOD_SECRET_KEY unset): a new key goes first in the file (running
    servers pick it up), every payout account and stored receipt is re-encrypted in committed
    batches, and the old key is dropped once nothing needs it. Stopped midway (a crash), run it
    again: it finishes what is left. With MAKEGOOD_SECRET_KEY: set it to "NEW,OLD" first (new
    keys come from `makegood keys new`), restart, run this, then set it to "NEW".
    """
    from cryptography.fernet import Fernet

    from makegood import bootstrap
    from makegood.adapters.db.crypto import Cipher, load_key, write_key_file
    from makegood.adapters.db.rotation import reencrypt, stale

    settings = bootstrap.settings()
    engine = bootstrap.database(settings)
    keys = load_key(settings.secret_key, settings.secret_key_file).splitlines()
    from_env = settings.secret_key is not None
    if not from_env and len(keys) == 1:  # a fresh rotation; two keys: resuming one
        write_key_file(settings.secret_key_file, [Fernet.generate_key(), keys[0]])
        typer.echo(f"new key written first in {settings.secret_key_file}", err=True)
    cipher = Cipher.configured(settings.secret_key, settings.secret_key_file)
    if len(cipher.keys) < 2:
        typer.echo("only one key is configured: nothing to rotate to (set MAKEGOOD_SECRET_KEY "
                   "to NEW,OLD first)", err=True)
        raise typer.Exit(2)

    def progress(done: object) -> None:
        typer.echo(f"  {done.examined:,} secrets examined, {done.rewritten:,} re-encrypted",  # type: ignore[attr-defined]
                   err=True)

    done = reencrypt(engine, cipher, progress=progress)
    left = stale(engine, cipher)
    if left:
        typer.echo(f"{left:,} secrets changed during the rotation; run it again", err=True)
        raise typer.Exit(4)
    now = datetime.now(UTC)
    with bootstrap.unit_of_work(engine) as uow:
        uow.audit.record(actor="system:keys", action="keys.rotated", entity="keys",
                         entity_id="secret", before=None,
                         after={"examined": done.examined, "reencrypted": done.rewritten}, now=now)
        uow.commit()
    if from_env:
        typer.echo(f"{done.rewritten:,} secrets re-encrypted; now set MAKEGOOD_SECRET_KEY to the "
                   "first key alone and restart")
    else:
        write_key_file(settings.secret_key_file, [cipher.keys[0]])
        typer.echo(f"{done.rewritten:,} secrets re-encrypted; the old key is retired")
    engine.dispose()


@app.command("new")
def new() -> None:
    """Print a new Fernet key (for MAKEGOOD_SECRET_KEY)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
