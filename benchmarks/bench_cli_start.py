"""Benchmark: how long `makegood` commands take to start, against the same commands with the
batch engines' dependencies loaded first (as every command did before commands loaded lazily).

Each command runs in a fresh Python process (``python -c`` calling the CLI's Typer app), so the
figure is what a user waits for. The baseline runs the same command in the same way after
``import pyarrow, numpy, duckdb`` and importing the compensate command's module: the start-up
cost of an eager CLI, measured in the same run on the same machine. Reported: the median of
``--runs`` runs, with the range, of wall time and of CPU time (user + system of the process).

    .venv/bin/python benchmarks/bench_cli_start.py            # 9 runs each
    .venv/bin/python benchmarks/bench_cli_start.py --runs 15

Prints the figures and replaces the ``bench_cli_start`` section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "bench_cli_start"
POLICY = ROOT / "src" / "makegood" / "policies" / "content-3x.toml"
CSV = ROOT / "tests" / "fixtures" / "importers" / "kakao-2022.csv"
EAGER = "import pyarrow, numpy, duckdb, makegood.entrypoints.cli.compensate\n"
RUN = """
from makegood.entrypoints.cli.main import app
try:
    app({args!r}, standalone_mode=False)
except SystemExit:
    pass
"""


def measure(code: str, runs: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return walls, cpus


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f} to {max(values):.2f})"


def write_section(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    block = f"<!-- BEGIN {SECTION} -->\n{text.rstrip()}\n<!-- END {SECTION} -->"
    pattern = re.compile(rf"<!-- BEGIN {SECTION} -->.*?<!-- END {SECTION} -->", re.S)
    updated = pattern.sub(lambda _: block, current) if pattern.search(current) else \
        current.rstrip() + "\n\n" + block + "\n"
    tmp = doc.with_name(f".{doc.name}.{os.getpid()}.tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        incident = Path(tmp) / "incident.toml"
        subprocess.run([sys.executable, "-c", RUN.format(args=[
            "incident", "import", "--from", "csv", str(CSV), "--out", str(incident),
            "--as-of", "2022-10-20T23:00:00+09:00"])], stdout=subprocess.DEVNULL, check=True)
        commands = {
            "makegood policy check content-3x.toml": ["policy", "check", str(POLICY)],
            "makegood incident show incident.toml": ["incident", "show", str(incident)],
            "makegood --version": ["--version"],
        }
        load = os.getloadavg()[0]
        rows = []
        for label, argv in commands.items():
            lazy = measure(RUN.format(args=argv), args.runs)
            eager = measure(EAGER + RUN.format(args=argv), args.runs)
            rows.append((label, lazy, eager))
    lines = [
        "## Command start-up (`benchmarks/bench_cli_start.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_cli_start.py --runs {args.runs}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, 1-minute load average {load:.1f} before "
        "the run (other jobs shared the machine when it was high: compare the CPU columns).",
        "Each figure: the median of the runs, with the range, for a fresh `python -c` process "
        "calling the CLI. Baseline in the same run: the same command after importing pyarrow, "
        "numpy, DuckDB and the compensate command's module, which every command paid before "
        "commands were loaded on first use.",
        "",
        "| command | wall | CPU | wall, engines loaded first | CPU, engines loaded first |",
        "|---|---|---|---|---|",
    ]
    for label, (walls, cpus), (eager_walls, eager_cpus) in rows:
        lines.append(f"| `{label}` | {spread(walls)} | {spread(cpus)} | {spread(eager_walls)} | "
                     f"{spread(eager_cpus)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(text)


if __name__ == "__main__":
    main()
