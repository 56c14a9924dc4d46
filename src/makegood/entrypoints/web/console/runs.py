"""Compensation runs from the console: start one (policy, accounts, engine) and watch its
progress; read its inputs, summary and totals; download the ledger and the summary; compare two
policies on the same accounts before publishing either.

Accounts are named by a path under the data directory (``MAKEGOOD_DATA_DIR``, the working
directory by default); ledgers are written under ``MAKEGOOD_RUNS_DIR`` (``makegood-runs``);
both are settings of :mod:`makegood.config`.
A run executes in a thread of the server; its progress lives in memory and its result in the
database.
"""

from __future__ import annotations

import threading
import traceback
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from makegood.domain.errors import InputError, MakegoodError, NotFound
from makegood.domain.staff import Permission
from makegood.entrypoints.api.deps import Context
from makegood.entrypoints.web import deps
from makegood.entrypoints.web.render import gettext, page
from makegood.entrypoints.web.security import WebRoute, form

router = APIRouter(route_class=WebRoute)
ENGINES = ("duckdb", "reference")
_progress: dict[str, tuple[int, int]] = {}
_lock = threading.Lock()


def data_dir(ctx: Context) -> Path:
    return ctx.settings.data_dir.resolve()


def runs_dir(ctx: Context) -> Path:
    return ctx.settings.runs_dir.resolve()


def data_path(ctx: Context, text: str, *, field: str) -> Path:
    """A path the operator typed, which must lie under the data directory."""
    root = data_dir(ctx)
    try:
        path = (root / text.strip()).resolve()
        exists = path.exists()
    except (OSError, ValueError):  # a NUL byte, a name too long, a loop of links
        raise InputError("is not a usable path", field=field) from None
    if not text.strip() or (path != root and root not in path.parents):
        raise InputError(f"must be a path under the data directory {root}", field=field)
    if not exists:
        raise InputError(f"{text.strip()!r} does not exist under {root}", field=field)
    return path


def accounts_path(ctx: Context, text: str) -> Path:
    return data_path(ctx, text, field="accounts")


def execute(ctx: Context, *, run_id: str, incident_id: str, policy_id: str, accounts: Path,
            engine: str, progress: Any) -> dict[str, Any]:
    """One compensation run through the compensation use case, as ``makegood compensate``
    runs it; the incident and policy documents are written beside the ledger, so the run's
    inputs stay with it (and its run id is computed from their bytes)."""
    from makegood import bootstrap
    from makegood.adapters.ledger import atomic_path
    from makegood.services import compensation

    folder = runs_dir(ctx) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    incident_doc, policy_doc = deps.documents(ctx, incident_id, policy_id)
    paths = {"incident.toml": incident_doc, f"{policy_id}.toml": policy_doc}
    for name, text in paths.items():
        with atomic_path(folder / name) as tmp:
            tmp.write_text(text, encoding="utf-8")
    report = compensation.run(
        engines=bootstrap.engines(ctx.settings), engine=engine,
        incident=folder / "incident.toml", policies=[folder / f"{policy_id}.toml"],
        accounts=str(accounts), out=folder / "ledger.parquet", calendars=bootstrap.calendars(),
        progress=progress)
    return report.summary


def _work(ctx: Context, run_id: str, incident_id: str, policy_id: str, accounts: Path,
          engine: str) -> None:
    out = runs_dir(ctx) / run_id / "ledger.parquet"

    def progress(done: int, total: int) -> None:
        with _lock:
            _progress[run_id] = (done, total)

    try:
        summary = execute(ctx, run_id=run_id, incident_id=incident_id, policy_id=policy_id,
                          accounts=accounts, engine=engine, progress=progress)
    except MakegoodError as exc:
        deps.finish_run(ctx, run_id, status="failed", summary=None, ledger_path=None,
                        error=str(exc))
    except Exception:  # a run must end recorded, whatever broke
        deps.finish_run(ctx, run_id, status="failed", summary=None, ledger_path=None,
                        error=traceback.format_exc(limit=3).splitlines()[-1])
    else:
        deps.finish_run(ctx, run_id, status="done", summary=_plain(summary),
                        ledger_path=str(out), error=None)
    finally:
        with _lock:
            _progress.pop(run_id, None)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _form_page(request: Request, *, errors: dict[str, str], values: dict[str, str],
               status: int = 200, comparison: list[dict[str, Any]] | None = None) -> Response:
    ctx = deps.ctx_of(request)
    return page(request, "console/runs.html", status=status, runs=deps.runs(ctx),
                policies=deps.all_policies(ctx), incidents=deps.incidents(ctx),
                engines=ENGINES, errors=errors, values=values, comparison=comparison,
                data_dir=str(data_dir(ctx)))


@router.get("/console/runs", include_in_schema=False)
def runs(request: Request) -> Response:
    deps.staff(request)
    return _form_page(request, errors={}, values={})


def _inputs(request: Request, names: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    _ = gettext(request)
    data = form(request)
    values = {k: str(data.get(k) or "")[:500] for k in names}
    errors: dict[str, str] = {}
    ctx = deps.ctx_of(request)
    if values.get("incident") not in {i["id"] for i in deps.incidents(ctx)}:
        errors["incident"] = _("Choose the incident.")
    known = {p.id for p in deps.all_policies(ctx)}
    for name in names:
        if name.startswith("policy") and values.get(name) not in known:
            errors[name] = _("Choose a policy.")
    try:
        accounts_path(ctx, values.get("accounts", ""))
    except InputError:
        errors["accounts"] = _("Give a file or folder under the data directory.")
    return values, errors


@router.post("/console/runs", include_in_schema=False)
def start(request: Request) -> Response:
    me = deps.staff(request)
    me.require(Permission.ADMIN)
    _ = gettext(request)
    ctx = deps.ctx_of(request)
    values, errors = _inputs(request, ("incident", "policy", "accounts", "engine"))
    if values["engine"] not in ENGINES:
        errors["engine"] = _("Choose an engine.")
    if errors:
        return _form_page(request, errors=errors, values=values, status=422)
    record = deps.incident(ctx, values["incident"])
    policy = deps.policy(ctx, values["policy"])
    accounts = accounts_path(ctx, values["accounts"])
    run_id = uuid.uuid4().hex[:16]
    deps.add_run(ctx, run_id=run_id, started_by=me.username, params={
        "incident": record.incident.id, "policies": [f"{policy.id} v{policy.version}"],
        "accounts": str(accounts), "engine": values["engine"]})
    with _lock:
        _progress[run_id] = (0, 0)
    threading.Thread(target=_work, args=(ctx, run_id, record.incident.id, policy.id, accounts,
                                         values["engine"]), daemon=True,
                     name=f"run-{run_id}").start()
    return RedirectResponse(f"/console/runs/{run_id}", status_code=303)


@router.get("/console/runs/{run_id}", include_in_schema=False)
def show(run_id: str, request: Request) -> Response:
    deps.staff(request)
    found = deps.run(deps.ctx_of(request), run_id)
    with _lock:
        progress = _progress.get(run_id)
    template = "console/run_status.html" if request.headers.get("hx-request") else \
        "console/run.html"
    return page(request, template, run=found, progress=progress)


@router.get("/console/runs/{run_id}/{what}", include_in_schema=False)
def download(run_id: str, what: str, request: Request) -> Response:
    deps.staff(request)
    found = deps.run(deps.ctx_of(request), run_id)
    if found["status"] != "done" or not found["ledger_path"]:
        raise NotFound(f"run {run_id} has no output yet")
    ledger = Path(found["ledger_path"])
    files = {"ledger.parquet": (ledger, "application/vnd.apache.parquet"),
             "summary.json": (ledger.with_name(ledger.name + ".summary.json"),
                              "application/json")}
    if what not in files or not files[what][0].is_file():
        raise NotFound(f"run {run_id} has no {what}")
    path, media = files[what]
    return FileResponse(path, media_type=media, filename=f"{run_id}-{what}",
                        headers={"X-Content-Type-Options": "nosniff"})


@router.post("/console/compare", include_in_schema=False)
def compare(request: Request) -> Response:
    deps.staff(request)
    _ = gettext(request)
    ctx = deps.ctx_of(request)
    values, errors = _inputs(request, ("incident", "policy_a", "policy_b", "accounts"))
    if errors:
        return _form_page(request, errors=errors, values=values, status=422)
    from makegood.adapters.batch.duckdb_engine import DuckDBEngine
    from makegood.adapters.calendars import HolidayCalendars
    from makegood.adapters.tables import resolve

    record = deps.incident(ctx, values["incident"])
    source = resolve(accounts_path(ctx, values["accounts"]))
    engine = DuckDBEngine()
    results = []
    for name in ("policy_a", "policy_b"):
        policy = deps.policy(ctx, values[name])
        result = engine.compare(incident=record.incident, policy=policy, source=source,
                                calendars=HolidayCalendars())
        results.append({"policy": policy, "result": result})
    return _form_page(request, errors={}, values=values, comparison=results)
