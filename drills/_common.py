"""What every drill shares: where it works, how it runs makegood, how it reports.

A drill prints what it did and what it found, writes the same figures as JSON to
``out/drills/<name>.json`` (docs/reliability.md quotes them), and exits non-zero when a promise
was broken (a claim lost, a partial file visible, a 5xx answered).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAKEGOOD = str(BIN / "makegood")
OUT = ROOT / "out" / "drills"
PG_URL = os.environ.get("MAKEGOOD_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def workdir(name: str) -> Path:
    path = OUT / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run(args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], env={**os.environ, **(env or {})}, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                         f"{result.stderr[-2000:]}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


def report(name: str, figures: dict[str, Any], failures: Sequence[str]) -> None:
    """Print and store the drill's figures; exit 1 when a promise was broken."""
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {**figures, "failures": list(failures), "ok": not failures}
    (OUT / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str) + "\n",
                                      encoding="utf-8")
    print(f"\n== drill {name}: {'OK' if not failures else 'FAILED'}")
    for key, value in figures.items():
        if key not in ("failures", "ok"):
            print(f"  {key}: {value}")
    for failure in failures:
        print(f"  FAILURE: {failure}")
    if failures:
        raise SystemExit(1)
