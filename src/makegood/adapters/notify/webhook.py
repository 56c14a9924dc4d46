"""Signed webhooks for business partners: a JSON ``POST`` to the account's URL.

Signed as payment providers sign theirs (Stripe's ``Stripe-Signature``): the header
``Makegood-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the shared
secret. A receiver recomputes the HMAC over the timestamp and the raw body, compares in constant
time and refuses old timestamps (replays): :func:`verify`. ``Idempotency-Key`` carries the
notice's key for this channel, the same on every retry, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from makegood.adapters.notify.http_sms import classify
from makegood.domain.notice_text import Message
from makegood.domain.notices import DeliveryStatus, SendResult

HEADER = "Makegood-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: float = 300.0) -> bool:
    """``True`` when ``header`` signs ``body`` with ``secret`` and is at most ``tolerance``
    seconds old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookSender:
    def __init__(self, *, secret: str, timeout: float = 10.0, name: str = "webhook") -> None:
        if not secret:
            raise ValueError("a webhook secret is required")
        self.secret = secret
        self.name = name
        self._http = httpx.Client(timeout=timeout)

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        body = json.dumps({**facts, "subject": message.subject, "text": message.text},
                          ensure_ascii=False, separators=(",", ":"), default=str).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                   HEADER: sign(self.secret, body, int(time.time()))}
        try:
            response = self._http.post(address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(DeliveryStatus.TECHNICAL_FAILURE,
                              f"{self.name}: {type(exc).__name__}: {exc}")
        result = classify(response, self.name)
        if result.status is DeliveryStatus.SENDING:  # a receiver that queues has received it
            return SendResult(DeliveryStatus.DELIVERED, result.detail, result.provider_id)
        return result

    def close(self) -> None:
        self._http.close()
