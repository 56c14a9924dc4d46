"""Encryption of payout accounts and stored receipts (Fernet) and hashing of receipt and session
tokens.

The keys come from ``MAKEGOOD_SECRET_KEY`` (Fernet keys, comma-separated, the first encrypts and
every one decrypts); when unset, from a key file (``.makegood-secret.key``, mode 600, one key a
line), generated once with one key so that a local server keeps reading what it wrote.

Key rotation (``makegood keys rotate``, :mod:`makegood.adapters.db.rotation`) puts a new key first
in the file, re-encrypts every stored secret with it, and then drops the old key. A server reads
the key file again whenever it changes, so servers that are running pick up the new key at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from makegood.domain.errors import InputError


def _keys(raw: bytes, *, field: str) -> list[bytes]:
    keys = [k.strip() for k in raw.replace(b",", b"\n").splitlines() if k.strip()]
    if not keys:
        raise InputError("holds no key", field=field)
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise InputError("is not a Fernet key (32 url-safe base64-encoded bytes)",
                             field=field) from None
    return keys


def load_key(key: str | None, key_file: Path) -> bytes:
    """The configured keys, one a line (the first encrypts); creates a development key file."""
    if key:
        return b"\n".join(_keys(key.encode(), field="MAKEGOOD_SECRET_KEY"))
    if not key_file.exists():
        write_key_file(key_file, [Fernet.generate_key()], exclusive=True)
    return b"\n".join(_keys(key_file.read_bytes(), field=str(key_file)))


def write_key_file(key_file: Path, keys: list[bytes], *, exclusive: bool = False) -> None:
    """Write the keys (mode 600) under a temporary name, fsync, and move it into place;
    ``exclusive``: only if no file is there yet (the first of several starting workers wins)."""
    tmp = key_file.with_name(key_file.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(b"\n".join(keys) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, key_file)
        else:
            os.replace(tmp, key_file)
    finally:
        tmp.unlink(missing_ok=True)


class Cipher:
    """Encrypts and decrypts short secrets such as a payout account number.

    With ``key_file`` (no key in the environment) the keys are read again whenever the file
    changes, so a rotation reaches running servers without a restart.
    """

    def __init__(self, key: bytes, *, key_file: Path | None = None) -> None:
        self._key_file = key_file
        self._stamp = self._file_stamp()
        self._set(key)

    @classmethod
    def configured(cls, key: str | None, key_file: Path) -> Cipher:
        """The cipher for the settings: the environment's keys, else the (watched) key file."""
        return cls(load_key(key, key_file), key_file=None if key else key_file)

    def _set(self, raw: bytes) -> None:
        self.keys = _keys(raw, field="MAKEGOOD_SECRET_KEY")
        self._primary = Fernet(self.keys[0])
        self._mac_key = hashlib.sha256(b"makegood fingerprint\0" + self.keys[0]).digest()
        self._fernet = MultiFernet([Fernet(k) for k in self.keys])

    def fingerprint(self, text: str) -> str:
        """A keyed hash that matches equal secrets without revealing them (screening compares
        payout accounts this way: an unkeyed hash of an account number is easy to reverse).
        It follows the primary key: after a rotation, ``makegood claims screen`` recomputes."""
        self._refresh()
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._key_file is None:
            return None
        try:
            st = self._key_file.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        if self._key_file is None:
            return
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            self._set(self._key_file.read_bytes())
            self._stamp = stamp

    def encrypt(self, text: str) -> str:
        self._refresh()
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        self._refresh()
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise InputError("cannot be decrypted with the configured MAKEGOOD_SECRET_KEY",
                             field="payout_account") from None

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted with the first (current) key."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted with the current key (never leaves this process in clear)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise InputError("cannot be decrypted with any configured key",
                             field="MAKEGOOD_SECRET_KEY") from None


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
