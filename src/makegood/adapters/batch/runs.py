"""Run ids: a compensation run is named by the content of what it read.

The id is a BLAKE2b digest over the bytes of the incident file, each policy file (in the order
given) and each accounts and sales file (in the order resolved), so the same inputs give the same
id on any machine and any engine, and any changed byte gives another. Files are hashed in
threads (hashlib releases the GIL), while the engine is free to start. Inputs at object-storage
URLs are named by their URLs (:class:`UrlRunId`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from makegood.adapters.tables import AccountsSource

CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=32)
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class RunId:
    """Starts hashing at once; :meth:`value` waits for the digests and combines them."""

    def __init__(self, *, incident: Path, policies: Sequence[Path], source: AccountsSource) -> None:
        parts = [("incident", incident), *(("policy", p) for p in policies),
                 *(("subscriptions", p) for p in source.subscriptions),
                 *(("sales", p) for p in source.sales)]
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="run-id")
        self._parts: list[tuple[str, Future[str]]] = [
            (role, self._pool.submit(file_digest, path)) for role, path in parts]
        self._pool.shutdown(wait=False)

    def value(self) -> str:
        combined = hashlib.blake2b(digest_size=8)
        for role, future in self._parts:
            combined.update(f"{role}:{future.result()}\n".encode())
        return combined.hexdigest()


def run_id(*, incident: Path, policies: Sequence[Path], source: AccountsSource) -> str:
    return RunId(incident=incident, policies=policies, source=source).value()


class UrlRunId:
    """A run id for inputs at URLs: the incident and policy files by content, the data by URL.

    Object storage is not read twice just to hash it; a run over URLs is reproducible as long
    as the objects behind them do not change (use versioned or dated paths).
    """

    def __init__(self, *, incident: Path, policies: Sequence[Path], urls: Sequence[str]) -> None:
        self.parts = [("incident", file_digest(incident)),
                      *(("policy", file_digest(p)) for p in policies),
                      *(("url", u) for u in urls if u)]

    def value(self) -> str:
        combined = hashlib.blake2b(digest_size=8)
        for role, value in self.parts:
            combined.update(f"{role}:{value}\n".encode())
        return combined.hexdigest()


def start_run_id(*, incident: Path, policies: Sequence[Path], source: Any,
                 urls: Sequence[str]) -> RunId | UrlRunId:
    """The run id of ``source``: local files by content (hashing starts now), else the data by
    the ``urls`` it was given as."""
    if isinstance(source, AccountsSource):
        return RunId(incident=incident, policies=policies, source=source)
    return UrlRunId(incident=incident, policies=policies, urls=urls)
