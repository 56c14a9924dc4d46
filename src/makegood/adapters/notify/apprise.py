"""The long tail through ``apprise``: the recipient's address is an apprise URL (``ntfy://``,
``tgram://``, ``json://`` and about a hundred more), kept as the account's push id.

apprise reports only success or failure, so a failure is a technical failure (retried, then the
chain moves on). Import is lazy: apprise is an optional extra (``pip install makegood[apprise]``).
"""

from __future__ import annotations

from typing import Any

from makegood.domain.notice_text import Message
from makegood.domain.notices import DeliveryStatus, SendResult


class AppriseSender:
    def __init__(self, name: str = "apprise") -> None:
        try:
            import apprise
        except ImportError:
            raise RuntimeError("the apprise channel needs the apprise package: "
                               "pip install 'makegood[apprise]'") from None
        self._apprise: Any = apprise
        self.name = name

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        target = self._apprise.Apprise()
        if not target.add(address):
            return SendResult(DeliveryStatus.PERMANENT_FAILURE,
                              f"{self.name}: not an apprise URL")
        if target.notify(body=message.short, title=message.subject):
            return SendResult(DeliveryStatus.DELIVERED, f"{self.name}: sent")
        return SendResult(DeliveryStatus.TECHNICAL_FAILURE, f"{self.name}: not sent")

    def close(self) -> None:
        return None
