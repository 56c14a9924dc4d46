"""The claimant portal's public pages: the incident notice, its timeline chart, and "check my
compensation" (an account id and the last four digits of the phone number on file)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from makegood.domain.errors import InputError, NotFound
from makegood.domain.incident import Incident
from makegood.domain.policy import Policy
from makegood.domain.records import IncidentRecord
from makegood.domain.rules import Goodwill, LossBrackets
from makegood.entrypoints.web import deps, i18n
from makegood.entrypoints.web.render import STATIC, gettext, page
from makegood.entrypoints.web.security import WebRoute, form, set_cookie

router = APIRouter(route_class=WebRoute)

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}


@router.get("/", include_in_schema=False)
def home() -> Response:
    return RedirectResponse("/portal", status_code=303)


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise NotFound(f"no static file {name!r}")
    return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix],
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/lang/{code}", include_in_schema=False)
def switch_language(code: str, request: Request) -> Response:
    target = request.query_params.get("next", "/portal")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/portal"
    response = RedirectResponse(target, status_code=303)
    if code in i18n.LANGUAGES:
        set_cookie(response, request, i18n.LANG_COOKIE, code, max_age=365 * 86400)
    return response


@router.get("/portal", include_in_schema=False)
def portal(request: Request) -> Response:
    ctx = deps.ctx_of(request)
    found = deps.incidents(ctx)
    return page(request, "portal/index.html", incidents=found)


@lru_cache(maxsize=16)
def _timeline_svg(incident_id: str, digest: str, incident: Incident) -> bytes:
    from makegood.adapters.charts import render_chart

    return render_chart(incident, ".svg")


@router.get("/portal/incidents/{incident_id}/timeline.svg", include_in_schema=False)
def timeline(incident_id: str, request: Request) -> Response:
    record = deps.incident(deps.ctx_of(request), incident_id)
    digest = hashlib.sha256(repr(record.incident).encode()).hexdigest()
    data = _timeline_svg(incident_id, digest, record.incident)
    # Loaded as an image: its own inline styles need their own (narrow) policy.
    return Response(data, media_type="image/svg+xml", headers={
        "Cache-Control": "public, max-age=300",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


def notice(record: IncidentRecord, policies: list[Policy]) -> dict[str, Any]:
    """What the notice page says, from the incident and the policies."""
    incident = record.incident
    impacts = sorted(incident.impacts, key=lambda i: (i.service, i.feature or "", i.window.start))
    automatic: list[dict[str, Any]] = []
    file_for: list[dict[str, Any]] = []
    covered: set[str] = set()
    goodwill = False
    for policy in policies:
        rules = [r for r in policy.rules if not isinstance(r, LossBrackets)]
        if rules:
            automatic.append({"policy": policy, "rules": rules})
            for rule in rules:
                if isinstance(rule, Goodwill):
                    goodwill = True
                elif rule.when.paid:
                    covered.update(rule.when.services)
        for rule in policy.rules:
            if isinstance(rule, LossBrackets):
                file_for.append({"policy": policy, "rule": rule})
    return {"incident": incident, "record": record, "impacts": impacts, "automatic": automatic,
            "file_for": file_for, "covered": sorted(covered), "goodwill": goodwill,
            "span": incident.span}


@router.get("/portal/incidents/{incident_id}", include_in_schema=False)
def incident_notice(incident_id: str, request: Request) -> Response:
    ctx = deps.ctx_of(request)
    record = deps.incident(ctx, incident_id)
    return page(request, "portal/notice.html", **notice(record, deps.policies_for(ctx, record)))


class GuessLimiter:
    """Wrong answers to "check my compensation": at most ``per_account`` per account id and
    ``per_client`` per address in ``window`` seconds; then the form refuses until they age out.
    Four digits are easy to guess; this keeps guessing slower than asking the operator."""

    def __init__(self, per_account: int = 5, per_client: int = 30, window: float = 900) -> None:
        self.per_account, self.per_client, self.window = per_account, per_client, window
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._fails.get(key, []) if now - t < self.window]
        self._fails[key] = kept
        return kept

    def blocked(self, account: str, client: str) -> int:
        """Seconds until another try is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in ((f"a:{account}", self.per_account), (f"c:{client}", self.per_client)):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    waits.append(int(self.window - (now - recent[0])) + 1)
            return max(waits, default=0)

    def failed(self, account: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"a:{account}", f"c:{client}"):
                self._recent(key, now).append(now)
            if len(self._fails) > 100_000:
                self._fails = {k: v for k, v in self._fails.items() if v and now - v[-1] < self.window}


limiter = GuessLimiter()


@router.get("/portal/check", include_in_schema=False)
def check_form(request: Request) -> Response:
    ctx = deps.ctx_of(request)
    return page(request, "portal/check.html", incidents=deps.incidents(ctx), values={},
                errors={}, result=None)


@router.post("/portal/check", include_in_schema=False)
def check(request: Request) -> Response:
    ctx = deps.ctx_of(request)
    _ = gettext(request)
    data = form(request)
    account = str(data.get("account_id") or "").strip()[:100]
    digits = str(data.get("phone_last4") or "").strip()[:10]
    incident_id = str(data.get("incident_id") or "")[:100]
    values = {"account_id": account, "phone_last4": "", "incident_id": incident_id}
    found = deps.incidents(ctx)
    errors: dict[str, str] = {}
    if not account:
        errors["account_id"] = _("Enter your account id.")
    if not (len(digits) == 4 and digits.isdigit()):
        errors["phone_last4"] = _("Enter the last four digits of your phone number.")
    if incident_id not in {i["id"] for i in found}:
        errors["incident_id"] = _("Choose the incident.")
    if errors:
        return page(request, "portal/check.html", status=422, incidents=found, values=values,
                    errors=errors, result=None)
    who = deps.client(request)
    wait = limiter.blocked(account, who)
    if wait:
        errors["form"] = _("Too many wrong answers. Try again in {minutes} minutes.").format(
            minutes=wait // 60 + 1)
        return page(request, "portal/check.html", status=429, incidents=found, values=values,
                    errors=errors, result=None)
    on_file = deps.phone_last4(ctx, account)
    expected = on_file if on_file is not None else "\0\0\0\0"
    if not hmac.compare_digest(expected.encode(), digits.encode()) or on_file is None:
        limiter.failed(account, who)
        errors["form"] = _("The account id and the digits do not match our records.")
        return page(request, "portal/check.html", status=422, incidents=found, values=values,
                    errors=errors, result=None)
    record = deps.incident(ctx, incident_id)
    policies = {p.id: p for p in deps.policies_for(ctx, record)}
    rows = deps.ledger_rows(record.ledger_path, account)
    why = deps.explanations(ctx, record, account, policies) if rows else {}
    awards = []
    for row in rows or []:
        policy = policies.get(str(row.get("policy_id") or ""))
        rule = None
        if policy is not None:
            try:
                rule = policy.rule(str(row["rule_id"]))
            except InputError:
                rule = None
        award = why.get((str(row.get("policy_id")), str(row["subscription_id"]),
                         str(row["rule_id"])))
        same = award is not None and Decimal(str(row["amount"])) == award.amount
        awards.append({"row": row, "policy": policy, "rule": rule,
                       "explanation": award.explain(request.state.lang) if award and same else ""})
    return page(request, "portal/check.html", incidents=found, values=values, errors={},
                result={"account": account, "awards": awards, "ledger": rows is not None,
                        "record": record})
