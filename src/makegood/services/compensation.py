"""Compensation runs: the "run a compensation" use case, which the CLI and the web console call.

:func:`run` reads the incident and policy files, resolves the accounts input for the chosen
engine, names the run by the content of its inputs (the run id), runs the engine (which
applies every cap, the fund cap included) and writes the ledger and its summary JSON, each
atomically: a failed run leaves nothing under either name. An engine that can stream its
ledger to the file (:class:`~makegood.services.ports.LedgerWriter`, DuckDB) does so; for the
others the ledger table is written here. :func:`fund_factors` gives the fund cap's factors of
an earlier run (from its summary) or computes them, for explaining one account's awards.

The engine contract and the reference engine live beside the engines (``adapters/batch``);
their names are re-exported here for the callers that know them from this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from makegood.adapters.batch.reference import ReferenceEngine, reference_awards
from makegood.adapters.batch.runs import start_run_id
from makegood.adapters.ledger import Progress, RunResult, write_json, write_table
from makegood.domain.compensation import check_policies
from makegood.domain.errors import DataError
from makegood.domain.incident import Incident
from makegood.domain.incident_file import read_incident
from makegood.domain.policy import Policy, read_policy
from makegood.domain.rules import Calendars
from makegood.services.ports import Engine, Engines, LedgerWriter

__all__ = ["Engine", "Progress", "ReferenceEngine", "RunReport", "RunResult", "check_policies",
           "fund_factors", "reference_awards", "run", "summary_path_for", "write_outputs"]

FORMATS = ("parquet", "csv")


@dataclass(frozen=True, slots=True)
class RunReport:
    """What a run wrote: its id, the ledger, the summary JSON, and the summary's content."""

    run_id: str
    ledger: Path
    summary_path: Path
    summary: dict[str, Any]
    incident: Incident
    policies: tuple[Policy, ...]


def summary_path_for(out: Path) -> Path:
    """Where a ledger's summary goes by default: beside it, ``LEDGER.summary.json``."""
    return out.with_name(out.name + ".summary.json")


def run(
    *,
    engines: Engines,
    engine: str,
    incident: Path,
    policies: Sequence[Path],
    accounts: str,
    out: Path,
    calendars: Calendars,
    sales: str | None = None,
    fmt: str | None = None,
    summary: Path | None = None,
    progress: Progress | None = None,
    extra: Mapping[str, Any] | None = None,
) -> RunReport:
    """Compute every affected account's compensation with ``engine`` and write the ledger.

    ``accounts`` (and ``sales``) name the input as the engine reads it: a file, a directory of
    parts, a glob or a scenario directory, or object-storage URLs for an engine that reads them.
    The summary holds ``extra`` (e.g. a scenario's seed), the engine, incident, run id and
    policies, then the engine's counts and the ledger's totals.
    """
    if fmt not in (None, *FORMATS):
        raise DataError(f"unknown ledger format {fmt!r}; use parquet or csv", field="--format")
    if engine not in engines.names:
        raise DataError(f"unknown engine {engine!r}; use one of {', '.join(engines.names)}",
                        field="--engine")
    the_incident = read_incident(incident)
    the_policies = tuple(read_policy(p) for p in policies)
    source = engines.source(engine, accounts, sales)
    run_id = start_run_id(incident=incident, policies=policies, source=source,
                          urls=[accounts, sales or ""])
    chosen = engines.get(engine)
    summary_path = summary or summary_path_for(out)

    def head() -> dict[str, Any]:
        return {**(extra or {}), "engine": engine, "incident": the_incident.id,
                "run_id": run_id.value(),
                "policies": [f"{p.id} v{p.version}" for p in the_policies]}

    if isinstance(chosen, LedgerWriter):
        figures = chosen.run_to_file(incident=the_incident, policies=the_policies, source=source,
                                     calendars=calendars, out=out, fmt=fmt, progress=progress)
        data = {**head(), **figures}
        write_json(data, summary_path)
    else:
        result = chosen.run(incident=the_incident, policies=the_policies, source=source,
                            calendars=calendars, progress=progress)
        data = write_outputs(result, out, fmt=fmt, summary_path=summary_path, extra=head())
    return RunReport(run_id=data["run_id"], ledger=out, summary_path=summary_path, summary=data,
                     incident=the_incident, policies=the_policies)


def write_outputs(result: RunResult, out: Path, *, fmt: str | None, summary_path: Path | None,
                  extra: dict[str, Any]) -> dict[str, Any]:
    """Write the ledger and its summary JSON (both atomically); return the summary."""
    summary = {**extra, **result.summary()}
    write_table(result.ledger, out, fmt)
    write_json(summary, summary_path or summary_path_for(out))
    return summary


def fund_factors(*, engines: Engines, incident: Incident, policies: Sequence[Policy],
                 source: Any, calendars: Calendars, ledger: Path | None = None,
                 engine: str = "duckdb") -> dict[str, Decimal]:
    """The fund cap's factor of each policy with a fund cap.

    The factor needs every account: it is read from the summary of ``ledger`` when that run
    recorded it, else computed by running ``engine`` over the funded policies.
    """
    funded = [p for p in policies if p.caps.fund is not None]
    if not funded:
        return {}
    if ledger is not None and summary_path_for(ledger).is_file():
        try:
            known = json.loads(summary_path_for(ledger).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}
        factors = known.get("fund_factors", {}) if isinstance(known, dict) else {}
        if all(p.id in factors for p in funded):
            return {p.id: Decimal(factors[p.id]) for p in funded}
    result = engines.get(engine).run(incident=incident, policies=funded, source=source,
                                     calendars=calendars)
    return {pid: Decimal(f) for pid, f in result.fund_factors.items()}
