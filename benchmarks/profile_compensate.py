"""Where a DuckDB compensation run spends its time: wall seconds per stage, in-process.

A diagnostic beside ``bench_compensate.py`` (which compares whole runs against baselines): it
runs the engine on the scenarios that benchmark generated (``out/bench``) under the three
shipped 2022 policies and times its three stages by wrapping the engine's own methods:

* **input**: the input check with the account-scoped picks, and the pairs build beside it;
* **policies**: pricing, awards and caps, policy by policy;
* **ledger**: the sorted awards encoded, compressed and tallied into the file.

    .venv/bin/python benchmarks/profile_compensate.py                 # 10 M and 50 M rows
    .venv/bin/python benchmarks/profile_compensate.py --rows 10000000

It prints a Markdown table; docs/batch.md quotes it.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_compensate import KAKAO, scenario  # noqa: E402

from makegood.adapters.batch.duckdb import session as duckdb_engine  # noqa: E402
from makegood.adapters.calendars import HolidayCalendars  # noqa: E402
from makegood.adapters.tables import resolve  # noqa: E402
from makegood.domain.incident_file import read_incident  # noqa: E402
from makegood.domain.policy import read_policy  # noqa: E402


def timed(owner: Any, name: str, into: dict[str, float], stage: str) -> None:
    """Add the wall time of every call of ``owner.name`` to ``into[stage]``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[stage] = into.get(stage, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 50_000_000])
    args = parser.parse_args()
    stages: dict[str, float] = {}
    timed(duckdb_engine.Run, "_checked_while", stages, "input")
    timed(duckdb_engine.Run, "_policy", stages, "policies")
    timed(duckdb_engine.Run, "write", stages, "ledger")
    policies = [read_policy(p) for p in KAKAO]
    lines = ["| subscription rows | input s | policies s | ledger s | whole run s | load before |",
             "|---:|---:|---:|---:|---:|---:|"]
    for rows in args.rows:
        path, actual = scenario(rows)
        stages.clear()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        duckdb_engine.DuckDBEngine().run_to_file(
            incident=read_incident(path / "incident.toml"), policies=policies,
            source=resolve(str(path)), calendars=HolidayCalendars(),
            out=ROOT / "out" / "bench" / f"ledger-profile-{actual}.parquet")
        whole = time.perf_counter() - started
        lines.append(f"| {actual:,} | {stages['input']:.1f} | {stages['policies']:.1f} | "
                     f"{stages['ledger']:.1f} | {whole:.1f} | {load:.1f} |")
        print(lines[-1], flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print("\n".join(lines))
    print(f"peak RSS of this process: {peak:.2f} GiB")


if __name__ == "__main__":
    main()
