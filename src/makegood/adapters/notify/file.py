"""A channel that appends each message to a JSON Lines file: for drills, demos and dry runs
(as Django's file e-mail backend). Every line is one delivered message; the file is flushed
after each line and synced to disk when the channel closes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from makegood.domain.notice_text import Message
from makegood.domain.notices import DeliveryStatus, SendResult


class FileSender:
    def __init__(self, path: Path, name: str = "file") -> None:
        self.path = path
        self.name = name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        line = json.dumps({"to": address, "key": key, "subject": message.subject,
                           "short": message.short, "text": message.text},
                          ensure_ascii=False)
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
        return SendResult(DeliveryStatus.DELIVERED, f"written to {self.path.name}", key)

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
