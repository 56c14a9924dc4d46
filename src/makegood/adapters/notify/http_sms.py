"""SMS (and push, and AlimTalk) through a generic JSON-over-HTTP provider.

Most SMS and push gateways take a JSON ``POST`` and answer with a message id and a status. This
adapter speaks that common shape and is configured, not subclassed:

- request: ``POST {url}`` with ``{"to": address, "text": short text, "reference": key,
  "sender": sender}`` (field names configurable), headers ``Authorization: Bearer {token}``
  when a token is set, and ``Idempotency-Key: {key}`` (the same on every retry of a notice on
  this channel, so a provider that honours it sends once);
- response: ``2xx`` with ``{"id": ..., "status": "delivered" | "accepted" | "failed"}``;
  ``accepted`` means "queued": the adapter then polls ``GET {status_url}/{id}`` until the
  delivery receipt says ``delivered`` or ``failed``, or ``receipt_timeout`` passes (a temporary
  failure: the worker retries or falls back);
- ``4xx`` (other than 408 and 429) is a permanent failure (a bad number); ``408``, ``429`` and
  ``5xx`` are temporary; no answer at all is a technical failure.

Another provider with another shape is a new module with the same ``send`` (docs/notices.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from makegood.domain.notice_text import Message
from makegood.domain.notices import DeliveryStatus, SendResult


@dataclass(frozen=True, slots=True)
class HttpProviderSettings:
    url: str
    status_url: str | None = None
    token: str | None = None
    sender: str | None = None
    to_field: str = "to"
    text_field: str = "text"
    timeout: float = 10.0
    receipt_timeout: float = 30.0
    poll_interval: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)


class HttpSender:
    def __init__(self, settings: HttpProviderSettings, name: str = "http") -> None:
        self.settings = settings
        self.name = name
        headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
        self._http = httpx.Client(timeout=settings.timeout, headers=headers,
                                  limits=httpx.Limits(max_connections=32,
                                                      max_keepalive_connections=32))

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        s = self.settings
        body: dict[str, Any] = {**s.extra, s.to_field: address, s.text_field: message.short,
                                "reference": key}
        if s.sender:
            body["sender"] = s.sender
        try:
            response = self._http.post(s.url, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            return SendResult(DeliveryStatus.TECHNICAL_FAILURE,
                              f"{self.name}: {type(exc).__name__}: {exc}")
        result = classify(response, self.name)
        if result.status is not DeliveryStatus.SENDING:
            return result
        return self._await_receipt(result.provider_id)

    def _await_receipt(self, provider_id: str | None) -> SendResult:
        s = self.settings
        if not s.status_url or provider_id is None:
            return SendResult(DeliveryStatus.DELIVERED, "accepted (no receipts configured)",
                              provider_id)
        deadline = time.monotonic() + s.receipt_timeout
        while time.monotonic() < deadline:
            time.sleep(s.poll_interval)
            try:
                response = self._http.get(f"{s.status_url.rstrip('/')}/{provider_id}")
            except httpx.HTTPError:
                continue
            result = classify(response, self.name)
            if result.status is not DeliveryStatus.SENDING:
                return result
        return SendResult(DeliveryStatus.TEMPORARY_FAILURE,
                          f"{self.name}: no delivery receipt within {s.receipt_timeout:g} s",
                          provider_id)

    def close(self) -> None:
        self._http.close()


def classify(response: httpx.Response, name: str) -> SendResult:
    """A provider's answer as a delivery status (``sending`` while it is only queued)."""
    code = response.status_code
    if code in (408, 429) or code >= 500:
        return SendResult(DeliveryStatus.TEMPORARY_FAILURE, f"{name}: HTTP {code}")
    if code >= 400:
        return SendResult(DeliveryStatus.PERMANENT_FAILURE,
                          f"{name}: HTTP {code} {response.text[:200]}")
    try:
        data = response.json()
    except ValueError:
        data = {}
    provider_id = str(data["id"]) if isinstance(data, dict) and "id" in data else None
    status = str(data.get("status", "delivered")) if isinstance(data, dict) else "delivered"
    if status in ("accepted", "queued", "sent"):
        return SendResult(DeliveryStatus.SENDING, f"{name}: {status}", provider_id)
    if status in ("failed", "undeliverable", "rejected"):
        return SendResult(DeliveryStatus.PERMANENT_FAILURE,
                          f"{name}: {status} {data.get('reason', '')}".strip(), provider_id)
    return SendResult(DeliveryStatus.DELIVERED, f"{name}: {status}", provider_id)
