"""Email over SMTP with the standard library's client: plain, STARTTLS or implicit TLS, with
optional login. One connection per worker thread, kept open between messages.

SMTP replies map onto delivery statuses: 2xx after DATA is the receipt (the server took
responsibility for the message); 4xx is a temporary failure; 5xx on a recipient (550 no such
user) is permanent; a refused connection, a timeout or a server that hangs up mid-transaction is
a technical failure, and the connection is opened anew on the next send. The Message-ID is
derived from the notice's key, so a message sent again after a crash is the same message to
the recipient's mail client.
"""

from __future__ import annotations

import base64
import contextlib
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, parseaddr

from makegood.domain.notice_text import Message
from makegood.domain.notices import DeliveryStatus, SendResult

# One address, no display name, no line breaks (which would let a header in).
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = None
    sender: str = "makegood <notices@localhost>"
    message_id_domain: str = "makegood.invalid"
    timeout: float = 10.0
    verify_tls: bool = True


class SmtpSender:
    def __init__(self, settings: SmtpSettings, name: str = "smtp") -> None:
        self.settings = settings
        self.name = name
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if not s.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                client.starttls(context=context)
        if s.username:
            client.login(s.username, s.password or "")
        with self._lock:
            self._all.append(client)
        return client

    def _client(self) -> smtplib.SMTP:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect()
            self._local.client = client
        return client

    def _drop(self) -> None:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    def build(self, *, address: str, message: Message, key: str) -> bytes:
        """The message as RFC 5322 bytes: multipart/alternative, plain text and HTML, both
        UTF-8 in base64; the subject encoded per RFC 2047. Written directly: the standard
        library's EmailMessage takes several milliseconds a message to build the same bytes."""
        boundary = f"=_mg_{key[:24]}"
        headers = (
            f"From: {self.settings.sender}\r\n"
            f"To: {address}\r\n"
            f"Subject: {Header(message.subject, 'utf-8').encode()}\r\n"
            f"Date: {formatdate(localtime=False, usegmt=True)}\r\n"
            f"Message-ID: <{key}@{self.settings.message_id_domain}>\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n')
        parts = [headers.encode("ascii")]
        for subtype, body in (("plain", message.text), ("html", message.html)):
            parts.append(
                f"--{boundary}\r\nContent-Type: text/{subtype}; charset=\"utf-8\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii"))
            parts.append(base64.encodebytes(body.encode("utf-8")).replace(b"\n", b"\r\n"))
        parts.append(f"--{boundary}--\r\n".encode("ascii"))
        return b"".join(parts)

    def send(self, *, address: str, message: Message, key: str,
             facts: dict[str, object]) -> SendResult:
        if not _ADDRESS.match(address):
            return SendResult(DeliveryStatus.PERMANENT_FAILURE, f"not an e-mail address: "
                                                                f"{address!r}")
        data = self.build(address=address, message=message, key=key)
        message_id = f"<{key}@{self.settings.message_id_domain}>"
        sender = parseaddr(self.settings.sender)[1] or self.settings.sender
        try:
            client = self._client()
            refused = client.sendmail(sender, [address], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return _reply(code, reply, "recipient refused")
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # the server is closing the channel: it is going away
                self._drop()
                return SendResult(DeliveryStatus.TECHNICAL_FAILURE,
                                  f"server closing: 421 {exc.smtp_error!r}")
            self._reset()
            return _reply(exc.smtp_code, exc.smtp_error, "server refused")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return SendResult(DeliveryStatus.TECHNICAL_FAILURE,
                              f"SMTP {self.settings.host}:{self.settings.port}: "
                              f"{type(exc).__name__}: {exc}")
        if refused:
            code, reply = next(iter(refused.values()))
            return _reply(code, reply, "recipient refused")
        return SendResult(DeliveryStatus.DELIVERED, "250 accepted", message_id)

    def _reset(self) -> None:
        client: smtplib.SMTP | None = getattr(self._local, "client", None)
        if client is None:
            return
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                with contextlib.suppress(OSError):
                    client.close()


def _reply(code: int, reply: bytes | str, what: str) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{what}: {code} {text}"
    if 400 <= code < 500:
        return SendResult(DeliveryStatus.TEMPORARY_FAILURE, detail)
    return SendResult(DeliveryStatus.PERMANENT_FAILURE, detail)
