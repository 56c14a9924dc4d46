"""Secrets at rest, on SQLite and PostgreSQL: payout accounts and stored receipts are never in the
database in clear, and `makegood keys rotate` re-encrypts them all under a new key (resuming
after a crash) while a running server keeps reading them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from makegood.adapters.db import schema
from makegood.adapters.db.crypto import Cipher
from makegood.adapters.db.rotation import reencrypt, stale

from .conftest import Api

MAKEGOOD = str(Path(sys.executable).parent / "makegood")
PAYOUT = "110-987-654321"


def submit_with_secrets(api: Api, n: int) -> list[dict[str, str]]:
    receipts = []
    for i in range(n):
        r = api.submit(payout_account=PAYOUT, headers={"Idempotency-Key": f"secret-{i}"})
        assert r.status_code == 201, r.text
        receipts.append(r.json())
    return receipts


def raw_bytes(api: Api, db_url: str) -> bytes:
    """What the database holds on disk for the claims and idempotency tables."""
    if api.engine.dialect.name == "sqlite":
        path = Path(sa.make_url(db_url).database or "")
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    data = b""
    with api.engine.connect() as conn:
        conn.execute(sa.text("CHECKPOINT"))  # the pages on disk, not only in shared buffers
        for table in ("claims", "idempotency_keys"):
            toast = conn.execute(sa.text("SELECT reltoastrelid FROM pg_class WHERE oid = "
                                         "CAST(:t AS regclass)"), {"t": table}).scalar_one()
            paths = [conn.execute(sa.text("SELECT pg_relation_filepath(CAST(:t AS regclass))"),
                                  {"t": table}).scalar_one(),
                     conn.execute(sa.text("SELECT pg_relation_filepath(:o)"),
                                  {"o": toast}).scalar_one()]
            for path in filter(None, paths):
                data += conn.execute(sa.text("SELECT pg_read_binary_file(:p)"),
                                     {"p": path}).scalar_one()
    return data


def test_payout_accounts_and_receipt_tokens_are_not_stored_in_clear(api: Api,
                                                                     db_url: str) -> None:
    receipts = submit_with_secrets(api, 3)
    disk = raw_bytes(api, db_url)
    assert b"acct-free" in disk  # the check reads the real table bytes
    assert PAYOUT.encode() not in disk
    assert PAYOUT.replace("-", "").encode() not in disk
    for receipt in receipts:
        assert receipt["receipt_token"].encode() not in disk


def test_keys_rotate_reencrypts_everything_and_the_server_keeps_reading(
        api: Api, db_url: str, tmp_path: Path) -> None:
    receipts = submit_with_secrets(api, 5)
    key_file = tmp_path / "secret.key"
    old_key = key_file.read_bytes().strip()
    with api.engine.connect() as conn:
        before = sorted(conn.execute(sa.select(schema.claims.c.payout_encrypted)).scalars())
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": db_url,
           "MAKEGOOD_SECRET_KEY_FILE": str(key_file)}
    env.pop("MAKEGOOD_SECRET_KEY", None)
    result = subprocess.run([MAKEGOOD, "keys", "rotate"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "old key is retired" in result.stdout
    new_key = key_file.read_bytes().strip()
    assert new_key != old_key
    assert b"\n" not in new_key
    new_only, old_only = Cipher(new_key), Cipher(old_key)
    with api.engine.connect() as conn:
        after = sorted(conn.execute(sa.select(schema.claims.c.payout_encrypted)).scalars())
        responses = list(conn.execute(sa.select(schema.idempotency_keys.c.response)).scalars())
    assert set(after).isdisjoint(before)
    assert all(new_only.decrypt(value) == PAYOUT for value in after)
    assert all(new_only.is_current(value) and not old_only.is_current(value)
               for value in [*after, *responses])
    # The running server read the new key file: a retried submission still gets its receipt.
    again = api.submit(payout_account=PAYOUT, headers={"Idempotency-Key": "secret-0"})
    assert again.status_code == 201
    assert again.json()["receipt_token"] == receipts[0]["receipt_token"]
    assert PAYOUT not in result.stdout + result.stderr


def test_a_rotation_stopped_midway_is_finished_by_running_it_again(api: Api, db_url: str,
                                                                  tmp_path: Path) -> None:
    submit_with_secrets(api, 6)
    key_file = tmp_path / "secret.key"
    old_key = key_file.read_bytes().strip()
    from cryptography.fernet import Fernet

    new_key = Fernet.generate_key()
    key_file.write_bytes(new_key + b"\n" + old_key + b"\n")
    cipher = Cipher(new_key + b"\n" + old_key)

    class Crash(Exception):
        pass

    def crash_after_first_batch(done: object) -> None:
        raise Crash

    with pytest.raises(Crash):
        reencrypt(api.engine, cipher, batch=2, progress=crash_after_first_batch)
    # 6 payout accounts, 6 stored answers, 6 sealed receipt links: part done, part left
    assert 0 < stale(api.engine, cipher) < 18
    env = {**os.environ, "MAKEGOOD_DATABASE_URL": db_url,
           "MAKEGOOD_SECRET_KEY_FILE": str(key_file)}
    env.pop("MAKEGOOD_SECRET_KEY", None)
    result = subprocess.run([MAKEGOOD, "keys", "rotate"], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert key_file.read_bytes().strip() == new_key  # resumed with the same new key
    assert stale(api.engine, Cipher(new_key)) == 0
