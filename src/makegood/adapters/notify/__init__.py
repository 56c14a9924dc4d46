"""Channel adapters: each sends one rendered notice to one address and says what happened.

Every adapter has the same small shape (``name``, ``send``, ``close``) and turns what its
protocol reports into a :class:`~makegood.domain.notices.SendResult`: delivered, a temporary
failure (try again later), a permanent failure (this address will never take it) or a technical
failure (the provider is unreachable or broken). Adding a provider is adding a module here with
that shape and naming it in the notify configuration (docs/notices.md).
"""

from __future__ import annotations

from typing import Protocol

from makegood.domain.notice_text import Message
from makegood.domain.notices import SendResult


class Sender(Protocol):
    """One provider of one channel."""

    name: str

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        """Send ``message`` to ``address``; ``key`` is the same on every retry of this notice
        on this channel (the provider's idempotency key, the e-mail's Message-ID)."""
        ...

    def close(self) -> None: ...
