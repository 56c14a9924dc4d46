"""Channel adapters against real servers on loopback: SMTP (aiosmtpd) and an HTTP provider."""

from __future__ import annotations

import json

from tests.notify_servers import HttpSink, SmtpSink, free_port

from makegood.adapters.notify.apprise import AppriseSender
from makegood.adapters.notify.http_sms import HttpProviderSettings, HttpSender
from makegood.adapters.notify.smtp import SmtpSender, SmtpSettings
from makegood.adapters.notify.webhook import HEADER, WebhookSender, verify
from makegood.domain.notice_text import render
from makegood.domain.notices import DeliveryStatus, NoticeKind

MESSAGE = render(NoticeKind.CLAIM_RECEIVED, "ko", {
    "title": "판교 데이터센터 화재", "claim_id": "c1", "service": "daum_mail",
    "timezone": "Asia/Seoul"})


def _smtp(port: int) -> SmtpSender:
    return SmtpSender(SmtpSettings(port=port, timeout=3, message_id_domain="test.invalid"))


def test_smtp_delivers_korean_text_and_html_with_message_id_from_the_key(smtp: SmtpSink) -> None:
    sender = _smtp(smtp.port)
    result = sender.send(address="kim@example.com", message=MESSAGE, key="k1", facts={})
    sender.close()
    assert result.status is DeliveryStatus.DELIVERED
    assert result.provider_id == "<k1@test.invalid>"
    assert smtp.received == [{"to": "kim@example.com", "message_id": "<k1@test.invalid>",
                              "subject": MESSAGE.subject}]
    assert "피해 접수 완료" in MESSAGE.subject


def test_smtp_refused_recipient_is_a_permanent_failure(smtp: SmtpSink) -> None:
    sender = _smtp(smtp.port)
    result = sender.send(address="refuse@example.com", message=MESSAGE, key="k2", facts={})
    # the connection stays usable for the next recipient
    after = sender.send(address="lee@example.com", message=MESSAGE, key="k3", facts={})
    sender.close()
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert "550" in result.detail
    assert after.status is DeliveryStatus.DELIVERED


def test_smtp_4xx_reply_is_a_temporary_failure(smtp: SmtpSink) -> None:
    sender = _smtp(smtp.port)
    result = sender.send(address="busy@example.com", message=MESSAGE, key="k4", facts={})
    sender.close()
    assert result.status is DeliveryStatus.TEMPORARY_FAILURE
    assert "451" in result.detail


def test_smtp_server_that_disappears_is_a_technical_failure_and_reconnects_when_back(
        smtp: SmtpSink) -> None:
    sender = _smtp(smtp.port)
    assert sender.send(address="a@example.com", message=MESSAGE, key="k5",
                       facts={}).status is DeliveryStatus.DELIVERED
    smtp.stop()
    gone = sender.send(address="b@example.com", message=MESSAGE, key="k6", facts={})
    assert gone.status is DeliveryStatus.TECHNICAL_FAILURE
    smtp.restart()
    back = sender.send(address="b@example.com", message=MESSAGE, key="k6", facts={})
    sender.close()
    assert back.status is DeliveryStatus.DELIVERED
    assert [m["to"] for m in smtp.received] == ["a@example.com", "b@example.com"]


def test_smtp_nobody_listening_is_a_technical_failure() -> None:
    sender = _smtp(free_port())
    result = sender.send(address="a@example.com", message=MESSAGE, key="k7", facts={})
    assert result.status is DeliveryStatus.TECHNICAL_FAILURE


def _sms(sink: HttpSink, **kw: object) -> HttpSender:
    return HttpSender(HttpProviderSettings(url=f"{sink.url}/sms",
                                           status_url=f"{sink.url}/status", timeout=2,
                                           **kw))  # type: ignore[arg-type]


def test_sms_provider_gets_the_short_text_and_the_idempotency_key(http: HttpSink) -> None:
    sender = _sms(http)
    result = sender.send(address="+821012345678", message=MESSAGE, key="s1", facts={})
    again = sender.send(address="+821012345678", message=MESSAGE, key="s1", facts={})
    sender.close()
    assert result.status is DeliveryStatus.DELIVERED
    assert again.status is DeliveryStatus.DELIVERED
    assert list(http.sent) == ["s1"]  # the retry was recognised: one SMS
    assert http.sent["s1"]["body"] == {"to": "+821012345678", "text": MESSAGE.short,
                                       "reference": "s1"}
    assert len(MESSAGE.short) <= 140


def test_sms_provider_5xx_is_temporary_and_4xx_is_permanent(http: HttpSink) -> None:
    sender = _sms(http)
    http.behaviour.down = True
    down = sender.send(address="+821012345678", message=MESSAGE, key="s2", facts={})
    http.behaviour.down = False
    bad = sender.send(address="+82bad", message=MESSAGE, key="s3", facts={})
    sender.close()
    assert down.status is DeliveryStatus.TEMPORARY_FAILURE
    assert bad.status is DeliveryStatus.PERMANENT_FAILURE


def test_sms_slow_provider_times_out_as_a_technical_failure(http: HttpSink) -> None:
    http.behaviour.slow = 1.0
    sender = HttpSender(HttpProviderSettings(url=f"{http.url}/sms", timeout=0.3))
    result = sender.send(address="+821012345678", message=MESSAGE, key="s4", facts={})
    sender.close()
    assert result.status is DeliveryStatus.TECHNICAL_FAILURE


def test_sms_accepted_waits_for_the_delivery_receipt(http: HttpSink) -> None:
    http.behaviour.accept_then_receipt = 0.3
    sender = _sms(http, poll_interval=0.1, receipt_timeout=3.0)
    result = sender.send(address="+821012345678", message=MESSAGE, key="s5", facts={})
    sender.close()
    assert result.status is DeliveryStatus.DELIVERED
    assert result.provider_id == "s5"


def test_sms_without_a_receipt_in_time_is_a_temporary_failure(http: HttpSink) -> None:
    http.behaviour.accept_then_receipt = 60
    sender = _sms(http, poll_interval=0.1, receipt_timeout=0.4)
    result = sender.send(address="+821012345678", message=MESSAGE, key="s6", facts={})
    sender.close()
    assert result.status is DeliveryStatus.TEMPORARY_FAILURE
    assert "no delivery receipt" in result.detail


def test_webhook_is_signed_over_timestamp_and_body(http: HttpSink) -> None:
    sender = WebhookSender(secret="s3cret")
    result = sender.send(address=f"{http.url}/hook", message=MESSAGE, key="w1",
                         facts={"kind": "claim_received", "account_id": "A1"})
    sender.close()
    assert result.status is DeliveryStatus.DELIVERED
    request = http.raw[0]
    header = request["headers"][HEADER]
    assert verify("s3cret", header, request["body"])
    assert not verify("other", header, request["body"])
    assert not verify("s3cret", header, request["body"] + b" ")
    assert json.loads(request["body"])["account_id"] == "A1"


def test_webhook_signature_older_than_the_tolerance_is_refused() -> None:
    from makegood.adapters.notify.webhook import sign

    header = sign("k", b"{}", 1_000)
    assert verify("k", header, b"{}", now=1_100)
    assert not verify("k", header, b"{}", now=1_000 + 301)


def test_apprise_json_url_reaches_the_local_server(http: HttpSink) -> None:
    sender = AppriseSender()
    result = sender.send(address=f"json://127.0.0.1:{http.port}/push", message=MESSAGE,
                         key="p1", facts={})
    assert result.status is DeliveryStatus.DELIVERED
    assert http.raw[0]["path"] == "/push"
    assert json.loads(http.raw[0]["body"])["message"] == MESSAGE.short


def test_built_email_reads_back_as_text_and_html_in_korean() -> None:
    import email
    import email.policy

    raw = _smtp(25).build(address="kim@example.com", message=MESSAGE, key="k9")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Message-ID"] == "<k9@test.invalid>"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == MESSAGE.text
    assert html.get_content() == MESSAGE.html


def test_an_address_with_a_line_break_is_refused_before_sending(smtp: SmtpSink) -> None:
    sender = _smtp(smtp.port)
    result = sender.send(address="a@example.com\r\nBcc: x@evil.com", message=MESSAGE,
                         key="k10", facts={})
    sender.close()
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert smtp.received == []
