"""Short versions of the reliability drills, run by CI on every submission (`make drill` runs
the full ones): crash under load (drill 1), fuzzing (drill 3) and batch faults (drill 7). The
authorization matrix (drill 4) is `tests/backends/test_authorization_matrix.py`. Each drill is a
script under `drills/` that exits non-zero when a promise is broken and prints what broke."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.drill]


def drill(script: str, *args: str, name: str) -> dict[str, object]:
    result = subprocess.run([sys.executable, str(ROOT / "drills" / script), *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    figures: dict[str, object] = json.loads((ROOT / "out" / "drills" / f"{name}.json")
                                            .read_text(encoding="utf-8"))
    assert figures["ok"] is True
    return figures


@pytest.mark.xdist_group("drills")
def test_batch_runs_killed_ten_times_leave_no_partial_file_and_rerun_identically() -> None:
    full_disk = [] if os.geteuid() == 0 else ["--no-full-disk"]  # a tmpfs mount needs root
    figures = drill("batch_faults.py", "--accounts", "20000", "--kills", "10", *full_disk,
                    name="batch_faults")
    assert figures["kills"] == 10
    assert figures["rerun_byte_identical"] is True


@pytest.mark.xdist_group("drills")
def test_server_killed_ten_times_under_load_loses_no_acknowledged_claim() -> None:
    figures = drill("crash.py", "--backend", "sqlite", "--fault", "server", "--kills", "10",
                    "--uptime", "2", "--clients", "16", name="crash-sqlite-server")
    assert figures["faults_injected"] == 10
    assert figures["claims_lost"] == 0
    assert figures["claims_stored"] == figures["claims_acknowledged"]


@pytest.mark.xdist_group("drills")
def test_fuzzing_every_route_gets_no_5xx_and_no_schema_violation() -> None:
    figures = drill("fuzz.py", "--backends", "sqlite", "--roles", "anonymous,claimant,admin",
                    "--examples", "3", name="fuzz")
    assert int(figures["requests"]) > 200  # type: ignore[call-overload]
