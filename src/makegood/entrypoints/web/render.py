"""Rendering pages: one Jinja2 environment per language, with the catalogue installed and the
filters pages share (local time, money, durations)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from makegood.domain import names, rule_text
from makegood.domain.money import format_amount, format_quantity
from makegood.domain.windows import format_duration
from makegood.entrypoints.web import i18n, words

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
SEOUL = ZoneInfo("Asia/Seoul")


def local(value: datetime | None, tz: ZoneInfo | str | None = None) -> str:
    """``2022-10-15 15:30 KST``: an instant in the incident's zone (Seoul by default)."""
    if value is None:
        return ""
    zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or SEOUL)
    shown = value.astimezone(zone)
    return shown.strftime("%Y-%m-%d %H:%M ") + (shown.tzname() or "")


def money(value: Decimal | str | int | None) -> str:
    if value is None or value == "":
        return ""
    return format_amount(Decimal(str(value)))


def jsontext(value: Any) -> str:
    """A stored JSON value as readable text (Korean as it is, not escaped)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def quantity(value: Decimal | str | int, unit: str) -> str:
    """``3 days``, ``7,550 KRW``, ``1 emoticon-pack-3``."""
    return format_quantity(Decimal(str(value)), unit)


def duration(value: timedelta | int | float) -> str:
    seconds = value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    return format_duration(seconds)


def duration_ko(value: timedelta | int | float) -> str:
    """``127시간 30분``, ``45초``: hours and minutes, as outages are reported, in Korean."""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return f"{seconds}초"
    hours, rest = divmod(seconds // 60, 60)
    parts = ([f"{hours:,}시간"] if hours else []) + ([f"{rest}분"] if rest else [])
    return " ".join(parts)


@cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True,
                      undefined=StrictUndefined)
    env.install_gettext_translations(i18n.gettext_for(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local"] = local
    env.filters["money"] = money
    env.filters["duration"] = duration_ko if lang == "ko" else duration
    env.filters["quantity"] = quantity
    env.filters["jsontext"] = jsontext
    env.globals["words"] = words
    env.globals["rule_words"] = lambda rule, policy=None: rule_text.describe(
        rule, lang, policy.currency if policy is not None else "")
    env.globals["policy_words"] = lambda policy: rule_text.policy_lines(policy, lang)
    env.filters["service"] = lambda service: names.service_name(str(service), lang)
    env.filters["skip_reason"] = lambda reason: skip_reason(str(reason), lang)
    return env


def skip_reason(reason: str, lang: str) -> str:
    """A skipped step's reason in the reader's words: ``장애 범위: 카카오톡 채널(biz_channel)
    중단``; a reason it does not know is shown as the worker wrote it."""
    translate = i18n.gettext_for(lang).gettext
    prefix, suffix = "blast radius: ", " down"
    if reason.startswith(prefix) and reason.endswith(suffix):
        ids = [s.strip() for s in reason[len(prefix):-len(suffix)].split(",") if s.strip()]
        gap = "" if lang == "ko" else " "
        named = [f"{names.service_name(i, lang)}{gap}({i})" if names.service_name(i, lang) != i
                 else i for i in ids]
        return translate(words.SKIP_REASONS["blast radius"]).format(services=", ".join(named))
    if reason == "circuit open":
        return translate(words.SKIP_REASONS["circuit open"])
    return reason


def gettext(request: Request) -> Any:
    """``_`` for messages made in Python (field errors), in the request's language."""
    return i18n.gettext_for(request.state.lang).gettext


def page(request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    lang: str = request.state.lang
    html = environment(lang).get_template(template).render(
        lang=lang, csrf=request.state.csrf, here=request.url.path,
        other_lang="en" if lang == "ko" else "ko", staff=getattr(request.state, "staff", None),
        **values)
    return HTMLResponse(html, status_code=status)


ERROR_TITLES = {
    403: "You cannot do this",
    404: "Not found",
    409: "Not possible now",
    413: "The form is too large",
    422: "Check what you entered",
    429: "Too many requests",
}


def error_page(request: Request, status: int, kind: str, detail: str) -> HTMLResponse:
    """An error as a page in the reader's language (the technical detail below, in English)."""
    if not hasattr(request.state, "csrf"):
        request.state.csrf = ""
    if not hasattr(request.state, "lang"):
        request.state.lang = i18n.DEFAULT
    return page(request, "error.html", status=status, code=status, kind=kind, detail=detail)
