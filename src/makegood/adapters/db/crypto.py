"""Encryption of payout accounts (Fernet) and hashing of receipt and session tokens.

The key comes from ``MAKEGOOD_SECRET_KEY`` (a Fernet key); when unset, a development key is
generated once into a file (``.makegood-secret.key``, mode 600) so that a local server keeps
reading what it wrote. Production sets the variable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from makegood.domain.errors import InputError


def load_key(key: str | None, key_file: Path) -> bytes:
    if key:
        raw = key.encode()
    elif key_file.exists():
        raw = key_file.read_bytes().strip()
    else:
        raw = Fernet.generate_key()
        tmp = key_file.with_name(key_file.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw + b"\n")
        try:
            os.link(tmp, key_file)  # first writer wins when two workers start together
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        raw = key_file.read_bytes().strip()
    try:
        Fernet(raw)
    except (ValueError, TypeError):
        raise InputError("is not a Fernet key (32 url-safe base64-encoded bytes)",
                         field="MAKEGOOD_SECRET_KEY") from None
    return raw


class Cipher:
    """Encrypts and decrypts short secrets such as a payout account number."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"makegood fingerprint\0" + key).digest()

    def fingerprint(self, text: str) -> str:
        """A keyed hash that matches equal secrets without revealing them (screening compares
        payout accounts this way: an unkeyed hash of an account number is easy to reverse)."""
        return hmac.new(self._mac_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise InputError("cannot be decrypted with the configured MAKEGOOD_SECRET_KEY",
                             field="payout_account") from None


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
