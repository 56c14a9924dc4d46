"""Real servers on loopback for the notice tests: an SMTP server (aiosmtpd) and an HTTP
provider (SMS, push, webhooks), each recording what it received and able to refuse, fail
temporarily, answer slowly, flap, or disappear.

The HTTP provider honours ``Idempotency-Key`` as real SMS APIs do: a repeated key gets the first
answer and sends nothing again, and ``sent`` counts what reached people; ``raw`` counts every
request.
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser, BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fraction(key: str, salt: str) -> float:
    return int(hashlib.sha256(f"{salt}|{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


@dataclass
class SmtpHandler:
    """Recipients containing ``refuse`` get 550, ``busy`` get 451 (each time), ``flaky`` get
    451 on their first try only."""

    received: list[dict[str, str]] = field(default_factory=list)
    bodies: list[dict[str, str]] = field(default_factory=list)  # to, subject, text, html
    tries: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            self.tries[address] += 1
            tries = self.tries[address]
        if "refuse" in address:
            return "550 5.1.1 no such user here"
        if "busy" in address or ("flaky" in address and tries == 1):
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
        full = BytesParser(policy=email.policy.default).parsebytes(raw)
        parts = {"text": "", "html": ""}
        for name, subtype in (("text", "plain"), ("html", "html")):
            part = full.get_body(preferencelist=(subtype,))  # type: ignore[attr-defined]
            if part is not None:
                parts[name] = str(part.get_content())
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append({"to": rcpt, "message_id": str(message["Message-ID"]),
                                      "subject": str(message["Subject"])})
                self.bodies.append({"to": rcpt, "subject": str(message["Subject"]), **parts})
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.handler = SmtpHandler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False

    def restart(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.running = True

    @property
    def received(self) -> list[dict[str, str]]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def messages(self) -> list[dict[str, str]]:
        """What each recipient received: subject, plain text and HTML."""
        with self.handler.lock:
            return list(self.handler.bodies)


@dataclass
class HttpBehaviour:
    fail_rate: float = 0.0  # share of first tries answered 503 (deterministic per key)
    slow: float = 0.0  # seconds before answering
    flapping: bool = False  # every other request 503
    down: bool = False  # 503 to everything
    accept_then_receipt: float | None = None  # answer "accepted"; delivered after N seconds
    salt: str = "x"


class HttpSink:
    """An HTTP provider. ``POST /sms`` (or any path): a send; numbers or URLs with ``bad``
    get 400; ``GET /status/{id}``: the delivery receipt."""

    def __init__(self) -> None:
        self.behaviour = HttpBehaviour()
        self.raw: list[dict[str, Any]] = []
        self.sent: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> what was sent
        self.tries: Counter[str] = Counter()
        self.accepted_at: dict[str, float] = {}
        self.lock = threading.Lock()
        self.count = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                message_id = self.path.rsplit("/", 1)[-1]
                with sink.lock:
                    at = sink.accepted_at.get(message_id)
                wait = sink.behaviour.accept_then_receipt or 0
                if at is None:
                    self._answer(404, {"error": "unknown id"})
                elif time.monotonic() - at >= wait:
                    self._answer(200, {"id": message_id, "status": "delivered"})
                else:
                    self._answer(200, {"id": message_id, "status": "accepted"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                b = sink.behaviour
                if b.slow:
                    time.sleep(b.slow)
                with sink.lock:
                    sink.count += 1
                    sink.tries[key] += 1
                    tries = sink.tries[key]
                    sink.raw.append({"path": self.path, "key": key, "body": body,
                                     "headers": dict(self.headers)})
                    flap = b.flapping and sink.count % 2 == 0
                    if key in sink.sent:  # a retry of a send that went through: same answer
                        self._answer(200, {"id": key, "status": "delivered", "replayed": True})
                        return
                if b.down or flap or (tries == 1 and _fraction(key, b.salt) < b.fail_rate):
                    self._answer(503, {"error": "try later"})
                    return
                try:
                    to = str(json.loads(body or b"{}").get("to", ""))
                except (ValueError, AttributeError):
                    to = ""
                if "bad" in to or "bad" in self.path:
                    self._answer(400, {"error": "invalid recipient"})
                    return
                with sink.lock:
                    sink.sent[key] = {"path": self.path, "body": json.loads(body or b"{}")}
                    if b.accept_then_receipt is not None:
                        sink.accepted_at[key] = time.monotonic()
                        self._answer(202, {"id": key, "status": "accepted"})
                        return
                self._answer(200, {"id": key, "status": "delivered"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
