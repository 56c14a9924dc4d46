"""The notify configuration file (TOML): channels and their providers, fallback chains, the
blast-radius map, retries, throttles and circuit breakers, worker settings.

Secrets are never in the file: ``password_env``, ``token_env`` and ``secret_env`` name the
environment variables that hold them. The 2022 case ships as ``kakao-2022.toml`` beside this
module (``makegood notify ... --config`` defaults to it). docs/notices.md describes every key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from makegood.adapters.notify import Sender
from makegood.domain.errors import InputError
from makegood.domain.notices import (
    BlastRadius,
    Channel,
    NoticeKind,
    Retry,
    Routing,
    parse_chain,
)

SHIPPED = Path(__file__).with_name("kakao-2022.toml")


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    channel: Channel
    adapter: str
    options: dict[str, Any]
    rate_per_second: float = 0.0
    burst: float = 50.0
    breaker_threshold: int = 5
    breaker_cool_down: timedelta = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    file: str
    channels: dict[Channel, ChannelConfig]
    routing: Routing
    blast_radius: BlastRadius
    retry: Retry = field(default_factory=Retry)
    batch: int = 200
    lease: timedelta = timedelta(minutes=5)
    threads: int = 8
    blocked_wait: timedelta = timedelta(minutes=15)
    base_dir: Path = field(default=Path("."))

    def sender(self, channel: Channel) -> Sender:
        return build_sender(self.channels[channel], self)


def _seconds(table: dict[str, Any], key: str, default: float, where: str) -> timedelta:
    value = table.get(key, default)
    if not isinstance(value, int | float) or value < 0:
        raise InputError(f"{value!r} is not a number of seconds", field=f"{where}.{key}")
    return timedelta(seconds=value)


def _int(table: dict[str, Any], key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or value < 1:
        raise InputError(f"{value!r} is not a positive whole number", field=f"{where}.{key}")
    return value


def _services(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("must be a list of service names", field=where)
    return tuple(value)


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> NotifyConfig:
    """Read and check a notify configuration; errors name the file and the key."""
    file = path or SHIPPED
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("the notify configuration file does not exist", file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=str(file)) from None
    for key, value in (overrides or {}).items():
        data[key] = value
    try:
        return _parse(data, file)
    except InputError as exc:
        raise exc.located(file=str(file)) from None


def _parse(data: dict[str, Any], file: Path) -> NotifyConfig:
    channels: dict[Channel, ChannelConfig] = {}
    for name, table in (data.get("channels") or {}).items():
        where = f"channels.{name}"
        try:
            channel = Channel(name)
        except ValueError:
            raise InputError(f"unknown channel {name!r}; known: "
                             f"{', '.join(c.value for c in Channel)}", field=where) from None
        if not isinstance(table, dict) or "adapter" not in table:
            raise InputError("needs an adapter (smtp, http, webhook, apprise, file)", field=where)
        adapter = str(table["adapter"])
        if adapter not in ("smtp", "http", "webhook", "apprise", "file"):
            raise InputError(f"unknown adapter {adapter!r}", field=f"{where}.adapter")
        options = {k: v for k, v in table.items() if k not in (
            "adapter", "rate_per_second", "burst", "breaker_threshold",
            "breaker_cool_down_seconds")}
        channels[channel] = ChannelConfig(
            channel=channel, adapter=adapter, options=options,
            rate_per_second=float(table.get("rate_per_second", 0)),
            burst=float(table.get("burst", 50)),
            breaker_threshold=_int(table, "breaker_threshold", 5, where),
            breaker_cool_down=_seconds(table, "breaker_cool_down_seconds", 30, where))
    routing_table = data.get("routing") or {"default": ["push", "sms", "email"]}
    chains = {}
    for kind, chain in routing_table.items():
        if kind != "default" and kind not in {k.value for k in NoticeKind}:
            raise InputError(f"unknown notice kind {kind!r}", field=f"routing.{kind}")
        if not isinstance(chain, list):
            raise InputError("must be a list of channels", field=f"routing.{kind}")
        parsed = parse_chain(chain, field_name=f"routing.{kind}")
        for c in parsed:
            if c not in channels:
                raise InputError(f"channel {c.value!r} is not configured under [channels]",
                                 field=f"routing.{kind}")
        chains[kind] = parsed
    radius = data.get("blast_radius") or {}
    blast = BlastRadius(
        channels={k: _services(v, f"blast_radius.channels.{k}")
                  for k, v in (radius.get("channels") or {}).items()},
        email_domains={k.lower(): _services(v, f"blast_radius.email_domains.{k}")
                       for k, v in (radius.get("email_domains") or {}).items()})
    r = data.get("retry") or {}
    retry = Retry(base=_seconds(r, "base_seconds", 2, "retry"),
                  cap=_seconds(r, "cap_seconds", 300, "retry"),
                  floor=_seconds(r, "floor_seconds", 0.2, "retry"),
                  max_tries=_int(r, "max_tries", 5, "retry"),
                  step_timeout=_seconds(r, "step_timeout_seconds", 1800, "retry"))
    w = data.get("worker") or {}
    return NotifyConfig(
        file=str(file), channels=channels, routing=Routing(chains), blast_radius=blast,
        retry=retry, batch=_int(w, "batch", 200, "worker"),
        lease=_seconds(w, "lease_seconds", 300, "worker"),
        threads=_int(w, "threads", 8, "worker"),
        blocked_wait=_seconds(w, "blocked_wait_seconds", 900, "worker"),
        base_dir=Path(".") if file == SHIPPED else file.parent)


def _secret(options: dict[str, Any], key: str, where: str) -> str | None:
    env = options.get(f"{key}_env")
    if env is None:
        return None
    value = os.environ.get(str(env))
    if not value:
        raise InputError(f"environment variable {env} is not set", field=f"{where}.{key}_env")
    return value


def build_sender(cfg: ChannelConfig, config: NotifyConfig) -> Sender:
    """The adapter a channel's configuration names, with its secrets from the environment."""
    o = cfg.options
    where = f"channels.{cfg.channel.value}"
    name = str(o.get("provider", cfg.adapter))
    if cfg.adapter == "smtp":
        from makegood.adapters.notify.smtp import SmtpSender, SmtpSettings

        return SmtpSender(SmtpSettings(
            host=str(o.get("host", "127.0.0.1")), port=int(o.get("port", 25)),
            security=str(o.get("security", "none")), username=o.get("username"),
            password=_secret(o, "password", where), sender=str(o.get("sender", "makegood "
                                                                   "<notices@localhost>")),
            message_id_domain=str(o.get("message_id_domain", "makegood.invalid")),
            timeout=float(o.get("timeout_seconds", 10)),
            verify_tls=bool(o.get("verify_tls", True))), name=name)
    if cfg.adapter == "http":
        from makegood.adapters.notify.http_sms import HttpProviderSettings, HttpSender

        if "url" not in o:
            raise InputError("needs a url", field=f"{where}.url")
        return HttpSender(HttpProviderSettings(
            url=str(o["url"]), status_url=o.get("status_url"), token=_secret(o, "token", where),
            sender=o.get("sender"), to_field=str(o.get("to_field", "to")),
            text_field=str(o.get("text_field", "text")),
            timeout=float(o.get("timeout_seconds", 10)),
            receipt_timeout=float(o.get("receipt_timeout_seconds", 30)),
            poll_interval=float(o.get("poll_interval_seconds", 0.5)),
            extra=dict(o.get("extra", {}))), name=name)
    if cfg.adapter == "webhook":
        from makegood.adapters.notify.webhook import WebhookSender

        secret = _secret(o, "secret", where)
        if not secret:
            raise InputError("a webhook channel needs secret_env", field=f"{where}.secret_env")
        return WebhookSender(secret=secret, timeout=float(o.get("timeout_seconds", 10)),
                             name=name)
    if cfg.adapter == "apprise":
        from makegood.adapters.notify.apprise import AppriseSender

        return AppriseSender(name=name)
    from makegood.adapters.notify.file import FileSender

    path = Path(str(o.get("path", f"notices-{cfg.channel.value}.jsonl")))
    return FileSender(path if path.is_absolute() else config.base_dir / path,
                      name=f"file:{cfg.channel.value}")
